"""The outbox event types and envelope (../shared/docs/mqtt.md), and UUIDv7 ids."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

EVENT_TYPES = frozenset(
    {
        "sale.approved",
        "sale.declined",
        "sale.in_doubt",
        "sale.recovered",
        "void.completed",
        "refund.requested",
        "refund.approved",
        "refund.rejected",
        "refund.completed",
        "refund.failed",
        "receipt.printed",
        "receipt.pending",
        "receipt.recovered",
        "receipt.reprinted",
        "batch.closed",
        "fault.raised",
        "fault.cleared",
    }
)


def uuid7() -> str:
    """RFC 9562 UUIDv7: 48-bit Unix milliseconds, version 7, variant 10, random rest."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(terminal: str, seq: int, type_: str, data: dict[str, Any]) -> dict[str, Any]:
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    return {
        "v": 1,
        "event_id": uuid7(),
        "terminal": terminal,
        "seq": seq,
        "type": type_,
        "occurred_at": now_rfc3339(),
        "data": data,
    }
