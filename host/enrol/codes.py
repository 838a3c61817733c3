"""One-time enrolment codes: `new` makes one (random; only its SHA-256 is stored, with the
terminal id, site and tags it gives and its expiry), `redeem` uses it once: unknown, used,
revoked or expired codes are refused and change nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from posterm.host.enrol import EnrolError
from posterm.host.store import Store
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt.events import rfc3339
from posterm.protocol.mqtt.topics import TID

SITE = re.compile(r"[A-Za-z0-9_-]{1,24}")
TAG = re.compile(r"[a-z0-9_-]{1,32}")
MAX_TAGS = 16
DURATION = re.compile(r"([1-9][0-9]{0,5})([smhd])")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_EXPIRY_S, MAX_EXPIRY_S = 60, 30 * 86400


@dataclass(frozen=True)
class Enrolment:
    code: str  # shown once; the store keeps only its hash
    terminal: str
    site: str | None
    tags: tuple[str, ...]
    expires_at: str


def duration(text: str, what: str = "expires") -> int:
    """`90m`, `24h`, `7d` (1 minute to 30 days) as seconds; EnrolError otherwise."""
    match = DURATION.fullmatch(text.strip())
    if match is None:
        raise EnrolError(f"{what}: a duration like 30m, 24h or 7d, not {text!r}")
    seconds = int(match[1]) * UNITS[match[2]]
    if not MIN_EXPIRY_S <= seconds <= MAX_EXPIRY_S:
        raise EnrolError(f"{what}: {text} is not between 1 minute and 30 days")
    return seconds


def parse_tags(text: str | None) -> tuple[str, ...]:
    """`a,b` as ('a', 'b'): each 1-32 of a-z 0-9 _ -, at most 16, no repeats."""
    if not text:
        return ()
    tags = tuple(t.strip() for t in text.split(","))
    for tag in tags:
        if not TAG.fullmatch(tag):
            raise EnrolError(f"tags: {tag!r} is not 1-32 of a-z 0-9 _ -")
    if len(tags) > MAX_TAGS or len(set(tags)) != len(tags):
        raise EnrolError(f"tags: at most {MAX_TAGS}, each once")
    return tags


def normalise(code: str) -> str:
    """What a person typed (any case, dashes, spaces) as the code's canonical form."""
    return re.sub(r"[\s-]", "", code).upper()


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def _new_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 80 bits, 16 characters
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def new(
    store: Store,
    *,
    site: str | None = None,
    tags: tuple[str, ...] = (),
    expires_s: int = 86400,
    terminal: str | None = None,
    now: datetime | None = None,
) -> Enrolment:
    """A new code for `terminal` (default: `{site}-NNNN`, or `pos-NNNN`, the next number
    not taken by an enrolment or a known terminal)."""
    if site is not None and not SITE.fullmatch(site):
        raise EnrolError(f"site: {site!r} is not 1-24 of A-Z a-z 0-9 _ -")
    if terminal is not None and not TID.fullmatch(terminal):
        raise EnrolError(f"terminal: {terminal!r} is not 1-32 of A-Z a-z 0-9 _ -")
    now = now or datetime.now(UTC)
    code = _new_code()
    with store.transaction() as tx:
        if terminal is None:
            prefix = f"{site or 'pos'}-"
            taken = {
                r["terminal"]
                for r in tx.rows(
                    "SELECT terminal FROM enrolments WHERE terminal LIKE ?"
                    " UNION SELECT terminal FROM terminals WHERE terminal LIKE ?",
                    (prefix + "%", prefix + "%"),
                )
            }
            number = 1
            while f"{prefix}{number:04d}" in taken:
                number += 1
            terminal = f"{prefix}{number:04d}"
        elif tx.rows("SELECT 1 FROM enrolments WHERE terminal = ?", (terminal,)):
            raise EnrolError(f"terminal {terminal} already has an enrolment", status=409)
        expires_at = rfc3339(now + timedelta(seconds=expires_s))
        tx.execute(
            "INSERT INTO enrolments (code_sha256, terminal, site, tags, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (code_hash(code), terminal, site, json.dumps(list(tags)), rfc3339(now), expires_at),
        )
    return Enrolment(code, terminal, site, tags, expires_at)


