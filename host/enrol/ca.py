"""The fleet CA: an EC P-256 key and a self-signed certificate in the host's state
directory (the key 0600), which signs the broker's server certificate and each terminal's
client certificate (CN = terminal id). `cryptography` only, no shell-out."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from posterm.host.enrol import EnrolError
from posterm.protocol.errorcodes import ErrorCode

KEY_NAME, CERT_NAME, CRL_NAME = "ca.key", "ca.pem", "crl.pem"
CRL_DAYS = 365  # the broker refuses every client once the CRL is past its next update
CA_DAYS = 3650
CERT_DAYS = 365


class CaError(EnrolError):
    """The fleet CA is missing, already there, or cannot do what was asked."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Written under a temporary name with `mode` from the start, then renamed."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)  # the umask may have taken bits away
    os.replace(tmp, path)


write_file = _write  # for the broker's copy of the CRL (broker.py)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class FleetCA:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def _builder(
        self, cn: str, public_key: ec.EllipticCurvePublicKey, days: int
    ) -> x509.CertificateBuilder:
        now = _now()
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )

    def server_cert(self, names: list[str], days: int = CERT_DAYS) -> tuple[bytes, bytes]:
        """A new key and a server certificate for the broker (`names`: DNS names or IP
        addresses, the first is the CN); both PEM."""
        if not names:
            raise CaError("the broker's certificate needs at least one --host NAME")
        alt: list[x509.GeneralName] = []
        for name in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt.append(x509.DNSName(name))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            self._builder(names[0], key.public_key(), days)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return _key_pem(key), cert.public_bytes(serialization.Encoding.PEM)

    def sign_client(self, csr_pem: bytes, cn: str, days: int = CERT_DAYS) -> x509.Certificate:
        """A client certificate with CN `cn` for the key of `csr_pem` (its own subject is
        ignored: the host names the terminal). Refused: a CSR that does not parse, whose
        signature is wrong, or whose key is not EC P-256."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError:
            raise CaError("csr: not a PEM certificate signing request") from None
        if not csr.is_signature_valid:
            raise CaError("csr: its signature does not match its key")
        public = csr.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
            raise CaError("csr: the key must be EC P-256")
        return (
            self._builder(cn, public, days)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )


def init(directory: Path, name: str = "posterm fleet CA", days: int = CA_DAYS) -> FleetCA:
    """Make the CA in `directory` (created 0700); refused when one is already there."""
    if (directory / KEY_NAME).exists() or (directory / CERT_NAME).exists():
        raise CaError(f"{directory}: a fleet CA is already there (ca.key, ca.pem)", status=409)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise CaError(f"{directory}: {exc.strerror}") from None
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(directory / KEY_NAME, _key_pem(key), 0o600)
    _write(directory / CERT_NAME, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    fleet = FleetCA(key, cert)
    write_crl(fleet, directory, [])  # the broker's crlfile exists from the start
    return fleet


def write_crl(fleet: FleetCA, directory: Path, serials: list[str]) -> Path:
    """`crl.pem` (0644) in `directory`: the revoked certificates' serials (hex), signed by
    the CA, valid CRL_DAYS; Mosquitto's `crlfile` reads it at start."""
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(fleet.cert.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=CRL_DAYS))
    )
    for serial in sorted(set(serials)):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(int(serial, 16))
            .revocation_date(now - dt.timedelta(minutes=5))
            .build()
        )
    crl = builder.sign(fleet.key, hashes.SHA256())
    path = directory / CRL_NAME
    _write(path, crl.public_bytes(serialization.Encoding.PEM), 0o644)
    return path


def load(directory: Path) -> FleetCA:
    """The CA of `directory`; CaError when there is none (run `posterm-host ca init`)."""
    try:
        key = serialization.load_pem_private_key((directory / KEY_NAME).read_bytes(), None)
        cert = x509.load_pem_x509_certificate((directory / CERT_NAME).read_bytes())
    except FileNotFoundError:
        raise CaError(
            f"{directory}: no fleet CA (run `posterm-host ca init`)",
            status=503,
            code=ErrorCode.NO_CA,
        ) from None
    except (OSError, ValueError) as exc:
        raise CaError(
            f"{directory}: the fleet CA cannot be read: {exc}", status=503, code=ErrorCode.NO_CA
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CaError(f"{directory / KEY_NAME}: not an EC key", status=503, code=ErrorCode.NO_CA)
    return FleetCA(key, cert)


def write_pair(directory: Path, stem: str, key_pem: bytes, cert_pem: bytes) -> tuple[Path, Path]:
    """`stem`.key (0600) and `stem`.pem (0644) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = directory / f"{stem}.key", directory / f"{stem}.pem"
    _write(key_path, key_pem, 0o600)
    _write(cert_path, cert_pem, 0o644)
    return key_path, cert_path
