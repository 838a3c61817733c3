"""`posterm-host terminals revoke ID` takes effect at a running Mosquitto: the CRL copied
to where the broker reads it, the broker told to read it again (SIGHUP through
`[enrol] broker_reload`), the revoked terminal's connection closed; no broker restart."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from tests.mqtt.conftest import TERMINALS, mosquitto_binary
from tests.mqtt.peer import Peer
from tests.mqtt.test_enrol_tls import FleetHost, fleet_host
from tests.support.broker import accepts, wait_for

pytestmark = pytest.mark.slow  # Mosquitto, posterm-host, posterm enroll

__all__ = ["fleet_host"]  # the fixture, shared with test_enrol_tls


def test_revoke_disconnects_the_terminal_and_refuses_it_without_a_broker_restart(
    tmp_path: Path, fleet_host: FleetHost
) -> None:
    """GIVEN pos-a and pos-b enrolled and connected to a Mosquitto whose `crlfile` is
    [enrol] broker_crl, and [enrol] broker_reload = kill -HUP <the broker's pid> WHEN
    `posterm-host terminals revoke pos-a` runs THEN the broker's CRL file lists pos-a's
    serial, pos-a's connection is closed and its reconnection refused in the TLS
    handshake, while pos-b stays connected and may still subscribe; the broker is the same
    process throughout."""
    dirs = {}
    for tid in TERMINALS:
        dirs[tid] = tmp_path / tid
        fleet_host.enroll(tid, dirs[tid])
    broker = fleet_host.broker
    broker_crl = broker.log.parent / "crl.pem"  # where Mosquitto reads it
    shutil.copy(tmp_path / "ca" / "crl.pem", broker_crl)
    conf = broker.log.parent / "posterm.conf"
    conf.write_text(conf.read_text() + f"crlfile {broker_crl}\n")
    broker.proc.terminate()  # set-up: a broker started with a crlfile
    broker.proc.wait(10)
    broker.proc = subprocess.Popen(
        [mosquitto_binary(), "-c", str(conf)], cwd=conf.parent, stderr=subprocess.DEVNULL
    )
    wait_for(lambda: accepts(broker.proc, broker.port, broker.log), "mosquitto with a CRL")
    pid = broker.proc.pid
    text = fleet_host.config.read_text()
    fleet_host.config.write_text(
        text.replace(
            "[enrol]\n",
            f'[enrol]\nbroker_crl = "{broker_crl}"\nbroker_reload = ["kill", "-HUP", "{pid}"]\n',
        )
    )

    def peer(tid: str) -> Peer:
        mqtt = dirs[tid] / "mqtt"
        made = Peer(
            broker.port,
            client_id=tid,
            ca=mqtt / "ca.pem",
            cert=mqtt / f"{tid}.pem",
            key=mqtt / f"{tid}.key",
        )
        broker.peers.append(made)
        return made

    revoked_peer, other = peer(TERMINALS[0]).connect(), peer(TERMINALS[1]).connect()
    serial = next(
        r["cert_serial"]
        for r in json.loads(fleet_host.cli("enroll", "list", "--json").stdout)
        if r["terminal"] == TERMINALS[0]
    )

    revoked = fleet_host.cli("terminals", "revoke", TERMINALS[0])

    assert revoked.returncode == 0, revoked.stderr
    assert "its connection to the broker was closed" in revoked.stdout
    assert broker_crl.read_bytes() == (tmp_path / "ca" / "crl.pem").read_bytes()
    assert serial in _crl_serials(broker_crl)
    assert revoked_peer.wait_disconnected().startswith("disconnected")
    refused = peer(TERMINALS[0]).try_connect()
    assert refused != 0, refused  # the TLS handshake fails: no CONNACK
    # the client sees the refusal before Mosquitto has logged it: wait for the line
    wait_for(
        lambda: "certificate verify failed" in broker.log.read_text(),
        "the broker's log of the refused handshake",
    )
    assert other.subscribe(f"posterm/v1/{TERMINALS[1]}/cmd") == 1  # pos-b: untouched
    assert broker.proc.pid == pid and broker.proc.poll() is None  # no restart


def _crl_serials(path: Path) -> list[str]:
    crl = x509.load_pem_x509_crl(path.read_bytes())
    return [format(r.serial_number, "x") for r in crl]
