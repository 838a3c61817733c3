"""The alerts that follow the money, from events alone (a fake clock, a real SQLite store):
refunds per day over their limits, a likely double charge and what clears it, each
following the latest outcome of a transaction (an approval told at its commit may be
followed by recovery's word that the PT did not keep it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from posterm.host import cli
from posterm.host.alerts.engine import open_counts
from posterm.host.alerts.rules import Limits
from posterm.protocol.mqtt.events import envelope
from tests.host.test_alerts import PAN, TID, Fleet, fleet  # noqa: F401 (a fixture)


def test_refunds_per_day_over_the_count_or_the_amount(tmp_path: Path) -> None:
    f = Fleet(tmp_path, Limits(refunds_per_day=2, refund_minor_per_day=10_000))
    refund = {"kind": "refund", "currency": "EUR", "masked_pan": PAN}
    f.event("refund.completed", txn_id="R1", amount="30.00", ref_txn="S1", **refund)
    f.event("refund.completed", txn_id="R2", amount="30.00", ref_txn="S1", **refund)
    assert f.alerter.take() == []
    f.event("refund.completed", "pos-b", txn_id="R9", amount="99.00", ref_txn="S9", **refund)
    third = f.clock.advance(60)
    f.event("refund.completed", txn_id="R3", amount="40.01", ref_txn="S2", **refund)
    count, amount = f.alerter.take()
    assert count["kind"] == "refunds_count" and count["raised_at"] == third
    assert count["detail"] == {"day": "2026-11-29", "count": 3, "limit": 2}
    assert amount["kind"] == "refunds_amount" and amount["detail"]["total"] == "100.01"
    assert amount["detail"]["total_minor"] == 10_001 and amount["terminal"] == TID
    f.event("refund.completed", txn_id="R4", amount="1.00", ref_txn="S2", **refund)
    assert f.alerter.take() == []  # open already
    assert f.tick() == []  # the day is not over
    f.clock.at = datetime(2026, 11, 30, 0, 0, 1, tzinfo=UTC)
    assert {m["kind"] for m in f.tick()} == {"refunds_count", "refunds_amount"}
    f.store.close()


def test_refunds_per_day_count_each_refund_once_and_not_those_the_pt_did_not_keep(
    tmp_path: Path,
) -> None:
    """GIVEN refunds told completed at their commit, one told again by recovery (kept) and
    one followed by refund.failed (the PT did not keep it) THEN the day counts two; AND
    WHEN a refund over the limit then fails THEN its alert clears."""
    f = Fleet(tmp_path, Limits(refunds_per_day=2, refund_minor_per_day=10_000))
    refund = {"kind": "refund", "currency": "EUR", "masked_pan": PAN}
    f.event("refund.completed", txn_id="R1", amount="30.00", state="approved_unconfirmed", **refund)
    f.event("refund.completed", txn_id="R1", amount="30.00", state="approved", **refund)
    f.event("refund.completed", txn_id="R2", amount="60.00", state="approved_unconfirmed", **refund)
    f.event("refund.failed", txn_id="R2", amount="60.00", state="not_charged", **refund)
    f.event("refund.completed", txn_id="R3", amount="40.00", state="approved_unconfirmed", **refund)
    assert f.alerter.take() == []  # two refunds, 70.00: under both limits
    f.event("refund.completed", txn_id="R4", amount="1.00", state="approved_unconfirmed", **refund)
    (count,) = f.alerter.take()
    assert count["kind"] == "refunds_count" and count["detail"]["count"] == 3
    # R4 then not kept by the PT: back to two, the alert clears
    f.event("refund.failed", txn_id="R4", amount="1.00", state="not_charged", **refund)
    (cleared,) = f.alerter.take()
    assert cleared["alert_id"] == count["alert_id"] and cleared["cleared_at"]
    f.store.close()


def test_a_sale_the_pt_did_not_keep_is_no_double_charge(fleet: Fleet) -> None:
    """GIVEN a sale told approved at its commit that recovery found not kept by the PT (the
    customer paid again) THEN the second sale raises nothing; AND GIVEN two kept sales
    raised as a double charge WHEN recovery finds one not kept THEN the alert clears."""
    sale = {"kind": "sale", "currency": "EUR", "masked_pan": PAN}
    fleet.event("sale.approved", txn_id="T1", amount="20.00", state="approved_unconfirmed", **sale)
    fleet.event(
        "sale.recovered",
        txn_id="T1",
        amount="20.00",
        currency="EUR",
        state="not_charged",
        outcome="not_charged",
    )
    fleet.event("sale.approved", txn_id="T2", amount="20.00", **sale)
    assert fleet.alerter.take() == []
    fleet.event("sale.approved", txn_id="T3", amount="7.00", **sale)
    fleet.event("sale.approved", txn_id="T4", amount="7.00", **sale)
    (raised,) = fleet.alerter.take()
    assert raised["detail"]["txns"] == ["T3", "T4"]
    fleet.event(
        "sale.recovered",
        txn_id="T4",
        amount="7.00",
        currency="EUR",
        state="not_charged",
        outcome="not_charged",
    )
    (cleared,) = fleet.alerter.take()
    assert cleared["alert_id"] == raised["alert_id"] and cleared["cleared_at"]


def test_the_same_amount_written_another_way_is_the_same_charge(
    fleet: Fleet,
) -> None:
    """The rule reads only the card's sales of the same amount (the stored amount_minor):
    '12.5' and '12.50' are one amount."""
    sale = {"kind": "sale", "currency": "EUR", "card_name": "VISA", "masked_pan": PAN}
    fleet.event("sale.approved", txn_id="T1", amount="12.5", at="2026-11-29T10:00:00.000Z", **sale)
    fleet.event("sale.approved", txn_id="T2", amount="12.50", at="2026-11-29T10:00:30.000Z", **sale)
    (msg,) = fleet.alerter.take()
    assert msg["kind"] == "double_charge" and msg["detail"]["txns"] == ["T1", "T2"]


def test_a_likely_double_charge_raised_when_the_second_sale_arrives(
    fleet: Fleet,
) -> None:
    sale = {"kind": "sale", "currency": "EUR", "card_name": "VISA"}
    fleet.event(
        "sale.approved",
        txn_id="T1",
        amount="12.50",
        masked_pan=PAN,
        at="2026-11-29T10:00:00.000Z",
        **sale,
    )
    # none: another amount, another card, another terminal, a declined sale
    fleet.event(
        "sale.approved",
        txn_id="T2",
        amount="12.51",
        masked_pan=PAN,
        at="2026-11-29T10:01:00.000Z",
        **sale,
    )
    fleet.event(
        "sale.approved",
        txn_id="T3",
        amount="12.50",
        masked_pan="520000******1234",
        at="2026-11-29T10:01:30.000Z",
        **sale,
    )
    fleet.event(
        "sale.approved",
        "pos-b",
        txn_id="T4",
        amount="12.50",
        masked_pan=PAN,
        at="2026-11-29T10:02:00.000Z",
        **sale,
    )
    fleet.event(
        "sale.declined",
        txn_id="T5",
        amount="12.50",
        masked_pan=PAN,
        at="2026-11-29T10:02:30.000Z",
        **sale,
    )
    assert fleet.alerter.take() == []
    fleet.event(
        "sale.approved",
        txn_id="T6",
        amount="12.50",
        masked_pan=PAN,
        at="2026-11-29T10:03:00.000Z",
        **sale,
    )
    (msg,) = fleet.alerter.take()
    assert msg["kind"] == "double_charge" and msg["terminal"] == TID
    assert msg["detail"]["txns"] == ["T1", "T6"] and msg["detail"]["amount"] == "12.50"
    assert msg["detail"]["masked_pan"] == PAN and msg["detail"]["seconds_apart"] == 180
    assert msg["raised_at"] == fleet.clock.iso
    # outside the window (600 s after the last): none
    fleet.event(
        "sale.approved",
        txn_id="T7",
        amount="12.50",
        masked_pan=PAN,
        at="2026-11-29T10:13:01.000Z",
        **sale,
    )
    assert fleet.alerter.take() == []
    # a void of it the PT did not keep (found on recovery): still open
    fleet.event(
        "void.completed",
        txn_id="V0",
        ref_txn="T6",
        amount="12.50",
        masked_pan=PAN,
        currency="EUR",
        state="not_charged",
        outcome="not_charged",
    )
    assert fleet.alerter.take() == [] and open_counts(fleet.store)["double_charge"] == 1
    # the wrong one voided: told at the void's commit, still open (the PT may not keep it)
    fleet.event(
        "void.completed",
        txn_id="V1",
        ref_txn="T6",
        amount="12.50",
        masked_pan=PAN,
        currency="EUR",
        state="approved_unconfirmed",
    )
    assert fleet.alerter.take() == [] and open_counts(fleet.store)["double_charge"] == 1
    # its receipt: the PT completed it, cleared
    fleet.event("receipt.printed", txn_id="V1", copy="customer", mark="original", lines=[])
    (cleared,) = fleet.alerter.take()
    assert cleared["alert_id"] == msg["alert_id"] and cleared["cleared_at"] == fleet.clock.iso
    assert open_counts(fleet.store)["double_charge"] == 0


def test_both_sales_in_one_batch_give_one_alert(fleet: Fleet) -> None:
    data = {"amount": "5.00", "currency": "EUR", "masked_pan": PAN}
    fleet.alerter.ingest(
        [
            envelope(TID, 1, "sale.approved", {"txn_id": "T1", **data}),
            envelope(TID, 2, "sale.approved", {"txn_id": "T2", **data}),
        ]
    )
    (msg,) = fleet.alerter.take()
    assert msg["detail"]["txns"] == ["T1", "T2"]
    assert [a["kind"] for a in fleet.alerts()] == ["double_charge"]


def test_a_sale_voided_before_the_same_amount_again_is_no_double_charge(
    fleet: Fleet,
) -> None:
    """GIVEN a 20.00 sale and its void, confirmed (its receipt told)
    WHEN the customer pays 20.00 again with the same card
    THEN no double charge: the card is charged once, net. AND GIVEN a sale whose void is
    told only at its commit (the PT may not keep it) WHEN the same amount comes again THEN
    the alert is raised, and it clears when the void's receipt confirms it."""
    sale = {"kind": "sale", "currency": "EUR", "masked_pan": PAN}
    fleet.event("sale.approved", txn_id="T1", amount="20.00", **sale)
    fleet.event(
        "void.completed",
        txn_id="V1",
        ref_txn="T1",
        amount="20.00",
        currency="EUR",
        masked_pan=PAN,
        state="approved_unconfirmed",
    )
    fleet.event("receipt.printed", txn_id="V1", copy="customer", mark="original", lines=[])
    fleet.event("sale.approved", txn_id="T2", amount="20.00", **sale)
    assert fleet.alerter.take() == [] and open_counts(fleet.store)["double_charge"] == 0

    fleet.event("sale.approved", txn_id="T3", amount="9.00", **sale)
    fleet.event(
        "void.completed",
        txn_id="V3",
        ref_txn="T3",
        amount="9.00",
        currency="EUR",
        masked_pan=PAN,
        state="approved_unconfirmed",
    )
    fleet.event("sale.approved", txn_id="T4", amount="9.00", **sale)
    (raised,) = fleet.alerter.take()
    assert raised["kind"] == "double_charge" and raised["detail"]["txns"] == ["T3", "T4"]
    fleet.event("receipt.printed", txn_id="V3", copy="customer", mark="original", lines=[])
    (cleared,) = fleet.alerter.take()
    assert cleared["alert_id"] == raised["alert_id"] and cleared["cleared_at"]


