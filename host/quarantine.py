"""Quarantine: a message that does not fit its wire schema (protocol/mqtt/wire.py), or
that made its handling fail, is kept here instead of stored: the terminal, the topic, the
reason, its size and a bounded prefix (escaped text, never parsed again). The same bytes
again only count in their row. Each terminal's bad messages raise one `bad_message`
alert a day (host/alerts/engine.py)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from posterm.host.db import Database, Tx

PREFIX = 512  # bytes of a quarantined message kept (escaped)
# the event id of an event that does not fit (read without parsing it): acked, so the
# terminal stops sending it; a payload without a readable one cannot be acked
_EVENT_ID = re.compile(
    rb'"event_id"\s*:\s*"([0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})"'
)


@dataclass(frozen=True)
class Bad:
    """One message refused: `terminal` is None when its topic names none."""

    terminal: str | None
    topic: str
    reason: str  # safe text: made by `refused`
    payload: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(
            self.topic.encode(errors="replace") + b"\0" + self.payload
        ).hexdigest()

    def event_id(self) -> str | None:
        """The event id to ack, if it can be read from the bytes."""
        found = _EVENT_ID.search(self.payload[:4096])
        return found.group(1).decode() if found else None


def refused(terminal: str | None, topic: str, reason: str, payload: bytes) -> Bad:
    """A Bad whose reason is safe to log and show (a schema error may quote a field name
    the sender made up)."""
    return Bad(terminal, topic, shown(reason.encode("utf-8", "surrogateescape"))[:500], payload)


def shown(raw: bytes) -> str:
    """Bytes as safe text: ASCII printable as is, everything else escaped."""
    return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02x}" for b in raw)


def record(tx: Tx, bad: Bad, now: str) -> bool:
    """Keep a refused message; True when these bytes are new here."""
    topic = shown(bad.topic.encode("utf-8", "surrogateescape")[:300])
    new = tx.execute(
        "INSERT INTO quarantine (digest, terminal, topic, reason, size, prefix, first_at, last_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING",
        (
            bad.digest,
            bad.terminal,
            topic,
            bad.reason[:500],
            len(bad.payload),
            shown(bad.payload[:PREFIX]),
            now,
            now,
        ),
    )
    if not new:
        tx.execute(
            "UPDATE quarantine SET seen = seen + 1, last_at = ? WHERE digest = ?", (now, bad.digest)
        )
    return bool(new)


def listing(db: Database, terminal: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """The quarantine, newest first (`posterm-host quarantine`)."""
    where, args = ("WHERE terminal = ?", [terminal]) if terminal else ("", [])
    rows = db.rows(
        f"SELECT terminal, topic, reason, size, seen, first_at, last_at, prefix"
        f" FROM quarantine {where} ORDER BY last_at DESC LIMIT {int(limit)}",
        args,
    )
    return [dict(r) for r in rows]
