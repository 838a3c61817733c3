"""The event rules over whole batches (`host/alerts/reads.py`): many refunds or sales of
one terminal in one batch raise what one at a time would, on SQLite and PostgreSQL; and
the rules' reads are a fixed number of statements per batch, not one per event."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posterm.host.alerts import reads
from posterm.host.alerts.engine import Alerter
from posterm.host.alerts.rules import Limits
from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope
from tests.host.test_alerts import PAN, Clock

REFUND = {"kind": "refund", "state": "approved_unconfirmed", "currency": "EUR", "masked_pan": PAN}


class Batches:
    """An alerter on a fake clock over a store; events handed over a batch at a time."""

    def __init__(self, url: str, limits: Limits) -> None:
        self.store = Store(url)
        self.clock = Clock()
        self.alerter = Alerter(self.store, limits, clock=self.clock)
        self.seq: dict[str, int] = {}

    def env(self, tid: str, type_: str, **data: Any) -> dict[str, Any]:
        self.seq[tid] = self.seq.get(tid, 0) + 1
        return envelope(tid, self.seq[tid], type_, data, occurred_at=self.clock.iso)

    def refunds(self, tid: str, first: int, count: int, amount: str = "1.00") -> list[Any]:
        return [
            self.env(tid, "refund.completed", txn_id=f"R{n}", amount=amount, **REFUND)
            for n in range(first, first + count)
        ]

    def ingest(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store one batch; the alert messages it committed."""
        self.alerter.ingest(events)
        return self.alerter.take()


@pytest.fixture
def batches(store_url: str) -> Iterator[Batches]:
    b = Batches(store_url, Limits(refunds_per_day=20, refund_minor_per_day=10_000))
    yield b
    b.store.close()


def test_many_refunds_of_one_terminal_in_one_batch_raise_at_the_limit(batches: Batches) -> None:
    """GIVEN a per-day limit of 20 refunds WHEN 20 arrive in one batch THEN nothing; WHEN
    the 21st comes in the next batch, with another terminal's 25 in that same batch THEN
    each terminal's refunds_count is raised once, with its day's count; AND WHEN one of
    the first terminal's refunds then fails in a batch of more refunds of the other
    THEN only the first's alert clears."""
    assert batches.ingest(batches.refunds("pos-a", 1, 20)) == []
    raised = batches.ingest(batches.refunds("pos-a", 21, 1) + batches.refunds("pos-b", 1, 25))
    assert sorted((m["terminal"], m["kind"], m["detail"]["count"]) for m in raised) == [
        ("pos-a", "refunds_count", 21),
        ("pos-b", "refunds_count", 25),
    ]
    failed = batches.env(
        "pos-a", "refund.failed", txn_id="R21", amount="1.00", **{**REFUND, "state": "failed"}
    )
    (cleared,) = batches.ingest([failed, *batches.refunds("pos-b", 26, 3)])
    assert cleared["terminal"] == "pos-a" and cleared["cleared_at"]
    assert cleared["alert_id"] == next(m for m in raised if m["terminal"] == "pos-a")["alert_id"]


def test_refunds_of_one_batch_over_the_days_amount_raise_once(batches: Batches) -> None:
    """GIVEN a per-day limit of 100.00 WHEN a batch brings 3 refunds of 40.00 and another
    terminal's 2 THEN one refunds_amount alert, of the first terminal, totalling 120.00."""
    events = batches.refunds("pos-a", 1, 3, "40.00") + batches.refunds("pos-b", 1, 2, "40.00")
    (alert,) = batches.ingest(events)
    assert (alert["kind"], alert["terminal"]) == ("refunds_amount", "pos-a")
    assert alert["detail"]["total"] == "120.00" and alert["detail"]["count"] == 3


def test_alike_sales_of_one_terminal_among_others_in_one_batch_give_one_alert(
    batches: Batches,
) -> None:
    """GIVEN a batch of sales from three terminals, two of one terminal with the same card
    and amount THEN one double_charge, on that terminal; AND WHEN the receipt of a void of
    one of them comes in a later batch THEN it clears."""
    sale = {"kind": "sale", "state": "approved", "currency": "EUR", "masked_pan": PAN}
    events = [
        batches.env(tid, "sale.approved", txn_id=f"{tid}-{n}", amount=f"{n}.00", **sale)
        for n in range(1, 4)
        for tid in ("pos-a", "pos-b", "pos-c")
    ]
    events.append(batches.env("pos-b", "sale.approved", txn_id="B9", amount="2.00", **sale))
    (alert,) = batches.ingest(events)
    assert (alert["kind"], alert["terminal"]) == ("double_charge", "pos-b")
    assert alert["detail"]["txns"] == ["pos-b-2", "B9"]
    void = {"kind": "void", "currency": "EUR", "amount": "2.00"}
    cleared = batches.ingest(
        [
            batches.env("pos-b", "void.completed", txn_id="V1", ref_txn="B9", **void),
            batches.env("pos-b", "receipt.printed", txn_id="V1", copy="customer", mark="original"),
        ]
    )
    assert [(m["alert_id"], bool(m.get("cleared_at"))) for m in cleared] == [
        (alert["alert_id"], True)
    ]


