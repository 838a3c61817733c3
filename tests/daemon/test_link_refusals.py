"""What the link counts as the broker refusing this terminal's certificate (`LinkError.
refused`, which a renewed certificate's probation counts towards falling back): a TLS
handshake the broker breaks off, not a broker whose own certificate fails this terminal's
check (a renewal changes neither the broker's certificate nor the CA file). Against a TLS
server in this process."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from posterm.daemon.config import MqttSection
from posterm.daemon.sync.link import Link, LinkError
from posterm.host.enrol import ca


class Server:
    """A TCP server on 127.0.0.1 in this process, each connection to `handle` in turn."""

    def __init__(self, handle: Callable[[socket.socket], None]) -> None:
        self.handle = handle
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):  # ssl.SSLError too: the client's part
                self.handle(conn)

    def close(self) -> None:
        self.sock.close()


class TlsServer(Server):
    """Accepts TLS 1.2 connections (the refusal of a client certificate then breaks the
    handshake off, as it does on brokers without TLS 1.3) and then closes them."""

    def __init__(self, cert: Path, key: Path, client_ca: Path | None) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.maximum_version = ssl.TLSVersion.TLSv1_2
        self.context.load_cert_chain(cert, key)
        if client_ca is not None:
            self.context.verify_mode = ssl.CERT_REQUIRED
            self.context.load_verify_locations(client_ca)
        super().__init__(self._handshake)

    def _handshake(self, conn: socket.socket) -> None:
        with self.context.wrap_socket(conn, server_side=True):
            pass


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    """Two CAs (the fleet's, a stranger's: `*_ca`, their certificate twice), the broker's
    pair for 127.0.0.1 and the terminal's, both from the fleet CA: (cert, key) each."""
    out: dict[str, tuple[Path, Path]] = {}
    for name in ("fleet", "stranger"):
        ca.init(tmp_path / name)
        out[f"{name}_ca"] = (tmp_path / name / ca.CERT_NAME,) * 2
    fleet = ca.load(tmp_path / "fleet")
    for name, host in (("broker", "127.0.0.1"), ("terminal", "pos-a")):
        key, cert = ca.write_pair(tmp_path, name, *fleet.server_cert([host]))
        out[name] = (cert, key)
    return out


@pytest.fixture
def servers() -> Iterator[list[TlsServer]]:
    made: list[TlsServer] = []
    yield made
    for server in made:
        server.close()


def _open(port: int, ca: Path, pair: tuple[Path, Path]) -> LinkError:
    config = MqttSection(
        url=f"mqtts://127.0.0.1:{port}", ca_file=ca, cert_file=pair[0], key_file=pair[1]
    )
    with pytest.raises(LinkError) as failed:
        Link(config, "pos-a").open("posterm/v1/pos-a/status", {"online": False})
    return failed.value


def test_a_broker_whose_own_certificate_fails_the_check_is_not_a_refusal(
    certs: dict[str, tuple[Path, Path]], servers: list[TlsServer]
) -> None:
    """GIVEN a broker presenting a certificate the terminal's CA file did not sign WHEN the
    link opens THEN it fails, but not as a refusal of the terminal's certificate."""
    servers.append(TlsServer(*certs["broker"], client_ca=None))
    failed = _open(servers[0].port, certs["stranger_ca"][0], certs["terminal"])
    assert "certificate verify failed" in str(failed) and not failed.refused


def test_a_broker_breaking_the_handshake_off_is_a_refusal(
    certs: dict[str, tuple[Path, Path]], servers: list[TlsServer]
) -> None:
    """GIVEN a broker the terminal trusts that takes client certificates of another CA
    only WHEN the link opens with the terminal's THEN it is a refusal."""
    servers.append(TlsServer(*certs["broker"], client_ca=certs["stranger_ca"][0]))
    failed = _open(servers[0].port, certs["fleet_ca"][0], certs["terminal"])
    assert failed.refused, failed


class ConnackServer(Server):
    """Answers every CONNECT with a CONNACK of return code `rc` (MQTT 3.1.1)."""

    def __init__(self, rc: int) -> None:
        self.rc = rc
        super().__init__(self._connack)

    def _connack(self, conn: socket.socket) -> None:
        if conn.recv(1) == b"\x10":  # CONNECT (its rest is not read)
            conn.sendall(bytes([0x20, 0x02, 0x00, self.rc]))
            conn.recv(1)  # until the client closes


@pytest.mark.parametrize(
    ("rc", "refused"), [(1, False), (2, False), (3, False), (4, True), (5, True)]
)
def test_only_a_connack_refusing_the_credentials_is_a_refusal(rc: int, refused: bool) -> None:
    """GIVEN a broker answering CONNECT with CONNACK return code `rc` WHEN the link opens
    THEN its connected event is a failure, a refusal of this terminal's credentials only
    for rc 4 (bad user name or password) and 5 (not authorized): a broker that is
    unavailable (3) says nothing about a renewed certificate."""
    server = ConnackServer(rc)
    link = Link(MqttSection(url=f"mqtt://127.0.0.1:{server.port}"), "pos-a")
    try:
        link.open("posterm/v1/pos-a/status", {"online": False})
        deadline = time.monotonic() + 30
        connected = []
        while not connected and time.monotonic() < deadline:
            connected = [e for e in link.step(0.2) if e.kind == "connected"]
        assert connected, "no CONNACK reached the link"
        assert not connected[0].ok
        assert connected[0].refused is refused, connected[0]
    finally:
        link.close()
        server.close()