def test_a_double_charge_clears_only_when_refunds_bring_the_card_back_to_one_charge(
    fleet: Fleet,
) -> None:
    """GIVEN a 20.00 double charge
    WHEN 1.00 of one sale is refunded (confirmed) THEN it stays open; WHEN 9.00 more of
    each is refunded (19.00 back in all: 21.00 still charged) THEN still open; WHEN 1.00
    more comes back (recovery found that refund kept) THEN it clears: 20.00, one sale."""
    sale = {"kind": "sale", "currency": "EUR", "masked_pan": PAN}
    refund = {"kind": "refund", "currency": "EUR", "masked_pan": PAN}
    fleet.event("sale.approved", txn_id="T1", amount="20.00", **sale)
    fleet.event("sale.approved", txn_id="T2", amount="20.00", **sale)
    (raised,) = fleet.alerter.take()
    for txn, ref, amount in (("R1", "T2", "1.00"), ("R2", "T1", "9.00"), ("R3", "T2", "9.00")):
        fleet.event(
            "refund.completed",
            txn_id=txn,
            ref_txn=ref,
            amount=amount,
            state="approved_unconfirmed",
            **refund,
        )
        fleet.event("receipt.printed", txn_id=txn, copy="customer", mark="original", lines=[])
        assert fleet.alerter.take() == [], txn
    assert open_counts(fleet.store)["double_charge"] == 1
    fleet.event(
        "refund.completed",
        txn_id="R4",
        ref_txn="T1",
        amount="1.00",
        state="approved_unconfirmed",
        **refund,
    )
    assert fleet.alerter.take() == []  # told at its commit only: not yet
    fleet.event(
        "refund.completed",
        txn_id="R4",
        ref_txn="T1",
        amount="1.00",
        state="approved",
        outcome="kept",
        **refund,
    )
    (cleared,) = fleet.alerter.take()
    assert cleared["alert_id"] == raised["alert_id"] and cleared["cleared_at"]