def test_the_rules_reads_are_a_few_statements_per_batch_whatever_its_size(
    tmp_path: Path,
) -> None:
    """GIVEN batches of sales with their receipts and refunds, one of 10 terminals and one
    of 200 WHEN each is ingested THEN both run the same number of SQL statements (no
    per-event read in the alert rules)."""
    b = Batches(f"sqlite://{tmp_path / 'host.db'}", Limits())
    statements: list[str] = []
    b.store.db._db.set_trace_callback(statements.append)  # type: ignore[attr-defined]

    def batch(count: int, tag: str) -> int:
        events = []
        for n in range(count):
            tid = f"{tag}-{n}"
            sale = {"kind": "sale", "state": "approved", "currency": "EUR", "masked_pan": PAN}
            events.append(b.env(tid, "sale.approved", txn_id="S1", amount="5.00", **sale))
            events.append(
                b.env(tid, "receipt.printed", txn_id="S1", copy="customer", mark="original")
            )
            events.append(b.env(tid, "refund.completed", txn_id="R1", amount="1.00", **REFUND))
        statements.clear()
        assert b.ingest(events) == []
        return sum(1 for sql in statements if sql.lstrip().startswith(("SELECT", "WITH")))

    assert batch(10, "small") == batch(200, "large")
    b.store.close()


def _window_the_long_way(at: str, s: float) -> tuple[str, str]:
    moment = datetime.fromisoformat(at)
    low, high = (
        (moment + timedelta(seconds=d)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for d in (-s, s)
    )
    return low, high


@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.none()
    ),
    seconds=st.sampled_from([0, 1, 59, 60, 120, 86_400, 0.5, 90.25]),
)
def test_a_sales_window_is_the_moment_less_and_plus_the_seconds(
    moment: datetime, seconds: float
) -> None:
    """GIVEN a sale's occurred_at as terminals write it (UTC, to the millisecond) WHEN the
    double-charge rule takes its window THEN it is the moment less and plus the seconds, as
    occurred_at are written, across minutes, days, years and leap days (the whole seconds
    are shifted once per distinct second and cached: the same figures as the long way)."""
    at = moment.isoformat(timespec="milliseconds") + "Z"
    assert reads.window(at, seconds) == _window_the_long_way(at, seconds)
    assert reads.window(at, seconds) == reads.window(at, seconds)  # from the cache too


@pytest.mark.parametrize(
    "at",
    ["2026-12-05T10:11:12.345+01:00", "2026-12-05T10:11:12Z", "2026-12-05T10:11:12.3456Z"],
)
def test_a_sales_window_of_another_time_format_is_taken_the_long_way(at: str) -> None:
    """GIVEN an occurred_at with an offset, no fraction or more digits (the wire allows
    them) THEN its window is still the moment less and plus the seconds."""
    assert reads.window(at, 120) == _window_the_long_way(at, 120)


@pytest.mark.parametrize(
    "at", ["2026-02-30T10:11:12.345Z", "2026-12-05T25:11:12.345Z", "0001-01-01T00:00:00.500Z"]
)
def test_no_window_for_no_moment_or_one_off_the_calendar(at: str) -> None:
    """GIVEN no real moment, or one whose window leaves datetime's calendar THEN no window
    (the rule skips the sale's double-charge read) and nothing raises."""
    assert reads.window(at, 120) is None


@pytest.mark.parametrize("count", [1, 300])
def test_open_alerts_are_each_terminals_open_ones_of_those_kinds(
    store_url: str, count: int
) -> None:
    """GIVEN alerts of several kinds on `count` terminals (300: more keys than one
    statement of the largest shape takes), open and cleared WHEN the open alerts of two
    kinds on every other terminal are read THEN each of those terminals gets exactly its
    open alerts of those kinds, terminals asked for with none get an empty list, and no
    other terminal's, kind's or cleared alert comes back."""
    store = Store(store_url)
    try:
        tids = [f"pos-{n:04d}" for n in range(count)]
        with store.transaction() as tx:
            tx.execute_many(
                "INSERT INTO alerts (alert_id, kind, terminal, subject, raised_at, cleared_at,"
                " detail) VALUES (?, ?, ?, ?, ?, ?, '{}')",
                [
                    (f"{tid}-{kind}-{subject}", kind, tid, subject, "2026-12-05T10:00:00Z", cleared)
                    for n, tid in enumerate(tids)
                    for kind in ("refunds_count", "refunds_amount", "offline")
                    for subject, cleared in (
                        ("2026-12-05", None if n % 3 else "2026-12-05T11:00:00Z"),
                        ("2026-12-04", "2026-12-04T23:00:00Z"),
                    )
                ],
            )
        asked = [*tids[::2], "pos-none"]
        with store.transaction() as tx:
            found = reads.open_alerts(
                tx, store.db.dialect, ("refunds_count", "refunds_amount"), asked
            )
        assert set(found) == set(asked)
        for tid, rows in found.items():
            n = tids.index(tid) if tid in tids else 0
            want = (
                set()
                if tid == "pos-none" or n % 3 == 0
                else {f"{tid}-refunds_count-2026-12-05", f"{tid}-refunds_amount-2026-12-05"}
            )
            assert {r["alert_id"] for r in rows} == want, tid
            assert all(r["terminal"] == tid and r["cleared_at"] is None for r in rows)
    finally:
        store.close()
