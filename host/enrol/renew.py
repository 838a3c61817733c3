"""`POST /api/renew`: a terminal replaces its client certificate before it expires. It
proves it holds the current one: the new CSR's bytes signed (ECDSA-SHA256) with the current
key, sent with the current certificate. Refused: a certificate not from the fleet CA,
expired, revoked or not the terminal's current one, or a bad signature; nothing changes."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from posterm.host.config import HostConfig
from posterm.host.enrol import EnrolError, ca
from posterm.host.store import Store
from posterm.protocol.errorcodes import ErrorCode

MAX_PEM = 8192


def renew(config: HostConfig, store: Store, body: Any) -> dict[str, Any]:
    """`body`: {"cert": PEM, "csr": PEM, "signature": base64}. The answer: terminal,
    client_cert, ca_cert. EnrolError on a refusal."""
    if not isinstance(body, dict) or not all(
        isinstance(body.get(k), str) and 0 < len(body[k]) <= MAX_PEM
        for k in ("cert", "csr", "signature")
    ):
        raise EnrolError("a JSON object {cert, csr, signature} is expected")
    fleet = ca.load(config.enrol.ca_dir)
    refused = EnrolError(
        "the certificate cannot be renewed (not the fleet's, expired, revoked, replaced, or"
        " a bad signature): enrol again",
        status=403,
        code=ErrorCode.ENROL_CODE,
    )
    try:
        old = x509.load_pem_x509_certificate(body["cert"].encode())
        old.verify_directly_issued_by(fleet.cert)
        signature = base64.b64decode(body["signature"], validate=True)
    except (ValueError, TypeError, InvalidSignature, binascii.Error):
        raise refused from None
    key = old.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise refused
    try:
        key.verify(signature, body["csr"].encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise refused from None
    if old.not_valid_after_utc <= dt.datetime.now(dt.UTC):
        raise refused
    (cn,) = old.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    terminal, serial = str(cn.value), format(old.serial_number, "x")
    cert = fleet.sign_client(body["csr"].encode(), terminal, config.enrol.cert_days)
    lock = " FOR UPDATE" if store.db.dialect == "postgresql" else ""
    with store.transaction() as tx:
        rows = tx.rows(
            "SELECT old_serials FROM enrolments WHERE terminal = ? AND cert_serial = ?"
            f" AND revoked_at IS NULL{lock}",
            (terminal, serial),
        )
        if not rows:
            raise refused
        tx.execute(
            "UPDATE enrolments SET cert_serial = ?, old_serials = ? WHERE terminal = ?",
            (
                format(cert.serial_number, "x"),
                json.dumps([*json.loads(rows[0]["old_serials"]), serial]),
                terminal,
            ),
        )
    return {
        "ok": True,
        "terminal": terminal,
        "client_cert": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "ca_cert": fleet.cert_pem.decode(),
    }
