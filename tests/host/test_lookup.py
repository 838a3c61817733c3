"""posterm-host's lookups: refunds with their timeliness and figures, transactions found by
terminal, amount, card and time with the text of their customer receipt. Unit tests on a
store filled with real envelopes; one run through a real postermd, Mosquitto and host."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posterm.host import lookup
from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope
from tests.host.test_host import TID, Host, host, rig, unacked  # noqa: F401 (fixtures)

PAN = "476173******0119"
LINES = ["SHOP", "", "SALE", "-" * 32, f"PAN    {PAN}", "CUSTOMER COPY"]


class Events:
    """Envelopes as the terminals send them, each at its own time."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seq: dict[str, int] = {}

    def __call__(self, tid: str, type_: str, at: str, **data: Any) -> None:
        self.seq[tid] = self.seq.get(tid, 0) + 1
        self.store.ingest(
            [envelope(tid, self.seq[tid], type_, data, occurred_at=f"2026-11-20T{at}.000Z")]
        )


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """Real envelopes in a store on SQLite, then on PostgreSQL."""
    s = Store(store_url)
    ev = Events(s)
    money = {"currency": "EUR", "masked_pan": PAN, "card_name": "VISA"}
    # pos-a: a sale printed, a refund above the limit approved and completed, one below
    ev("pos-a", "sale.approved", "10:00:00", txn_id="S1", kind="sale", amount="90.00", **money)
    ev(
        "pos-a",
        "receipt.printed",
        "10:00:05",
        receipt_id=1,
        txn_id="S1",
        copy="customer",
        mark="original",
        lines=LINES,
    )
    ev(
        "pos-a",
        "receipt.printed",
        "10:00:06",
        receipt_id=2,
        txn_id="S1",
        copy="merchant",
        mark="original",
        lines=["MERCHANT COPY"],
    )
    ev(
        "pos-a",
        "refund.requested",
        "10:05:00",
        txn_id="R1",
        kind="refund",
        amount="70.00",
        currency="EUR",
        ref_txn="S1",
        reason="goods_returned",
        state="awaiting_approval",
    )
    ev("pos-a", "refund.approved", "10:06:00", txn_id="R1", amount="70.00", by="alice")
    ev(
        "pos-a",
        "refund.completed",
        "10:06:30",
        txn_id="R1",
        kind="refund",
        amount="70.00",
        ref_txn="S1",
        **money,
    )
    ev(
        "pos-a",
        "refund.requested",
        "10:10:00",
        txn_id="R2",
        kind="refund",
        amount="5.00",
        currency="EUR",
        ref_txn="S1",
        reason="wrong_amount",
        state="in_doubt",
    )
    ev(
        "pos-a",
        "refund.completed",
        "10:10:10",
        txn_id="R2",
        kind="refund",
        amount="5.00",
        ref_txn="S1",
        **money,
    )
    # pos-a: a sale whose receipt is still pending; a sale found lost after a restart
    ev(
        "pos-a",
        "sale.approved",
        "11:00:00",
        txn_id="S2",
        kind="sale",
        amount="12.50",
        currency="EUR",
        masked_pan="520000******1234",
    )
    ev(
        "pos-a",
        "receipt.pending",
        "11:00:02",
        receipt_id=3,
        txn_id="S2",
        copy="customer",
        mark="original",
        why="paper out",
        lines=["** RECOVERED **", "SALE"],
    )
    ev(
        "pos-a",
        "sale.recovered",
        "11:30:00",
        txn_id="S3",
        kind="sale",
        amount="12.50",
        state="not_charged",
        **money,
    )
    # pos-b: a refund awaiting approval, one rejected, a sale recovered with its receipt
    ev(
        "pos-b",
        "sale.recovered",
        "09:00:00",
        txn_id="S9",
        kind="sale",
        amount="100.00",
        state="approved",
        **money,
    )
    ev(
        "pos-b",
        "receipt.recovered",
        "09:01:00",
        receipt_id=1,
        txn_id="S9",
        copy="customer",
        mark="recovered",
        lines=["** RECOVERED **"],
    )
    ev(
        "pos-b",
        "refund.requested",
        "12:00:00",
        txn_id="R8",
        amount="60.00",
        currency="EUR",
        ref_txn="S9",
        reason="other",
        reason_text="broken",
        state="awaiting_approval",
    )
    ev(
        "pos-b",
        "refund.requested",
        "12:01:00",
        txn_id="R9",
        amount="55.00",
        currency="EUR",
        ref_txn="S9",
        reason="wrong_card",
        state="awaiting_approval",
    )
    ev("pos-b", "refund.rejected", "12:02:00", txn_id="R9", amount="55.00", by="bob")
    yield s
    s.close()