def test_an_open_double_charge_is_listed_first_among_a_thousand_offline_terminals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN an open double charge, then 1,001 terminals offline past the limit (each raised
    later, so newer)
    WHEN the open alerts are listed (`posterm-host alerts --open`), whole and by pages
    THEN the double charge comes first, none is left out, and a page says how many more."""
    f = Fleet(tmp_path, Limits())
    sale = {"kind": "sale", "currency": "EUR", "masked_pan": PAN}
    f.event("sale.approved", txn_id="T1", amount="20.00", **sale)
    f.event("sale.approved", txn_id="T2", amount="20.00", **sale)
    assert [m["kind"] for m in f.alerter.take()] == ["double_charge"]
    for n in range(1001):
        f.status(False, 1, tid=f"pos-{n:04}")
    f.clock.advance(Limits().offline_s + 1)
    assert len(f.tick()) == 1001
    f.store.close()
    config = tmp_path / "host.toml"
    config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n'
        f'[store]\nurl = "sqlite://{tmp_path / "host.db"}"\n'
    )

    def run(*args: str) -> tuple[int, Any, str]:
        code = cli.main(["--config", str(config), "alerts", "--open", *args])
        out = capsys.readouterr()
        return code, json.loads(out.out) if "--json" in args else out.out, out.err

    code, rows, _ = run("--json")
    assert code == 0 and len(rows) == 1002
    assert (rows[0]["kind"], rows[0]["severity"]) == ("double_charge", "critical")
    code, page, more = run("--json", "--limit", "10")
    assert [r["alert_id"] for r in page] == [r["alert_id"] for r in rows[:10]]
    assert "992 more: posterm-host alerts --offset 10" in more
    code, page, more = run("--json", "--limit", "10", "--offset", "995")
    assert len(page) == 7 and "more" not in more
    code, text, _ = run("--limit", "1")
    head, first = text.splitlines()[:2]  # a table: the titles, then the worst alert
    assert head.startswith("SEVERITY") and first.startswith("critical") and "=" not in text
    assert text.splitlines()[-1] == "... 1001 more: posterm-host alerts --offset 1"
    with pytest.raises(SystemExit) as bad:  # bad input: argparse's usage error
        cli.main(["--config", str(config), "alerts", "--limit", "-1"])
    assert bad.value.code == 64  # EX_USAGE
