"""The fleet page's data without a browser: whether each terminal can take payments and why
not, and the summary cards (counts, today's takings and refunds in minor units, alerts by
severity, refunds waiting), from a real store fed the way ingest feeds it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posterm.host import lookup
from posterm.host.config import load
from posterm.host.enrol import codes
from posterm.host.lookup import LookupFailed
from posterm.host.store import Store
from posterm.host.web import data, export, fleetview, summary
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt.events import envelope
from tests.host.conftest import pg_cluster, pg_url, store_url  # noqa: F401 (fixtures)

DAY = "2026-11-20"
READY = {"mode": "ready", "reason": "ready", "printer": "online, paper ok", "paper": "ok"}


def at(hms: str, day: str = DAY) -> str:
    return f"{day}T{hms}.000Z"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A real store, on SQLite and on PostgreSQL."""
    s = Store(store_url)
    yield s
    s.close()


def online(store: Store, tid: str, **telemetry: Any) -> None:
    store.saw_status(tid, {"online": True, "session": 1})
    store.saw_telemetry(tid, {**READY, **telemetry})


def screen(store: Store, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "host.toml"
    path.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n'
        f'[store]\nurl = "sqlite://{tmp_path / "host.db"}"\n'
    )
    return data.first_screen(store, load(path))


def test_each_row_says_whether_it_takes_payments_and_why_not(store: Store, tmp_path: Path) -> None:
    """GIVEN terminals online in ready, pt_down, fault, in_doubt (its txn in the reason),
    ready with the paper out, and one offline WHEN the fleet page's data is built THEN only
    the ready ones take payments, the others say why in words with the terminal's reason,
    and the cards count 5 online, 1 offline, 3 that cannot take payments."""
    online(store, "pos-ok")
    online(store, "pos-pt", mode="pt_down", reason="no answer from the PT")
    online(store, "pos-fault", mode="fault", reason="journal disk full")
    online(store, "pos-doubt", mode="in_doubt", reason="T0042 in doubt after an error")
    online(store, "pos-paper", printer="online, paper out", paper="out")
    store.saw_status("pos-off", {"online": True, "session": 1})
    store.saw_telemetry("pos-off", READY)
    store.saw_status("pos-off", {"online": False, "session": 1})

    shown = screen(store, tmp_path)
    rows = {t["terminal"]: t["payments"] for t in shown["terminals"]}
    assert rows == {  # decided in host/fleet.py, as `posterm-host fleet` shows it
        "pos-ok": {"ok": True, "level": "yes", "why": "takes payments"},
        "pos-pt": {"ok": False, "level": "no", "why": "PT down (no answer from the PT)"},
        "pos-fault": {"ok": False, "level": "no", "why": "fault (journal disk full)"},
        "pos-doubt": {
            "ok": False,
            "level": "no",
            "why": "in doubt (T0042 in doubt after an error)",
        },
        "pos-paper": {
            "ok": True,
            "level": "warn",
            "why": "takes payments; printer out of paper, receipts held",
        },
        "pos-off": {"ok": False, "level": "unknown", "why": "offline"},
    }
    cards = shown["summary"]
    assert (cards["online"], cards["offline"], cards["not_paying"]) == (5, 1, 3)
    assert cards["pending_refunds"] == 0
    assert cards["alerts"] == {"critical": 0, "warning": 0, "notice": 0}


