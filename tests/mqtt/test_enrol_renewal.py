"""postermd renews its client certificate by itself, against a real `posterm-host run
--http`, and reconnects to a real Mosquitto with the new one; or, when the broker refuses
the new one, with the one before it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509

from posterm.daemon.logsetup import mask
from posterm.host.enrol import ca
from tests.mqtt.conftest import TERMINALS, mosquitto_binary
from tests.mqtt.test_enrol_tls import FleetHost, fleet_host
from tests.support.broker import accepts, wait_for
from tests.support.rig import Rig, make_rig

pytestmark = pytest.mark.slow  # Mosquitto, posterm-host, postermd, the simulators

__all__ = ["fleet_host"]  # the fixture, shared with test_enrol_tls
TID = TERMINALS[0]


def serial_of(path: Path) -> str:
    return format(x509.load_pem_x509_certificate(path.read_bytes()).serial_number, "x")


@dataclass
class Due:
    """A terminal enrolled with `posterm enroll` (365-day certificate) whose config says
    to renew 400 days before expiry: due as soon as postermd starts."""

    rig: Rig
    mqtt: Path  # the Pi's certificate folder
    cert_file: Path
    first: str  # the enrolment certificate's serial


@pytest.fixture
def due(tmp_path: Path, fleet_host: FleetHost) -> Iterator[Due]:
    pi = tmp_path / "pi"
    pi.mkdir()
    rig = make_rig(pi, link="tcp")
    try:
        fleet_host.enroll(TID, pi)
        text = rig.config.read_text()
        assert f'renew_url = "{fleet_host.url}"' in text
        rig.config.write_text(text.replace("[mqtt]\n", "[mqtt]\nrenew_before_days = 400\n"))
        cert_file = pi / "mqtt" / f"{TID}.pem"
        yield Due(rig, pi / "mqtt", cert_file, serial_of(cert_file))
    finally:
        rig.close()


def connected_after(rig: Rig, line: str) -> bool:
    """postermd's log has `line`, and a connection to the broker after it."""
    log = rig.logs[-1].read_text()
    at = log.find(line)
    return at >= 0 and "mqtt: connected to" in log[at:]


def test_a_due_certificate_is_renewed_and_the_terminal_reconnects_with_it(
    tmp_path: Path, fleet_host: FleetHost, due: Due
) -> None:
    """GIVEN a terminal whose certificate is due WHEN postermd runs THEN it asks the host
    for a new certificate: the host's enrolment names the new serial, the cert file on the
    Pi holds it (the old pair kept as *.old), postermd reconnects; and with the OLD
    certificate revoked at the broker it still connects and its sale arrives: it uses the
    new one."""

    def host_serial() -> str:
        listed = json.loads(fleet_host.cli("enroll", "list", "--json").stdout)
        return str(next(r["cert_serial"] for r in listed if r["terminal"] == TID))

    assert host_serial() == due.first
    due.rig.start()
    wait_for(lambda: host_serial() != due.first, "the host to issue a renewed certificate")
    renewed = host_serial()
    wait_for(lambda: serial_of(due.cert_file) == renewed, "the new certificate on the Pi")
    assert serial_of(due.mqtt / f"{TID}.pem.old") == due.first
    said = mask(f"renew: new certificate {renewed}")  # as logged: a digit run is masked
    wait_for(lambda: connected_after(due.rig, said), "postermd to reconnect after the renewal")
    # the old certificate revoked at the broker: only the new one gets in
    stop_broker(fleet_host)
    start_broker_revoking(fleet_host, tmp_path / "ca", [due.first])
    sale_arrives(fleet_host, due.rig, TID)


def test_a_renewed_certificate_the_broker_refuses_gives_way_to_the_old_one(
    tmp_path: Path, fleet_host: FleetHost, due: Due
) -> None:
    """GIVEN a terminal whose certificate is due, and the broker down while postermd
    renews it WHEN the broker comes back refusing the renewed certificate (its serial in
    the CRL) THEN after a few refused handshakes postermd puts the certificate before the
    renewal back (the refused one kept as *.refused), says so in its log, and reconnects
    with it: its sale reaches the host. The terminal is not left offline."""
    stop_broker(fleet_host)
    due.rig.start()
    wait_for(lambda: serial_of(due.cert_file) != due.first, "the renewed certificate on the Pi")
    renewed = serial_of(due.cert_file)
    start_broker_revoking(fleet_host, tmp_path / "ca", [renewed])
    wait_for(
        lambda: connected_after(due.rig, "refused the renewed certificate"),
        "postermd back on the old certificate and connected",
        60,
    )
    assert serial_of(due.cert_file) == due.first
    assert serial_of(due.mqtt / f"{TID}.pem.refused") == renewed
    sale_arrives(fleet_host, due.rig, TID)


def stop_broker(host: FleetHost) -> None:
    assert host.broker.proc is not None
    host.broker.proc.terminate()
    host.broker.proc.wait(10)


def start_broker_revoking(host: FleetHost, ca_dir: Path, serials: list[str]) -> None:
    """The fleet's Mosquitto started again with a CRL of `serials` (hex)."""
    crl = ca.write_crl(ca.load(ca_dir), ca_dir, serials)
    broker = host.broker
    conf = broker.log.parent / "posterm.conf"
    conf.write_text(conf.read_text() + f"crlfile {crl}\n")
    broker.proc = subprocess.Popen(
        [mosquitto_binary(), "-c", str(conf)], cwd=conf.parent, stderr=subprocess.DEVNULL
    )
    wait_for(lambda: accepts(broker.proc, broker.port, broker.log), "mosquitto again")


def sale_arrives(host: FleetHost, rig: Rig, tid: str) -> None:
    """A sale on the terminal; its events reach the host (over the broker)."""
    code, sale = rig.cli("sale", "7.30")
    assert code == 0, sale

    def arrived() -> list[str]:
        out = host.cli("events", "--terminal", tid, "--json")
        return [e["type"] for e in json.loads(out.stdout or "[]")]

    wait_for(lambda: "sale.approved" in arrived(), "the sale's events at the host")
