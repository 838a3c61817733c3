"""What the link counts as the broker refusing this terminal's certificate (`LinkError.
refused`, which a renewed certificate's probation counts towards falling back): a TLS
handshake the broker breaks off, not a broker whose own certificate fails this terminal's
check (a renewal changes neither the broker's certificate nor the CA file). Against a TLS
server in this process."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from posterm.daemon.config import MqttSection
from posterm.daemon.sync.link import Link, LinkError

NOW = dt.datetime.now(dt.UTC)


def _self_signed(tmp: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key: (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(hours=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / f"{name}.pem", tmp / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class TlsServer:
    """Accepts TLS 1.2 connections (the refusal of a client certificate then breaks the
    handshake off, as it does on brokers without TLS 1.3) and then closes them."""

    def __init__(self, cert: Path, key: Path, client_ca: Path | None) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.maximum_version = ssl.TLSVersion.TLSv1_2
        self.context.load_cert_chain(cert, key)
        if client_ca is not None:
            self.context.verify_mode = ssl.CERT_REQUIRED
            self.context.load_verify_locations(client_ca)
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
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    return {name: _self_signed(tmp_path, name) for name in ("broker", "stranger", "terminal")}


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
    failed = _open(servers[0].port, certs["stranger"][0], certs["terminal"])
    assert "certificate verify failed" in str(failed) and not failed.refused


def test_a_broker_breaking_the_handshake_off_is_a_refusal(
    certs: dict[str, tuple[Path, Path]], servers: list[TlsServer]
) -> None:
    """GIVEN a broker the terminal trusts that takes client certificates of another CA
    only WHEN the link opens with the terminal's THEN it is a refusal."""
    servers.append(TlsServer(*certs["broker"], client_ca=certs["stranger"][0]))
    failed = _open(servers[0].port, certs["broker"][0], certs["terminal"])
    assert failed.refused, failed