def test_todays_takings_and_refunds_count_each_operation_once_in_minor_units(
    store: Store,
) -> None:
    """GIVEN today two sales (one of them also recovered), a sale recovered as not charged,
    a refund completed, a refund completed then failed, a JPY sale, and yesterday's sale
    WHEN today's money is summed THEN takings are 2 EUR sales of 12.50 + 0.05 and one JPY,
    refunds one of 3.10, and yesterday's and the never-charged ones are left out."""
    seq = iter(range(1, 100))

    def ev(tid: str, type_: str, when: str, txn: str, amount: str, **more: Any) -> None:
        more.setdefault("currency", "EUR")
        body = {"txn_id": txn, "amount": amount, **more}
        store.ingest([envelope(tid, next(seq), type_, body, occurred_at=when)])

    ev("pos-a", "sale.approved", at("08:00:00"), "S1", "12.50")
    ev("pos-a", "sale.recovered", at("08:01:00"), "S1", "12.50", state="approved")
    ev("pos-a", "sale.approved", at("09:00:00"), "S2", "0.05")
    ev("pos-a", "sale.recovered", at("09:30:00"), "S3", "40.00", outcome="not_charged")
    ev("pos-b", "sale.approved", at("10:00:00"), "S1", "1200", currency="JPY")
    ev("pos-a", "refund.completed", at("11:00:00"), "R1", "3.10")
    ev("pos-a", "refund.completed", at("11:05:00"), "R2", "9.00")
    ev("pos-a", "refund.failed", at("11:06:00"), "R2", "9.00")
    ev("pos-a", "sale.approved", at("23:59:59", "2026-11-19"), "S0", "99.00")

    money = summary.money_today(store, DAY)
    assert money == {
        "takings": [
            {"currency": "EUR", "count": 2, "minor": 1255, "amount": "12.55"},
            {"currency": "JPY", "count": 1, "minor": 1200, "amount": "1200"},
        ],
        "refunds": [{"currency": "EUR", "count": 1, "minor": 310, "amount": "3.10"}],
    }


def test_the_fleet_is_searched_filtered_sorted_worst_first_and_paginated(
    store: Store, tmp_path: Path
) -> None:
    """GIVEN 250 ready terminals, one in pt_down and one offline WHEN the fleet page is asked
    with no query THEN page 1 of 3 shows 100 rows, the pt_down one first and the offline one
    second, and the cards still count all 252; WHEN filtered by payments, state, mode or a
    part of the id THEN only those match; page 3 holds the last 52."""
    for i in range(250):
        online(store, f"pos-{i:03d}")
    online(store, "pos-zz-pt", mode="pt_down", reason="no answer")
    store.saw_status("pos-zz-off", {"online": False, "session": 1})
    config_path = tmp_path / "host.toml"
    config_path.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n'
        f'[store]\nurl = "sqlite://{tmp_path / "host.db"}"\n'
    )
    config = load(config_path)

    def shown(**params: str) -> dict[str, Any]:
        return data.first_screen(store, config, fleetview.parse(params))

    first = shown()
    assert [t["terminal"] for t in first["terminals"][:3]] == ["pos-zz-pt", "pos-zz-off", "pos-000"]
    assert (len(first["terminals"]), first["view"]["matched"], first["view"]["pages"]) == (
        100,
        252,
        3,
    )
    assert first["summary"]["terminals"] == 252 and first["view"]["modes"] == ["pt_down", "ready"]
    assert [t["terminal"] for t in shown(payments="no")["terminals"]] == ["pos-zz-pt"]
    assert [t["terminal"] for t in shown(state="offline")["terminals"]] == ["pos-zz-off"]
    assert [t["terminal"] for t in shown(mode="pt_down")["terminals"]] == ["pos-zz-pt"]
    assert [t["terminal"] for t in shown(q="POS-01", sort="terminal")["terminals"]][:2] == [
        "pos-010",
        "pos-011",
    ]
    assert len(shown(q="pos-01")["terminals"]) == 10
    last = shown(page="3", sort="terminal")
    assert len(last["terminals"]) == 52 and last["terminals"][-1]["terminal"] == "pos-zz-pt"
    assert shown(page="9")["view"]["page"] == 3  # past the end: the last page


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"state": "green"}, "state"),
        ({"payments": "maybe"}, "payments"),
        ({"sort": "amount"}, "sort"),
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"mode": "pt down;"}, "mode"),
        ({"q": "x" * 65}, "q"),
        ({"site": "north/../x"}, "site"),
        ({"tag": "Till"}, "tag"),
        ({"group": "mode"}, "group"),
    ],
)
def test_a_bad_fleet_query_is_refused_naming_its_key(params: dict[str, str], key: str) -> None:
    """GIVEN a fleet query with one bad value WHEN it is parsed THEN it is refused as a bad
    request (400 at the API) with a message that starts with the key's name."""
    with pytest.raises(LookupFailed) as caught:
        fleetview.parse(params)
    assert caught.value.code == ErrorCode.BAD_REQUEST and caught.value.status == 2
    assert caught.value.message.startswith(key), caught.value.message