def test_refunds_with_reason_sale_approver_and_timeliness(store: Store) -> None:
    rows = {r["txn_id"]: r for r in lookup.refunds(store)}
    assert list(rows) == ["R1", "R2", "R8", "R9"]
    r1 = rows["R1"]
    assert (r1["terminal"], r1["amount"], r1["currency"], r1["sale"], r1["reason"]) == (
        "pos-a",
        "70.00",
        "EUR",
        "S1",
        "goods_returned",
    )
    assert r1["approved_by"] == "alice" and r1["state"] == "completed" and r1["over_limit"]
    assert r1["request_to_approval_s"] == 60 and r1["approval_to_completion_s"] == 30
    assert r1["request_to_completion_s"] == 90 and not r1["awaiting_approval"]
    assert rows["R2"]["request_to_completion_s"] == 10 and not rows["R2"]["over_limit"]
    assert rows["R2"]["approved_by"] is None and not rows["R2"]["awaiting_approval"]
    assert rows["R8"]["reason_text"] == "broken" and rows["R8"]["awaiting_approval"]
    assert rows["R9"]["state"] == "rejected" and rows["R9"]["rejected_by"] == "bob"
    assert [r["txn_id"] for r in lookup.refunds(store, pending=True)] == ["R8"]


def test_refund_stats_per_terminal_and_fleet(store: Store) -> None:
    stats = lookup.refund_stats(lookup.refunds(store))
    assert stats["terminals"]["pos-a"] == {
        "count": 2,
        "completed": 2,
        "median_s": 50,
        "p95_s": 90,
        "over_limit": 1,
    }
    assert stats["terminals"]["pos-b"] == {
        "count": 2,
        "completed": 0,
        "median_s": None,
        "p95_s": None,
        "over_limit": 0,
    }
    assert stats["fleet"]["count"] == 4 and stats["fleet"]["p95_s"] == 90


def test_p95_is_the_nearest_rank() -> None:
    assert lookup._p95([float(i) for i in range(1, 101)]) == 95
    assert lookup._p95([float(i) for i in range(1, 21)]) == 19
    assert lookup._p95([7.0]) == 7


def test_find_by_terminal_amount_card_and_time(store: Store) -> None:
    def ids(**kw: Any) -> list[str]:
        return [t["txn_id"] for t in lookup.find(store, kw.pop("terminal", "pos-a"), **kw)]

    assert ids() == ["S1", "R1", "R2", "S2"]  # S3: a lost sale, no money moved
    assert ids(terminal="pos-b") == ["S9"]
    assert ids(amount="12.5") == ["S2"] and ids(amount="90") == ["S1"]
    assert ids(last4="0119") == ["S1", "R1", "R2"] and ids(last4="9999") == []
    assert ids(since="2026-11-20T10:06:00Z", until="2026-11-20T11:00:00+00:00") == [
        "R1",
        "R2",
        "S2",
    ]
    assert ids(since="2026-11-20T11:00:01") == []  # no zone: UTC
    s1 = lookup.find(store, "pos-a", amount="90.00")[0]
    assert s1["masked_pan"] == PAN and s1["kind"] == "sale" and s1["currency"] == "EUR"
    assert s1["receipt"] == {
        "state": "printed",
        "mark": "original",
        "occurred_at": "2026-11-20T10:00:05.000Z",
        "lines": LINES,
    }


def test_find_across_the_fleet_without_naming_a_terminal(store: Store) -> None:
    """GIVEN pos-a and pos-b's transactions, and pos-c using pos-a's txn id S1 for its own
    sale with its own receipt
    WHEN `find` is asked with no terminal, by card, amount or time range
    THEN it answers from every terminal, oldest first, each result naming its terminal and
    carrying its own terminal's receipt (never the other S1's), in one SQL query."""
    ev = Events(store)
    ev.seq = {"pos-c": 0}
    ev(
        "pos-c",
        "sale.approved",
        "10:30:00",
        txn_id="S1",
        kind="sale",
        amount="12.50",
        currency="EUR",
        masked_pan="520000******1234",
    )
    ev(
        "pos-c",
        "receipt.printed",
        "10:30:02",
        receipt_id=1,
        txn_id="S1",
        copy="customer",
        mark="original",
        lines=["POS-C SALE"],
    )

    def keys(**kw: Any) -> list[tuple[str, str]]:
        return [(t["terminal"], t["txn_id"]) for t in lookup.find(store, None, **kw)]

    assert keys(last4="0119") == [
        ("pos-b", "S9"),
        ("pos-a", "S1"),
        ("pos-a", "R1"),
        ("pos-a", "R2"),
    ]
    assert keys(amount="12.50") == [("pos-c", "S1"), ("pos-a", "S2")]
    assert keys(since="2026-11-20T10:20:00Z", until="2026-11-20T11:00:00Z") == [
        ("pos-c", "S1"),
        ("pos-a", "S2"),
    ]
    assert keys(until="2026-11-20T09:30:00+00:00") == [("pos-b", "S9")]
    receipts = {
        t["terminal"]: t["receipt"]["lines"]
        for t in lookup.find(store, None, since="2026-11-20T10:00:00Z")
        if t["txn_id"] == "S1"
    }
    assert receipts == {"pos-a": LINES, "pos-c": ["POS-C SALE"]}
    queries: list[list[Any]] = []
    real = store._all

    def counted(sql: str, args: Any = ()) -> Any:
        rows = real(sql, args)
        queries.append(rows)
        return rows

    store._all = counted  # type: ignore[method-assign]
    assert keys(last4="1234", since="2026-11-20T00:00:00Z") == [("pos-c", "S1"), ("pos-a", "S2")]
    assert len(queries) == 1
    # a card's search reads only that card's transactions, not every one of the fleet
    read = {
        (e["terminal"], e["data"]["txn_id"])
        for e in map(json.loads, (r["envelope"] for r in queries[0]))
    }
    assert read == {("pos-c", "S1"), ("pos-a", "S2")}, read


