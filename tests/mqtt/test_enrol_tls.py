"""Enrolment proven on the wire: a broker whose certificates come from the fleet CA of
`posterm-host ca init` / `ca broker-cert` (Mosquitto with deploy/mosquitto/posterm.conf
and make-dynsec.py's rules), a real `posterm-host run --http` over TLS, and a terminal
whose config and certificate were written by `posterm enroll`: postermd connects with
them, sells, and the sale's events reach the host's store."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from posterm.host.enrol import ca
from tests.mqtt.conftest import (
    HOST_CN,
    TERMINALS,
    Broker,
    Certs,
    mosquitto_binary,
    start_broker,
)
from tests.mqtt.peer import Peer
from tests.support.broker import accepts, free_port, wait_for
from tests.support.rig import make_rig
from tests.support.sim import BIN

pytestmark = pytest.mark.slow  # Mosquitto, posterm-host, postermd, the simulators


@dataclass
class FleetHost:
    config: Path
    url: str
    broker: Broker

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "posterm-host"), "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def enroll(self, tid: str, config_dir: Path, *options: str) -> None:
        """`posterm-host enroll new --terminal TID OPTIONS`, then the Pi's `posterm enroll
        URL CODE --config-dir DIR` with its code; both must succeed."""
        made = self.cli("enroll", "new", "--terminal", tid, *options, "--json")
        assert made.returncode == 0, made.stderr
        code = json.loads(made.stdout)["code"]
        argv = [str(BIN / "posterm"), "enroll", self.url, code, "--config-dir", str(config_dir)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr


def host_toml(tmp: Path, mqtt: str) -> str:
    return (
        f'[host]\nid = "hq"\n[mqtt]\n{mqtt}[store]\nurl = "sqlite://{tmp / "host.db"}"\n'
        f'[keys]\nprivate_key = "{tmp / "keys" / "host.key"}"\n'
        f'[web]\ncookie_secure = false\n[enrol]\nca_dir = "{tmp / "ca"}"\n'
    )


def pki_from_the_fleet_ca(tmp: Path, config: Path) -> Certs:
    """The files start_broker wants (ca.crt, server.*, posterm-host.*), all from the CA of
    `posterm-host ca init`; the broker's by `ca broker-cert`."""
    cli = [str(BIN / "posterm-host"), "--config", str(config)]
    pki = tmp / "pki"
    for args in (
        ["ca", "init"],
        ["ca", "broker-cert", "--host", "localhost", "--host", "127.0.0.1", "--out", str(pki)],
    ):
        done = subprocess.run(
            [*cli, *args], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
    shutil.copy(tmp / "ca" / "ca.pem", pki / "ca.crt")
    (pki / "broker.pem").rename(pki / "server.crt")
    (pki / "broker.key").rename(pki / "server.key")
    key = ec.generate_private_key(ec.SECP256R1())  # the host's own client certificate
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST_CN)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    cert = ca.load(tmp / "ca").sign_client(csr.public_bytes(serialization.Encoding.PEM), HOST_CN)
    ca.write_pair(
        pki,
        HOST_CN,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert.public_bytes(serialization.Encoding.PEM),
    )
    (pki / f"{HOST_CN}.pem").rename(pki / f"{HOST_CN}.crt")
    return Certs(pki)


@contextmanager
def running_fleet_host(
    tmp_path: Path, extra: str = "", before: tuple[tuple[str, ...], ...] = ()
) -> Iterator[FleetHost]:
    """`posterm-host run --http` over TLS to Mosquitto, both from the fleet CA; `extra`:
    more config sections; `before`: posterm-host commands run before it starts."""
    config = tmp_path / "host.toml"
    config.write_text(host_toml(tmp_path, 'url = "mqtts://127.0.0.1:1"\n'))
    certs = pki_from_the_fleet_ca(tmp_path, config)
    broker = start_broker(tmp_path, certs)
    url = f"mqtts://127.0.0.1:{broker.port}"
    config.write_text(
        host_toml(
            tmp_path,
            f'url = "{url}"\nca_file = "{certs.ca}"\ncert_file = "{certs.cert(HOST_CN)}"\n'
            f'key_file = "{certs.key(HOST_CN)}"\n',
        ).replace("[enrol]\n", f'[enrol]\nbroker_url = "mqtts://localhost:{broker.port}"\n')
        + extra
    )
    host = FleetHost(config, "", broker)
    for args in (("keygen",), *before):
        done = host.cli(*args)
        assert done.returncode == 0, done.stderr
    port = free_port()
    log = tmp_path / "host.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                str(BIN / "posterm-host"),
                "--config",
                str(config),
                "run",
                "--http",
                f"127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: accepts(proc, port, log), "the host's web server")
        host.url = f"http://127.0.0.1:{port}"
        yield host
    finally:
        proc.terminate()
        proc.wait(15)
        for peer in broker.peers:
            peer.close()
        broker.proc.terminate()
        broker.proc.wait(10)


@pytest.fixture
def fleet_host(tmp_path: Path) -> Iterator[FleetHost]:
    with running_fleet_host(tmp_path) as host:
        yield host


def test_an_enrolled_terminal_connects_over_tls_and_its_sale_arrives(
    tmp_path: Path, fleet_host: FleetHost
) -> None:
    """GIVEN a terminal's config dir holding a posterm.toml for its simulated PT and
    printer WHEN `enroll new --terminal pos-a` and `posterm enroll URL CODE --config-dir
    DIR` run, and postermd starts with that config THEN it connects to Mosquitto over TLS
    with the enrolled certificate (the host sees it online) and a sale's events are in the
    host's store."""
    tid = TERMINALS[0]  # a terminal make-dynsec.py's rules let in
    (tmp_path / "pi").mkdir()
    rig = make_rig(tmp_path / "pi", link="tcp")  # writes pi/posterm.toml: PT and printer
    try:
        fleet_host.enroll(tid, tmp_path / "pi", "--site", "hq1")
        assert f'id = "{tid}"' in rig.config.read_text()
        rig.start()
        code_, sale = rig.cli("sale", "12.50")
        assert code_ == 0, sale

        def arrived() -> list[str]:
            out = fleet_host.cli("events", "--terminal", tid, "--json")
            return [e["type"] for e in json.loads(out.stdout or "[]")]

        wait_for(lambda: "sale.approved" in arrived(), "the sale's events at the host")
        fleet = json.loads(fleet_host.cli("fleet", "--json").stdout)
        assert [r["terminal"] for r in fleet] == [tid]
    finally:
        rig.close()


def test_a_revoked_terminal_is_refused_by_mosquitto(tmp_path: Path, fleet_host: FleetHost) -> None:
    """GIVEN pos-a and pos-b enrolled with `posterm enroll`, both able to connect WHEN
    `posterm-host terminals revoke pos-a` runs and Mosquitto restarts with `crlfile` set to
    the CA's crl.pem THEN pos-a's TLS handshake is refused and pos-b still connects."""
    dirs = {}
    for tid in TERMINALS:
        made = fleet_host.cli("enroll", "new", "--terminal", tid, "--json")
        dirs[tid] = tmp_path / tid
        code = json.loads(made.stdout)["code"]
        done = subprocess.run(
            [str(BIN / "posterm"), "enroll", fleet_host.url, code, "--config-dir", str(dirs[tid])],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    broker = fleet_host.broker

    def peer(tid: str) -> Peer:
        """A client with the files `posterm enroll` wrote for `tid`."""
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

    for tid in TERMINALS:
        assert peer(tid).try_connect() == 0
    revoked = fleet_host.cli("terminals", "revoke", TERMINALS[0])
    assert revoked.returncode == 0, revoked.stderr
    conf = broker.log.parent / "posterm.conf"
    conf.write_text(conf.read_text() + f"crlfile {tmp_path / 'ca' / 'crl.pem'}\n")
    broker.proc.terminate()
    broker.proc.wait(10)
    broker.proc = subprocess.Popen(
        [mosquitto_binary(), "-c", str(conf)], cwd=conf.parent, stderr=subprocess.DEVNULL
    )
    wait_for(lambda: accepts(broker.proc, broker.port, broker.log), "mosquitto again")
    refused = peer(TERMINALS[0]).try_connect()
    assert refused != 0, refused  # the handshake fails: no CONNACK
    assert peer(TERMINALS[1]).try_connect() == 0