def test_transactions_export_as_csv_with_last4_only_and_no_formula(store: Store) -> None:
    """GIVEN a terminal's sale by card, a refund of it and a sale whose id starts with "="
    WHEN the receipt lookup's transactions are exported THEN the CSV has a header and a line
    each with amount, currency, state and the card's last four digits only (never the
    masked PAN), and the "=" id is escaped so a spreadsheet shows it as text."""
    card = {"currency": "EUR", "masked_pan": "520000******1234", "card_name": "Mastercard"}
    body = {"kind": "sale", "state": "approved", **card}
    store.ingest(
        [
            envelope("pos-a", 1, "sale.approved", {"txn_id": "S1", "amount": "12.50", **body}),
            envelope("pos-a", 2, "sale.approved", {"txn_id": "=1+1", "amount": "3.00", **body}),
            envelope(
                "pos-a",
                3,
                "refund.completed",
                {**body, "txn_id": "R1", "kind": "refund", "amount": "2.00", "ref_txn": "S1"},
            ),
        ]
    )
    text = export.transactions_csv(lookup.find(store, "pos-a"))
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [(r["txn_id"], r["kind"], r["amount"], r["currency"]) for r in lines] == [
        ("S1", "sale", "12.50", "EUR"),
        ("'=1+1", "sale", "3.00", "EUR"),
        ("R1", "refund", "2.00", "EUR"),
    ]
    assert {r["last4"] for r in lines} == {"1234"} and "520000" not in text
    assert lines[2]["ref_txn"] == "S1" and lines[0]["terminal"] == "pos-a"


def test_the_days_money_is_kept_up_to_date_reading_only_what_arrived(store: Store) -> None:
    """GIVEN a running tally that has read a sale WHEN a second sale, a refund's failure
    (seq 3) and then, resent late, its completion (seq 2) arrive, and one event arrives that
    is not today's THEN the next look counts both sales, no refund (the failure is the later
    word), and a new day starts from nothing."""
    money = summary.DayMoney()

    def ev(seq: int, type_: str, txn: str, amount: str, day: str = DAY) -> None:
        body = {"txn_id": txn, "amount": amount, "currency": "EUR"}
        store.ingest([envelope("pos-a", seq, type_, body, occurred_at=at("10:00:00", day))])

    ev(1, "sale.approved", "S1", "10.00")
    assert money.totals(store, DAY)["takings"] == [
        {"currency": "EUR", "count": 1, "minor": 1000, "amount": "10.00"}
    ]
    ev(4, "sale.approved", "S2", "2.50")
    ev(3, "refund.failed", "R1", "5.00")
    ev(2, "refund.completed", "R1", "5.00")
    ev(5, "sale.approved", "S9", "1.00", day="2026-11-21")
    assert money.totals(store, DAY) == {
        "takings": [{"currency": "EUR", "count": 2, "minor": 1250, "amount": "12.50"}],
        "refunds": [],
    }
    assert money.totals(store, "2026-11-21")["takings"] == [
        {"currency": "EUR", "count": 1, "minor": 100, "amount": "1.00"}
    ]


