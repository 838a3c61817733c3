"""The terminal's client certificate on disk: when it is due for renewal, and renewing it
against the back office's `POST /api/renew` without ever losing the working pair.

The new key and certificate are made and checked first (the certificate is for the new
key, from the fleet CA of `ca_file`, for this terminal, valid now), written next to the
old ones as `*.new`, the old pair kept as `*.old`, then put in place key first,
certificate second, each by an atomic rename. A power cut between the two renames leaves
the new key with `*.pem.new` beside it: `repair()` (run before every use) finishes the
job, or drops the leftovers of a renewal that never reached its first rename.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TIMEOUT_S = 30.0
DEFAULT_SHARE = 1 / 3  # renewed with a third of its lifetime left, unless configured


class RenewError(Exception):
    """The certificate was not renewed; `unreachable`: the back office could not be asked
    (try again later), otherwise it or the files refused (trying again will not help)."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.message, self.unreachable = message, unreachable


@dataclass(frozen=True)
class Pair:
    """The key and certificate files `[mqtt]` names (and the CA that must have signed)."""

    key: Path
    cert: Path
    ca: Path | None = None

    def side(self, path: Path, suffix: str) -> Path:
        return path.with_name(path.name + suffix)


def _public_der(key: Any) -> bytes:
    return bytes(
        key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise RenewError(f"{path}: cannot be read: {exc}") from None


def due_in(cert: x509.Certificate, before_days: float | None, now: dt.datetime) -> float:
    """Seconds until the certificate is due for renewal (<= 0: due now)."""
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    before = lifetime * DEFAULT_SHARE if before_days is None else dt.timedelta(days=before_days)
    return (cert.not_valid_after_utc - before - now).total_seconds()


def repair(pair: Pair) -> str | None:
    """Finish or undo a renewal a power cut interrupted; what was done, or None."""
    new_key, new_cert = pair.side(pair.key, ".new"), pair.side(pair.cert, ".new")
    if not new_cert.exists():
        with contextlib.suppress(FileNotFoundError):
            new_key.unlink()
            return "dropped an unfinished renewal's key"
        return None
    try:
        key = serialization.load_pem_private_key(pair.key.read_bytes(), None)
        cert = x509.load_pem_x509_certificate(new_cert.read_bytes())
        matches = _public_der(key.public_key()) == _public_der(cert.public_key())
    except (OSError, ValueError):
        matches = False
    if matches:  # the key was renamed already: the certificate follows
        os.replace(new_cert, pair.cert)
        return "finished a renewal a restart interrupted"
    new_cert.unlink()
    with contextlib.suppress(FileNotFoundError):
        new_key.unlink()
    return "dropped an unfinished renewal"


def renew(url: str, pair: Pair, terminal: str | None = None) -> x509.Certificate:
    """A new key pair made here, its CSR signed with the current key and sent with the
    current certificate to `url`/api/renew; the checked answer put in place. The new
    certificate; RenewError (nothing changed) otherwise."""
    repair(pair)
    signer = _signer(pair)
    try:
        old_key = serialization.load_pem_private_key(signer.key.read_bytes(), None)
        old_cert = signer.cert.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise RenewError(f"{signer.key}, {signer.cert}: cannot be read: {exc}") from None
    if not isinstance(old_key, ec.EllipticCurvePrivateKey):
        raise RenewError(f"{signer.key}: not an EC key (enrol again)")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "posterm renewal")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    csr_pem = csr.public_bytes(serialization.Encoding.PEM).decode()
    signature = old_key.sign(csr_pem.encode(), ec.ECDSA(hashes.SHA256()))
    body = {"cert": old_cert, "csr": csr_pem, "signature": base64.b64encode(signature).decode()}
    answer = post(url.rstrip("/") + "/api/renew", body)
    pem = answer.get("client_cert")
    if not isinstance(pem, str):
        raise RenewError("the back office's answer has no client_cert")
    cert = _checked(pem.encode(), key, pair, terminal or cn(load_cert(pair.cert)))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # on probation until the broker takes it, across restarts (the serial: a marker left
    # by a renewal that never reached its renames names a certificate not in place)
    write(probation_file(pair), f"{cert.serial_number:x}\n".encode())
    _install(pair, key_pem, pem.encode())
    if signer != pair:  # renewed: the refused pair is nobody's certificate any more
        _forget(signer)
    return cert


def _signer(pair: Pair) -> Pair:
    """The pair a renewal is asked with: the one in place, but after a fall-back the one
    the broker refused (*.refused) while it is usable and newer than the one in place:
    the back office renewed to it and takes only it (the one in place is a serial it has
    moved past). One older than the pair in place is a renewal's leftover (a process
    killed before it was removed): removed now."""
    refused = Pair(pair.side(pair.key, ".refused"), pair.side(pair.cert, ".refused"), pair.ca)
    if not (refused.key.exists() and refused.cert.exists()):
        return pair
    try:
        _, cert = _usable(refused, dt.datetime.now(dt.UTC))
    except RenewError:
        return pair  # expired or damaged: of no use to anyone
    try:
        in_place = load_cert(pair.cert)
    except RenewError:
        return refused
    if cert.not_valid_before_utc > in_place.not_valid_before_utc:
        return refused
    _forget(refused)
    return pair


