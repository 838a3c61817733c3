"""What `POST /api/enroll` does: check the CSR and the host's keys first (a refusal changes
nothing), then use the code once and sign the terminal's client certificate in the same
transaction, and answer with everything the terminal needs to connect."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from posterm.host.config import HostConfig
from posterm.host.enrol import EnrolError, ca, codes
from posterm.host.public import keys as public_keys
from posterm.host.store import Store
from posterm.protocol.errorcodes import ErrorCode

MAX_CSR = 8192


def host_public_key(config: HostConfig) -> str:
    """The PEM of the Ed25519 key postermd checks signed commands with."""
    if config.private_key is None:
        raise EnrolError("the host has no [keys] private_key", status=503, code=ErrorCode.NO_KEY)
    try:
        key = serialization.load_pem_private_key(config.private_key.read_bytes(), None)
    except (OSError, ValueError) as exc:
        raise EnrolError(
            f"{config.private_key}: cannot be read: {exc}", status=503, code=ErrorCode.NO_KEY
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise EnrolError(f"{config.private_key}: not Ed25519", status=503, code=ErrorCode.NO_KEY)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def enrol(config: HostConfig, store: Store, body: Any) -> dict[str, Any]:
    """`body`: {"code": …, "csr": PEM}. The answer: terminal, client_cert, ca_cert,
    broker_url, host_public_key, site, tags. EnrolError on a refusal."""
    if not isinstance(body, dict):
        raise EnrolError("a JSON object {code, csr} is expected")
    code, csr = body.get("code"), body.get("csr")
    if not isinstance(code, str) or not 1 <= len(code) <= 64:
        raise EnrolError("code: the enrolment code (text) is missing")
    if not isinstance(csr, str) or not 1 <= len(csr) <= MAX_CSR:
        raise EnrolError(f"csr: a PEM certificate signing request of at most {MAX_CSR} bytes")
    broker = config.enrol.broker_url or config.mqtt_url
    if not broker.startswith("mqtts://"):  # a terminal's certificate needs TLS
        raise EnrolError(
            f"{config.path}: enrol.broker_url: the broker's mqtts:// URL as terminals reach"
            f" it (not {broker})",
            status=503,
            code=ErrorCode.NO_CA,
        )
    fleet = ca.load(config.enrol.ca_dir)
    public = host_public_key(config)
    refund_link = _refund_link(config)  # before the code is used: a refusal changes nothing
    probe = fleet.sign_client(csr.encode(), "probe", 1)  # a bad CSR: refused before the code
    key_sha256 = hashlib.sha256(
        probe.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).hexdigest()
    issued: dict[str, bytes] = {}

    def issue(terminal: str) -> str:
        cert = fleet.sign_client(csr.encode(), terminal, config.enrol.cert_days)
        issued["pem"] = cert.public_bytes(serialization.Encoding.PEM)
        return format(cert.serial_number, "x")

    row = codes.redeem(store, code, key_sha256, issue)
    return {
        "ok": True,
        "terminal": row["terminal"],
        "site": row["site"],
        "tags": row["tags"],
        "client_cert": issued["pem"].decode(),
        "ca_cert": fleet.cert_pem.decode(),
        "broker_url": broker,
        "host_public_key": public,
        **({} if refund_link is None else {"refund_link": refund_link(row["terminal"])}),
    }


def _refund_link(config: HostConfig) -> Callable[[str], dict[str, str]] | None:
    """With [public]: the terminal's refund link key (hex) and the page's base URL."""
    if config.public is None:
        return None
    try:
        links = public_keys.Links.of(config.public)
    except public_keys.PublicError as exc:
        raise EnrolError(str(exc), status=503, code=ErrorCode.NO_KEY) from None
    return lambda tid: {"key": links.terminal_key(tid).hex(), "url": links.base_url}
