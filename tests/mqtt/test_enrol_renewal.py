"""postermd renews its client certificate by itself, against a real `posterm-host run
--http`, and reconnects to a real Mosquitto with the new one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from posterm.host.enrol import ca
from tests.mqtt.conftest import TERMINALS, mosquitto_binary
from tests.mqtt.test_enrol_tls import FleetHost, fleet_host
from tests.support.broker import accepts, wait_for
from tests.support.rig import make_rig

pytestmark = pytest.mark.slow  # Mosquitto, posterm-host, postermd, the simulators

__all__ = ["fleet_host"]  # the fixture, shared with test_enrol_tls


def serial_of(path: Path) -> str:
    return format(x509.load_pem_x509_certificate(path.read_bytes()).serial_number, "x")


def test_a_due_certificate_is_renewed_and_the_terminal_reconnects_with_it(
    tmp_path: Path, fleet_host: FleetHost
) -> None:
    """GIVEN a terminal enrolled with `posterm enroll` (365-day certificate) whose config
    says to renew 400 days before expiry (so it is due now) WHEN postermd runs THEN it
    asks the host for a new certificate: the host's enrolment names the new serial, the
    cert file on the Pi holds it (the old pair kept as *.old), postermd reconnects; and with
    the OLD certificate revoked at the broker it still connects and its sale arrives: it
    uses the new one."""
    tid = TERMINALS[0]
    pi = tmp_path / "pi"
    pi.mkdir()
    rig = make_rig(pi, link="tcp")
    try:
        fleet_host.enroll(tid, pi)
        text = rig.config.read_text()
        assert f'renew_url = "{fleet_host.url}"' in text
        rig.config.write_text(text.replace("[mqtt]\n", "[mqtt]\nrenew_before_days = 400\n"))
        cert_file = pi / "mqtt" / f"{tid}.pem"
        first = serial_of(cert_file)

        def host_serial() -> str:
            listed = json.loads(fleet_host.cli("enroll", "list", "--json").stdout)
            return str(next(r["cert_serial"] for r in listed if r["terminal"] == tid))

        assert host_serial() == first
        rig.start()
        wait_for(lambda: host_serial() != first, "the host to issue a renewed certificate")
        renewed = host_serial()
        wait_for(lambda: serial_of(cert_file) == renewed, "the new certificate on the Pi")
        assert serial_of(pi / "mqtt" / f"{tid}.pem.old") == first

        def reconnected() -> bool:
            log = rig.logs[-1].read_text()
            at = log.find(f"renew: new certificate {renewed}")
            return at >= 0 and "mqtt: connected to" in log[at:]

        wait_for(reconnected, "postermd to reconnect after the renewal")

        # the old certificate revoked at the broker: only the new one gets in
        fleet = ca.load(tmp_path / "ca")
        crl = ca.write_crl(fleet, tmp_path / "ca", [first])
        broker = fleet_host.broker
        conf = broker.log.parent / "posterm.conf"
        conf.write_text(conf.read_text() + f"crlfile {crl}\n")
        broker.proc.terminate()
        broker.proc.wait(10)
        broker.proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(conf)], cwd=conf.parent, stderr=subprocess.DEVNULL
        )
        wait_for(lambda: accepts(broker.proc, broker.port, broker.log), "mosquitto again")
        code, sale = rig.cli("sale", "7.30")
        assert code == 0, sale

        def arrived() -> list[str]:
            out = fleet_host.cli("events", "--terminal", tid, "--json")
            return [e["type"] for e in json.loads(out.stdout or "[]")]

        wait_for(lambda: "sale.approved" in arrived(), "the sale's events at the host")
    finally:
        rig.close()
