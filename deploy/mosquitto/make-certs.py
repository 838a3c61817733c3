#!/usr/bin/env python3
"""Make a TEST certificate authority and the certificates posterm's Mosquitto setup needs.

    make-certs.py OUT_DIR --server-name localhost --server-name 127.0.0.1 \\
        --host posterm-host --terminal pos-0001 --terminal pos-0002

writes PEM files into OUT_DIR (created, mode 0700):

- ``ca.crt`` / ``ca.key``: the test CA (Mosquitto's ``cafile``; every client's CA too);
- ``server.crt`` / ``server.key``: the broker (``certfile``/``keyfile``), with the
  ``--server-name`` values as subjectAltName (DNS names or IP addresses);
- ``ID.crt`` / ``ID.key`` for the host identity (``--host``, CN posterm-host by default,
  as in make-dynsec.py) and for each ``--terminal ID``: client certificates whose CN is the
  MQTT username Mosquitto sees (``use_identity_as_username``).

Idempotent-ish: an existing ``ca.crt``/``ca.key`` is reused, so a terminal can be added to
a test set later; a certificate or key that already exists is never overwritten unless
``--force`` is given (then the leaf certificates are made again; the CA never is — delete
``ca.*`` to start over). Nothing is written when a file would be overwritten.

This is for tests, the demo and a first trial only. A production CA — where its key
lives, who may sign, how long certificates last, how a stolen terminal's certificate is
revoked (Mosquitto's ``crlfile``) — is the operator's business, not this script's.

Why Python with ``cryptography`` and not a shell script around ``openssl``: the same
code runs on every machine the tests run on (the ``openssl`` command line differs between
1.1 and 3.x in how it takes extensions such as subjectAltName, and a bare Debian image
has no ``openssl`` binary), the terminal ids are checked with the same rule as postermd's
config, and the keys are written with mode 0600 from the start. Keys are EC P-256: small,
fast to make (the tests make a fresh set every run) and supported by Mosquitto, OpenSSL
and paho-mqtt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("make-certs.py needs the 'cryptography' package: pip install 'cryptography>=42'")

# A terminal id as postermd's config takes it ([terminal] id): also safe inside a topic
# level, since it has no '+', '#' or '/'.
ID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
# CNs that would collide with the topic tree or with the host identity
RESERVED_TERMINAL_IDS = frozenset({"host"})
DEFAULT_HOST_CN = "posterm-host"
ORGANIZATION = "posterm test CA"


class CertError(Exception):
    """A request this script refuses (bad id, a file it would overwrite)."""


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)  # O_CREAT's mode does not apply to a file that existed


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class Ca:
    """The test CA: its certificate and key, and signing of leaf certificates."""

    def __init__(self, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self.cert = cert
        self.key = key

    @classmethod
    def create(cls, days: int) -> Ca:
        key = _new_key()
        now = dt.datetime.now(dt.UTC)
        name = _name("posterm test CA")
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> Ca:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CertError(f"{key_path}: not an EC private key")
        return cls(cert, key)

    def issue(
        self, cn: str, *, days: int, server_names: Sequence[str] = ()
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """A leaf certificate: a server one if server_names are given, else a client one."""
        key = _new_key()
        now = dt.datetime.now(dt.UTC)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server_names else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=True,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if server_names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([_general_name(n) for n in server_names]),
                critical=False,
            )
        return builder.sign(self.key, hashes.SHA256()), key


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def check_ids(host: str | None, terminals: Sequence[str]) -> None:
    """Refuse CNs that are not topic-safe (make-dynsec.py names topics by them) or collide."""
    for cn in [*terminals, *([host] if host else [])]:
        if not ID_RE.fullmatch(cn):
            raise CertError(f"{cn!r}: an id is 1-32 of A-Z a-z 0-9 - _")
    for tid in terminals:
        if tid in {*RESERVED_TERMINAL_IDS, host, DEFAULT_HOST_CN}:
            raise CertError(f"{tid!r} cannot be a terminal id: it is the host's name")
    if len(set(terminals)) != len(terminals):
        raise CertError("a terminal id is given twice")


def make(
    out: Path,
    *,
    server_names: Sequence[str],
    host: str | None,
    terminals: Sequence[str],
    days: int,
    force: bool,
) -> list[Path]:
    """Write the requested certificates into out; return the files written."""
    check_ids(host, terminals)
    leaves: list[tuple[str, Sequence[str]]] = []
    if server_names:
        leaves.append(("server", server_names))
    leaves += [(cn, ()) for cn in [*([host] if host else []), *terminals]]
    if not leaves:
        raise CertError("nothing to make: give --server-name, --host or --terminal")
    ca_crt, ca_key = out / "ca.crt", out / "ca.key"
    if ca_crt.exists() != ca_key.exists():
        raise CertError(f"{out}: ca.crt and ca.key must both exist or both be absent")
    existing = [
        p for name, _ in leaves for p in (out / f"{name}.crt", out / f"{name}.key") if p.exists()
    ]
    if existing and not force:
        raise CertError(
            "would overwrite " + ", ".join(map(str, existing)) + " (use --force to make them again)"
        )

    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    written: list[Path] = []
    if ca_crt.exists():
        ca = Ca.load(ca_crt, ca_key)
    else:
        ca = Ca.create(days)
        _write(ca_key, _key_pem(ca.key), 0o600)
        _write(ca_crt, _cert_pem(ca.cert), 0o644)
        written += [ca_crt, ca_key]
    for name, names in leaves:
        cert, key = ca.issue(name if not names else names[0], days=days, server_names=names)
        _write(out / f"{name}.key", _key_pem(key), 0o600)
        _write(out / f"{name}.crt", _cert_pem(cert), 0o644)
        written += [out / f"{name}.crt", out / f"{name}.key"]
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Make a TEST CA and certificates for posterm's Mosquitto (see docstring)."
    )
    parser.add_argument("out", type=Path, help="directory for the PEM files")
    parser.add_argument(
        "--server-name",
        action="append",
        default=[],
        metavar="NAME",
        help="make server.crt with this DNS name or IP address (repeatable)",
    )
    parser.add_argument(
        "--host",
        nargs="?",
        const=DEFAULT_HOST_CN,
        metavar="CN",
        help=f"make the host identity's certificate (CN {DEFAULT_HOST_CN})",
    )
    parser.add_argument(
        "--terminal",
        action="append",
        default=[],
        metavar="ID",
        help="make a terminal's certificate, CN = terminal id (repeatable)",
    )
    parser.add_argument("--days", type=int, default=365, help="validity (default 365)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="make existing leaf certificates again (the CA is kept)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.days <= 3650:
        parser.error("--days must be 1-3650")
    try:
        written = make(
            args.out,
            server_names=args.server_name,
            host=args.host,
            terminals=args.terminal,
            days=args.days,
            force=args.force,
        )
    except CertError as e:
        print(f"make-certs.py: {e}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
