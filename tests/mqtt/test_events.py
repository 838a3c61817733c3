"""Outbox events: the type list of docs/mqtt.md, the envelope, RFC 9562 UUIDv7 ids."""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args

import pytest

from posterm.protocol.mqtt import events, wire
from posterm.protocol.mqtt.events import (
    EVENT_TYPES,
    EventError,
    envelope,
    rfc3339,
    uuid7,
    uuid7_millis,
)

MQTT_MD_TYPES = {
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


def test_the_event_types_are_those_of_mqtt_md() -> None:
    assert EVENT_TYPES == MQTT_MD_TYPES


def test_a_uuid7_has_the_rfc_9562_layout() -> None:
    before = time.time_ns() // 1_000_000
    text = uuid7()
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(text)
    assert str(parsed) == text and parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert before <= uuid7_millis(text) <= after
    assert events.UUID7.fullmatch(text)


def test_uuid7s_are_unique_and_strictly_increasing() -> None:
    """GIVEN many ids made in a burst (thousands per millisecond) THEN each is greater
    than the one before: ids sort like the events were made."""
    ids = [uuid7() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert all(a < b for a, b in itertools.pairwise(ids))


def test_uuid7s_keep_increasing_when_the_clock_steps_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = uuid7()
    past = time.time_ns() - 3_600 * 10**9
    monkeypatch.setattr(events.time, "time_ns", lambda: past)
    later = [uuid7() for _ in range(5000)]  # more than the 12-bit counter holds per ms
    assert all(a < b for a, b in itertools.pairwise([first, *later]))


@pytest.mark.parametrize("bad", ["", "not-a-uuid", "0190b3c4-0000-4000-8000-000000000000", 5])
def test_uuid7_millis_refuses_what_is_not_a_uuid7(bad: Any) -> None:
    with pytest.raises(EventError, match="not a UUIDv7"):
        uuid7_millis(bad)


def test_an_envelope_has_the_fields_of_mqtt_md() -> None:
    env = envelope("pos-1", 3, "receipt.printed", {"receipt_id": 1})
    assert env == {
        "v": 1,
        "event_id": env["event_id"],
        "terminal": "pos-1",
        "seq": 3,
        "type": "receipt.printed",
        "occurred_at": env["occurred_at"],
        "data": {"receipt_id": 1},
    }
    assert events.UUID7.fullmatch(env["event_id"])
    occurred = datetime.fromisoformat(env["occurred_at"].replace("Z", "+00:00"))
    assert env["occurred_at"].endswith("Z") and occurred.utcoffset() == timedelta(0)
    fixed = envelope("pos-1", 4, "batch.closed", {}, event_id="e", occurred_at="t")
    assert (fixed["event_id"], fixed["occurred_at"]) == ("e", "t")


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (("pos-1", 1, "sale.bought", {}), "unknown event type"),
        (("", 1, "sale.approved", {}), "terminal id"),
        (("pos-1", 0, "sale.approved", {}), "positive whole number"),
        (("pos-1", "1", "sale.approved", {}), "positive whole number"),
        (("pos-1", True, "sale.approved", {}), "positive whole number"),
        (("pos-1", 1, "sale.approved", None), "JSON object"),
        (("pos-1", 1, "sale.approved", {"x": b"bytes"}), "not plain JSON"),
        (("pos-1", 1, "sale.approved", {"x": float("inf")}), "not plain JSON"),
    ],
)
def test_given_a_bad_envelope_then_event_error(args: tuple[Any, ...], why: str) -> None:
    with pytest.raises(EventError, match=why):
        envelope(*args)


def test_rfc3339_is_utc_with_z_and_refuses_naive_times() -> None:
    berlin = timezone(timedelta(hours=1))
    assert rfc3339(datetime(2026, 11, 22, 13, 0, 0, 123000, tzinfo=berlin)) == (
        "2026-11-22T12:00:00.123Z"
    )
    assert rfc3339(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000Z"
    with pytest.raises(EventError, match="time zone"):
        rfc3339(datetime(2026, 1, 1))  # naive on purpose


def test_the_wire_schemas_know_every_event_type_and_no_other() -> None:
    """events.EVENT_TYPES (what postermd emits) and wire.EventType (what the host decodes)
    are the same set, and each has its data schema."""
    assert set(get_args(wire.EventType)) == set(EVENT_TYPES) == set(wire.DATA)
