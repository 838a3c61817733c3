"""Fleet operations from posterm-host against a real Mosquitto and the real postermd:
`resolve` settles an in-doubt sale remotely, signed, with the effect of the terminal's own
`posterm resolve`; bad input is refused before anything is sent (exit 65)."""

from __future__ import annotations

import sqlite3

import pytest

from tests.host.test_host import TID, Host, host, rig, unacked  # noqa: F401 (fixtures)
from tests.support import money_rules
from tests.support.broker import wait_for
from tests.support.rig import Rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def in_doubt_sale(rig: Rig, amount: str) -> str:
    """A sale the PT kept (04 0F acknowledged) whose completion never came, on a PT that
    will not repeat its receipt: in doubt, waiting for the operator."""
    rig.pt.fault("refuse_repeat_receipt")
    rig.pt.fault("drop_before_completion")
    code, error = rig.cli("sale", amount)
    assert code == 1 and error["code"] == "in_doubt", error
    rig.wait_operator()
    return str(error["txn_id"])


def host_in_doubt(host: Host) -> list[str]:
    """The in-doubt transactions the host's fleet view lists for the terminal."""
    code, fleet = host.cli("fleet", "--json")
    assert code == 0
    return [t for row in fleet if row["terminal"] == TID for t in row.get("in_doubt_txns") or []]


def commands_sent(host: Host) -> int:
    db = sqlite3.connect(host.db)
    try:
        return int(db.execute("SELECT COUNT(*) FROM commands").fetchone()[0])
    finally:
        db.close()


def test_resolve_from_the_host_settles_an_in_doubt_sale_as_the_terminal_would(
    rig: Rig, host: Host
) -> None:
    """GIVEN a sale in doubt on a terminal, the PT's journal saying it was charged
    WHEN the back office runs `posterm-host resolve TID TXN charged --by alice`
    THEN the terminal journals it approved (resolved by the host for alice), prints the
    RECOVERED receipt, sells again, and the host sees the outcome; a second resolve, an
    unknown txn and a bad verdict are refused, the last one (exit 65) before anything is
    sent."""
    txn_id = in_doubt_sale(rig, "25.00")
    wait_for(lambda: unacked(rig) == 0, "the in-doubt sale at the host")
    before = commands_sent(host)

    code, bad = host.cli("resolve", TID, txn_id, "maybe", "--by", "alice", "--json")
    assert code == 65 and bad["code"] == "bad_request" and "charged" in bad["error"]
    code, bad = host.cli("resolve", "pos/+", txn_id, "charged", "--by", "alice", "--json")
    assert code == 65 and bad["code"] == "bad_request"
    code, bad = host.cli("resolve", TID, "T/../x", "charged", "--by", "alice", "--json")
    assert code == 65 and bad["code"] == "bad_request"
    assert commands_sent(host) == before  # nothing went out
    assert [t["state"] for t in rig.txns()] == ["approved_unconfirmed"]

    code, unknown = host.cli("resolve", TID, "TNOSUCH", "charged", "--by", "alice", "--json")
    assert code == 65 and unknown["code"] == "unknown_txn", unknown

    code, reply = host.cli("resolve", TID, txn_id, "charged", "--by", "alice", "--json")
    assert code == 0 and reply["ok"] and reply["result"]["state"] == "approved", reply
    rig.wait_state("ready")
    (sale,) = rig.txns()
    assert sale["state"] == "approved"
    assert [e["state"] for e in rig.ledger()] == ["booked"]
    (receipt,) = money_rules.receipts_for(rig, txn_id)
    assert "** RECOVERED **" in receipt and "25.00 EUR" in receipt
    recovered = [e for e in rig.events() if e["type"] == "sale.recovered"]
    assert recovered[-1]["data"]["resolved_by"] == "host (alice)"
    wait_for(lambda: not host_in_doubt(host), "the host's fleet without the in-doubt sale")

    code, again = host.cli("resolve", TID, txn_id, "not-charged", "--by", "bob", "--json")
    assert code == 1 and again["code"] == "not_in_doubt", again
    assert rig.cli("sale", "3.00")[0] == 0
    money_rules.check(rig)


def test_resolve_not_charged_from_the_host_writes_the_sale_off_without_a_receipt(
    rig: Rig, host: Host
) -> None:
    """GIVEN a sale in doubt WHEN the host resolves it not-charged THEN the terminal
    journals not_charged, prints nothing for it, and sells again."""
    txn_id = in_doubt_sale(rig, "12.00")
    printed = len(rig.printer.printed())
    code, reply = host.cli("resolve", TID, txn_id, "not-charged", "--by", "bob", "--json")
    assert code == 0 and reply["result"]["state"] == "not_charged", reply
    rig.wait_state("ready")
    assert [t["state"] for t in rig.txns()] == ["not_charged"]
    assert money_rules.receipts_for(rig, txn_id) == []
    assert len(rig.printer.printed()) == printed
    (lost,) = [e for e in rig.events() if e["type"] == "sale.recovered"]
    assert lost["data"]["outcome"] == "not_charged" and lost["data"]["resolved_by"] == "host (bob)"
