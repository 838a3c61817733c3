"""Events terminal -> host: the types of docs/mqtt.md, the envelope, RFC 9562 UUIDv7 ids,
and the one timestamp format (RFC 3339 UTC with milliseconds)."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any

ENVELOPE_VERSION = 1
EVENT_TYPES: frozenset[str] = frozenset(
    {
        "sale.approved",
        "sale.declined",
        "sale.in_doubt",
        "sale.recovered",
        "void.completed",
        "void.in_doubt",
        "refund.requested",
        "refund.approved",
        "refund.rejected",
        "refund.completed",
        "refund.failed",
        "refund.in_doubt",
        "receipt.printed",
        "receipt.pending",
        "receipt.recovered",
        "receipt.reprinted",
        "batch.closed",
        "fault.raised",
        "fault.cleared",
    }
)
UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

_COUNTER_BITS = 12  # rand_a holds a counter (RFC 9562 6.2 method 1): ids sort by creation
_COUNTER_MAX = (1 << _COUNTER_BITS) - 1
_lock = threading.Lock()
_last_ms = -1
_counter = 0


class EventError(ValueError):
    """An event that cannot be built: unknown type, bad sequence number, data not JSON."""


def not_charged(data: dict[str, Any]) -> bool:
    """An outcome event (`sale.recovered`, `void.completed`) that says the PT did not keep
    the operation: recovery found that no money moved."""
    return data.get("outcome") == "not_charged" or data.get("state") == "not_charged"


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, a 12-bit counter in
    rand_a, variant 0b10, 62 random bits. Strictly increasing within this process, also
    when the wall clock steps back."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms = ms
            # start low in the counter's range so that many ids fit in one millisecond
            _counter = int.from_bytes(os.urandom(2), "big") & (_COUNTER_MAX >> 1)
        else:
            _counter += 1
            if _counter > _COUNTER_MAX:  # counter spent: borrow the next millisecond
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def uuid7_millis(event_id: str) -> int:
    """The Unix milliseconds inside a UUIDv7."""
    if not isinstance(event_id, str) or not UUID7.fullmatch(event_id):
        raise EventError(f"{event_id!r} is not a UUIDv7")
    return int(event_id.replace("-", "")[:12], 16)


def now_rfc3339() -> str:
    """Now as RFC 3339 UTC with milliseconds: 2026-11-22T12:00:00.000Z."""
    return rfc3339(datetime.now(UTC))


def rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise EventError("a timestamp without a time zone is not RFC 3339")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(
    terminal: str,
    seq: int,
    type_: str,
    data: dict[str, Any],
    *,
    event_id: str | None = None,
    occurred_at: str | None = None,
) -> dict[str, Any]:
    """The event envelope of docs/mqtt.md:
    `{"v", "event_id", "terminal", "seq", "type", "occurred_at", "data"}`."""
    if not isinstance(type_, str) or type_ not in EVENT_TYPES:
        raise EventError(f"unknown event type {type_!r} (see docs/mqtt.md)")
    if not isinstance(terminal, str) or not terminal:
        raise EventError("an event needs the terminal id")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise EventError(f"seq is a positive whole number, not {seq!r}")
    if not isinstance(data, dict):
        raise EventError(f"event data is a JSON object, not {type(data).__name__}")
    try:
        json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise EventError(f"{type_} data is not plain JSON: {exc}") from exc
    return {
        "v": ENVELOPE_VERSION,
        "event_id": event_id or uuid7(),
        "terminal": terminal,
        "seq": seq,
        "type": type_,
        "occurred_at": occurred_at or now_rfc3339(),
        "data": data,
    }