def _forget(pair: Pair) -> None:
    for path in (pair.key, pair.cert):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _usable(pair: Pair, now: dt.datetime) -> tuple[bytes, x509.Certificate]:
    """A pair's key (PEM) and certificate, checked: readable, the certificate valid at
    `now`, the key its key; RenewError says what is wrong."""
    cert = load_cert(pair.cert)
    if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
        raise RenewError(f"{pair.cert}: not valid now")
    try:
        key_pem = pair.key.read_bytes()
        key = serialization.load_pem_private_key(key_pem, None)
    except (OSError, ValueError) as exc:
        raise RenewError(f"{pair.key}: cannot be read: {exc}") from None
    if _public_der(key.public_key()) != _public_der(cert.public_key()):
        raise RenewError(f"{pair.key}: not the key of {pair.cert}")
    return key_pem, cert


def cn(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _checked(
    pem: bytes, key: ec.EllipticCurvePrivateKey, pair: Pair, terminal: str
) -> x509.Certificate:
    """The answer's certificate, refused unless it is for `key` and `terminal`, valid now,
    and (with a CA file) signed by the fleet CA."""
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise RenewError("the back office's client_cert is not a PEM certificate") from None
    if _public_der(cert.public_key()) != _public_der(key.public_key()):
        raise RenewError("the back office's certificate is not for the new key")
    if cn(cert) != terminal:
        raise RenewError(f"the back office's certificate names {cn(cert)!r}, not {terminal}")
    now = dt.datetime.now(dt.UTC)
    if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
        raise RenewError("the back office's certificate is not valid now (check the clock)")
    if pair.ca is not None:
        try:
            cert.verify_directly_issued_by(load_cert(pair.ca))
        except (ValueError, TypeError, InvalidSignature):
            raise RenewError(f"the new certificate is not signed by {pair.ca}") from None
    return cert


def probation_file(pair: Pair) -> Path:
    """Beside the certificate: the serial of a renewed certificate the broker has not
    taken yet."""
    return pair.side(pair.cert, ".probation")


def on_probation(pair: Pair) -> bool:
    """Whether the certificate in place is a renewal the broker has not taken yet."""
    try:
        told = probation_file(pair).read_text(encoding="ascii").strip()
        return told == f"{load_cert(pair.cert).serial_number:x}"
    except (OSError, ValueError, RenewError):
        return False


def end_probation(pair: Pair) -> None:
    """The broker took the certificate in place, or it fell back: no probation."""
    with contextlib.suppress(FileNotFoundError):
        probation_file(pair).unlink()


def fall_back(pair: Pair, now: dt.datetime) -> x509.Certificate:
    """The pair the last renewal replaced (*.old) put back in place, the one in place kept
    as *.refused: for a broker that refuses the renewed certificate. The certificate now
    in place; RenewError (nothing changed) when there is no old pair, it is not valid now,
    or it is the one in place already."""
    old = Pair(pair.side(pair.key, ".old"), pair.side(pair.cert, ".old"), pair.ca)
    try:
        key_pem, cert = _usable(old, now)
    except RenewError as exc:
        raise RenewError(f"the pair before the renewal: {exc.message}") from None
    if _public_der(cert.public_key()) == _public_der(load_cert(pair.cert).public_key()):
        raise RenewError(f"{pair.cert}: the certificate before the renewal is in place already")
    write(pair.side(pair.key, ".refused"), pair.key.read_bytes())
    write(pair.side(pair.cert, ".refused"), pair.cert.read_bytes())
    _install(pair, key_pem, old.cert.read_bytes(), keep_old=False)
    end_probation(pair)
    return cert


def _install(pair: Pair, key_pem: bytes, cert_pem: bytes, *, keep_old: bool = True) -> None:
    """The pair put in place through *.new files, key first (`repair` finishes or undoes
    a cut between the renames); the pair it replaces kept as *.old with `keep_old`."""
    new_key, new_cert = pair.side(pair.key, ".new"), pair.side(pair.cert, ".new")
    write(new_key, key_pem)
    write(new_cert, cert_pem)
    if keep_old:
        write(pair.side(pair.key, ".old"), pair.key.read_bytes())
        write(pair.side(pair.cert, ".old"), pair.cert.read_bytes())
    os.replace(new_key, pair.key)
    os.replace(new_cert, pair.cert)
    _sync_dir(pair.cert.parent)


def write(path: Path, data: bytes, mode: int = 0o640) -> None:
    """`mode` from the start, the owner and group of the file it replaces (when allowed),
    fsynced, then renamed into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    with contextlib.suppress(OSError):  # the owner and group of the file it replaces
        was = path.stat()
        os.chown(tmp, was.st_uid, was.st_gid)
    os.replace(tmp, path)


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def post(url: str, body: dict[str, str]) -> dict[str, Any]:
    """POST `body` as JSON; the JSON answer with ok: true, RenewError otherwise."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            error = json.loads(exc.read()).get("error") or exc.reason
        except (ValueError, AttributeError):
            error = exc.reason
        # a 5xx is the back office's trouble, not ours: worth trying again
        raise RenewError(
            f"refused by {url} ({exc.code}): {error}", unreachable=exc.code >= 500
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise RenewError(f"{url}: {getattr(exc, 'reason', exc)}", unreachable=True) from None
    except ValueError:
        raise RenewError(f"{url}: the answer is not JSON", unreachable=True) from None
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        raise RenewError(f"{url}: an unexpected answer")
    return answer