def redeem(
    store: Store, code: str, key_sha256: str, issue: Any, now: datetime | None = None
) -> dict[str, Any]:
    """Use `code` once for the key whose SHA-256 is `key_sha256`: `issue(terminal)` makes
    the certificate (its serial is returned by it) inside the same transaction, so a
    failure leaves the code unused. The enrolment's row, with `cert_serial`."""
    now_text = rfc3339(now or datetime.now(UTC))
    lock = " FOR UPDATE" if store.db.dialect == "postgresql" else ""
    refused = EnrolError(
        "the enrolment code is unknown, already used, expired or revoked: ask for a new one"
        " (posterm-host enroll new)",
        status=403,
        code=ErrorCode.ENROL_CODE,
    )
    with store.transaction() as tx:
        rows = tx.rows(f"SELECT * FROM enrolments WHERE code_sha256 = ?{lock}", (code_hash(code),))
        if not rows:
            raise refused
        row = dict(rows[0])
        if row["used_at"] or row["revoked_at"] or row["expires_at"] <= now_text:
            raise refused
        serial = str(issue(row["terminal"]))
        changed = tx.execute(
            "UPDATE enrolments SET used_at = ?, key_sha256 = ?, cert_serial = ?"
            " WHERE code_sha256 = ? AND used_at IS NULL",
            (now_text, key_sha256, serial, row["code_sha256"]),
        )
        if changed != 1:
            raise refused
    row.update(used_at=now_text, key_sha256=key_sha256, cert_serial=serial)
    row["tags"] = json.loads(row["tags"])
    return row


def listing(store: Store) -> list[dict[str, Any]]:
    """Every enrolment, newest first, without the code's hash."""
    with store.transaction() as tx:
        rows = tx.rows(
            "SELECT terminal, site, tags, created_at, expires_at, used_at, cert_serial,"
            " revoked_at FROM enrolments ORDER BY created_at DESC, terminal"
        )
    return [{**dict(r), "tags": json.loads(r["tags"])} for r in rows]


def revoke(store: Store, terminal: str, now: datetime | None = None) -> list[str]:
    """Revoke `terminal`'s enrolment (its code, if unused, is refused from now on); the
    serials of every revoked certificate, for the CRL. EnrolError when it has none or is
    revoked already."""
    now_text = rfc3339(now or datetime.now(UTC))
    with store.transaction() as tx:
        changed = tx.execute(
            "UPDATE enrolments SET revoked_at = ? WHERE terminal = ? AND revoked_at IS NULL",
            (now_text, terminal),
        )
        if changed != 1:
            raise EnrolError(f"no enrolment of terminal {terminal} to revoke", status=404)
        rows = tx.rows(
            "SELECT cert_serial, old_serials FROM enrolments WHERE revoked_at IS NOT NULL"
            " AND cert_serial IS NOT NULL"
        )
    return [s for r in rows for s in [r["cert_serial"], *json.loads(r["old_serials"])]]


def relabel(
    store: Store, terminal: str, site: str | None, tags: tuple[str, ...] | None
) -> dict[str, Any]:
    """Change an enrolled terminal's site and/or tags (None: kept); its row."""
    if site is not None and not SITE.fullmatch(site):
        raise EnrolError(f"site: {site!r} is not 1-24 of A-Z a-z 0-9 _ -")
    if site is None and tags is None:
        raise EnrolError("nothing to change: give --site and/or --tags")
    with store.transaction() as tx:
        if site is not None:
            changed = tx.execute(
                "UPDATE enrolments SET site = ? WHERE terminal = ?", (site, terminal)
            )
        if tags is not None:
            changed = tx.execute(
                "UPDATE enrolments SET tags = ? WHERE terminal = ?",
                (json.dumps(list(tags)), terminal),
            )
        if changed != 1:
            raise EnrolError(f"no enrolment of terminal {terminal}", status=404)
    (row,) = [r for r in listing(store) if r["terminal"] == terminal]
    return row