def test_a_fleet_search_needs_a_criterion_and_shows_the_newest_first_n(store: Store) -> None:
    """GIVEN the fleet's transactions
    WHEN searched with no terminal and no amount, card or time range
    THEN refused as bad input (status 2), so "every receipt of the fleet" is no accident;
    WHEN more match than the limit THEN the newest N are shown, newest first, with a note
    to narrow the search; with fewer, no note."""
    with pytest.raises(lookup.LookupFailed) as err:
        lookup.find(store, None)
    assert (err.value.code, err.value.status) == ("bad_request", 2)
    assert "narrow" not in str(lookup.search(store, None, last4="0119"))
    found, note = lookup.search(store, None, limit=2, last4="0119")
    assert [(t["terminal"], t["txn_id"]) for t in found] == [("pos-a", "R2"), ("pos-a", "R1")]
    assert note == "first 2 shown (the newest): narrow the search"
    assert lookup.search(store, None, limit=4, last4="0119")[1] is None


def test_the_fleet_search_by_time_reads_an_index(tmp_path: Path) -> None:
    """GIVEN a SQLite store WHEN the fleet is searched by a time range THEN SQLite's plan
    for the one query reads the outcome events through an index on (type, occurred_at),
    not every outcome event ever stored."""
    s = Store(f"sqlite://{tmp_path / 'host.db'}")
    seen: list[tuple[str, Any]] = []
    real = s._all

    def spy(sql: str, args: Any = ()) -> Any:
        seen.append((sql, args))
        return real(sql, args)

    s._all = spy  # type: ignore[method-assign]
    try:
        lookup.find(s, None, since="2026-11-20T10:00:00Z", until="2026-11-20T11:00:00Z")
        ((sql, args),) = seen
        plan = " ".join(r["detail"] for r in s.db.rows("EXPLAIN QUERY PLAN " + sql, args))
        assert "(type=? AND occurred_at>? AND occurred_at<?)" in plan
    finally:
        s.close()


def test_find_shows_a_transaction_once_as_its_latest_outcome_tells_it(tmp_path: Path) -> None:
    """GIVEN approvals told at their commit (approved_unconfirmed) and then recovery's word:
    a sale and a void kept, a sale, a refund and a void not kept by the PT THEN `find` shows
    each kept one once and none of the others."""
    s = Store(f"sqlite://{tmp_path / 'host.db'}")
    ev = Events(s)
    money = {"currency": "EUR", "masked_pan": PAN, "card_name": "VISA"}
    try:
        for txn, kind, first, then, state in [
            ("S1", "sale", "sale.approved", "sale.recovered", "approved"),
            ("S2", "sale", "sale.approved", "sale.recovered", "not_charged"),
            ("R1", "refund", "refund.completed", "refund.failed", "not_charged"),
            ("V1", "void", "void.completed", "void.completed", "not_charged"),
            ("V2", "void", "void.completed", "void.completed", "approved"),
        ]:
            ev(
                "pos-a",
                first,
                "10:00:00",
                txn_id=txn,
                kind=kind,
                amount="5.00",
                state="approved_unconfirmed",
                **money,
            )
            ev(
                "pos-a",
                then,
                "10:00:05",
                txn_id=txn,
                kind=kind,
                amount="5.00",
                state=state,
                outcome="kept" if state == "approved" else "not_charged",
                **money,
            )
        found = lookup.find(s, "pos-a")
        assert [(t["txn_id"], t["event"]) for t in found] == [
            ("S1", "sale.recovered"),
            ("V2", "void.completed"),
        ]
        # when it happened is when it was first told (recovery told it again 5 s later)
        early = lookup.find(s, "pos-a", until="2026-11-20T10:00:02Z")
        assert [t["txn_id"] for t in early] == ["S1", "V2"]
        assert early[0]["occurred_at"] == "2026-11-20T10:00:00.000Z"
        assert lookup.show(s, "R1")["charged"] is False and lookup.show(s, "R1")["event"] == (
            "refund.failed"
        )
        assert lookup.show(s, "S1")["charged"] is True
    finally:
        s.close()