def test_the_fleet_is_filtered_and_grouped_by_site_and_tag_keeping_search_and_pages(
    store: Store, tmp_path: Path
) -> None:
    """GIVEN 150 terminals at site north (every third tagged till), 10 at south tagged
    till and front, 2 not enrolled
    WHEN the fleet is filtered by site, by tag, by both with a search, or grouped
    THEN only those match, pages count what is shown (150 north: 2 pages), a page keeps
    the filter in its links, and grouped rows come site by site (or under each tag),
    the unlabelled last, each row carrying its group's label and its site and tags."""
    for i in range(150):
        online(store, f"n-{i:03d}")
        codes.new(store, site="north", tags=("till",) if i % 3 == 0 else (), terminal=f"n-{i:03d}")
    for i in range(10):
        online(store, f"s-{i:02d}")
        codes.new(store, site="south", tags=("till", "front"), terminal=f"s-{i:02d}")
    online(store, "x-1")
    online(store, "x-2")
    config_path = tmp_path / "host.toml"
    config_path.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n'
        f'[store]\nurl = "sqlite://{tmp_path / "host.db"}"\n'
    )
    config = load(config_path)

    def shown(**params: str) -> dict[str, Any]:
        return data.first_screen(store, config, fleetview.parse(params))

    north = shown(site="north", sort="terminal")
    assert (north["view"]["matched"], north["view"]["pages"], len(north["terminals"])) == (
        150,
        2,
        100,
    )
    assert north["view"]["sites"] == ["north", "south"]
    assert north["view"]["tags"] == ["front", "till"]
    assert (north["terminals"][0]["site"], north["terminals"][0]["tags"]) == ("north", ["till"])
    page2 = shown(site="north", sort="terminal", page="2")
    assert [t["terminal"] for t in page2["terminals"]][:2] == ["n-100", "n-101"]
    assert len(page2["terminals"]) == 50 and {t["site"] for t in page2["terminals"]} == {"north"}
    assert "site=north" in page2["query"].url(page=1)
    till = shown(tag="till")
    assert till["view"]["matched"] == 50 + 10
    both = shown(site="south", tag="front", q="S-0")
    assert sorted(t["terminal"] for t in both["terminals"]) == [f"s-{i:02d}" for i in range(10)]
    assert shown(site="south", q="n-")["view"]["matched"] == 0

    by_site = shown(group="site", sort="terminal", page="2")
    assert by_site["view"]["matched"] == 162 and by_site["view"]["pages"] == 2
    groups = [t["group"] for t in by_site["terminals"]]
    assert groups == ["site north"] * 50 + ["site south"] * 10 + ["no site"] * 2
    assert [t["terminal"] for t in by_site["terminals"]][-2:] == ["x-1", "x-2"]
    by_tag = shown(group="tag", site="south", sort="terminal")
    assert [t["group"] for t in by_tag["terminals"]] == ["tag front"] * 10 + ["tag till"] * 10
    assert by_tag["view"]["matched"] == 10  # terminals, each shown under both its tags
    assert all("group" not in t for t in shown()["terminals"])


def test_refunds_export_as_csv_one_line_each_with_no_formula(store: Store) -> None:
    """GIVEN a refund requested, approved and completed, and one requested whose reason text
    starts with "=" WHEN the refunds are exported THEN the CSV has a header and a line each
    (terminal, refund, sale, amount, currency, state, who approved), oldest first, and the
    "=" text is escaped so a spreadsheet shows it as text."""
    base = {"kind": "refund", "currency": "EUR", "ref_txn": "S1", "reason": "goods_returned"}
    store.ingest(
        [
            envelope(
                "pos-a",
                1,
                "refund.requested",
                {**base, "txn_id": "R1", "amount": "60.00", "state": "awaiting_approval"},
            ),
            envelope("pos-a", 2, "refund.approved", {**base, "txn_id": "R1", "by": "olga"}),
            envelope(
                "pos-a",
                3,
                "refund.completed",
                {**base, "txn_id": "R1", "amount": "60.00", "state": "approved"},
            ),
            envelope(
                "pos-b",
                1,
                "refund.requested",
                {
                    **base,
                    "txn_id": "R2",
                    "amount": "5.00",
                    "reason": "other",
                    "reason_text": "=HYPERLINK(1)",
                    "state": "awaiting_approval",
                },
            ),
        ]
    )
    text = export.refunds_csv(lookup.refunds(store, pending=False))
    lines = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(export.REFUND_COLUMNS)
    assert [
        (r["terminal"], r["txn_id"], r["sale"], r["amount"], r["currency"], r["state"])
        for r in lines
    ] == [
        ("pos-a", "R1", "S1", "60.00", "EUR", "completed"),
        ("pos-b", "R2", "S1", "5.00", "EUR", "requested"),
    ]
    assert lines[0]["approved_by"] == "olga" and lines[0]["completed_at"]
    assert lines[1]["reason_text"] == "'=HYPERLINK(1)"
    pending = list(
        csv.DictReader(io.StringIO(export.refunds_csv(lookup.refunds(store, pending=True))))
    )
    assert [r["txn_id"] for r in pending] == ["R2"]
