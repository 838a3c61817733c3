"""posterm-host's lookups continued: what an in-doubt or voided sale shows, a customer
receipt shown, bad input, the CLI's exit codes and JSON, and one run through a real
postermd, Mosquitto and host. The store and its envelopes: tests/host/test_lookup.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posterm.host import cli, lookup
from posterm.host.store import Store
from tests.host.test_host import TID, Host, host, rig, unacked  # noqa: F401 (fixtures)
from tests.host.test_lookup import LINES, PAN, Events, store  # noqa: F401 (fixture)
from tests.support.broker import wait_for
from tests.support.rig import Rig


def test_a_sale_in_doubt_or_voided_is_not_shown_charged(store_url: str) -> None:
    """GIVEN sales: one approved then in doubt (the link lost before the PT's completion),
    one only in doubt, one in doubt then found kept, one voided (the void kept), one whose
    void is in doubt, one whose void the PT did not keep
    WHEN `receipts show` and `find` look at them
    THEN each says whether it is charged (null while in doubt), its state, and the void."""
    s = Store(store_url)
    ev = Events(s)
    money = {"kind": "sale", "amount": "20.00", "currency": "EUR", "masked_pan": PAN}
    unconfirmed = {**money, "state": "approved_unconfirmed"}
    try:
        ev("pos-a", "sale.approved", "10:00:00", txn_id="D1", **unconfirmed)
        ev("pos-a", "sale.in_doubt", "10:00:01", txn_id="D1", why="PT link lost", **unconfirmed)
        ev("pos-a", "sale.in_doubt", "10:01:00", txn_id="D2", why="crash", **money)
        ev("pos-a", "sale.approved", "10:02:00", txn_id="D3", **unconfirmed)
        ev("pos-a", "sale.in_doubt", "10:02:01", txn_id="D3", why="PT link lost", **unconfirmed)
        ev(
            "pos-a",
            "sale.recovered",
            "10:02:30",
            txn_id="D3",
            outcome="kept",
            **{**money, "state": "approved"},
        )
        for sale, void, how in (
            ("V1", "X1", "void.completed"),
            ("V2", "X2", "void.in_doubt"),
            ("V3", "X3", "not kept"),
        ):
            ev("pos-a", "sale.approved", "11:00:00", txn_id=sale, **money)
            void_data = {**money, "kind": "void", "txn_id": void, "ref_txn": sale}
            if how == "not kept":
                ev(
                    "pos-a",
                    "void.completed",
                    "11:00:05",
                    **{**void_data, "state": "not_charged", "outcome": "not_charged"},
                )
            else:
                ev("pos-a", how, "11:00:05", **{**void_data, "state": "approved"})
        seen = {t: lookup.show(s, t) for t in ("D1", "D2", "D3", "V1", "V2", "V3")}
        assert {t: (v["charged"], v["state"], v["voided"]) for t, v in seen.items()} == {
            "D1": (None, "in_doubt", False),
            "D2": (None, "in_doubt", False),
            "D3": (True, "charged", False),
            "V1": (False, "voided", True),
            "V2": (None, "void_in_doubt", None),
            "V3": (True, "charged", False),
        }
        assert seen["V1"]["voided_by"] == "X1" and seen["D2"]["event"] == "sale.in_doubt"
        found = {t["txn_id"]: (t["charged"], t["state"]) for t in lookup.find(s, "pos-a")}
        assert found["D1"] == (None, "in_doubt") and found["V1"] == (False, "voided")
        assert found["X1"] == (True, "charged")  # the void itself moved the money back
    finally:
        s.close()


def test_show_the_printed_recovered_or_pending_customer_receipt(store: Store) -> None:
    assert lookup.show(store, "S1")["receipt"]["lines"] == LINES  # not the merchant copy
    assert lookup.show(store, "S9")["receipt"]["state"] == "recovered"
    pending = lookup.show(store, "S2")["receipt"]
    assert pending["state"] == "pending" and pending["lines"] == ["** RECOVERED **", "SALE"]
    assert pending["note"] == "NOT PRINTED YET (paper out)"
    assert lookup.show(store, "R2")["receipt"] == {
        "state": "none",
        "note": "no receipt event for this transaction",
        "lines": [],
    }


@pytest.mark.parametrize(
    ("kw", "code", "status"),
    [
        ({"terminal": "pos-nobody"}, "unknown_terminal", 1),
        ({"amount": "12,50"}, "bad_request", 2),
        ({"amount": "-1"}, "bad_request", 2),
        ({"amount": "0"}, "bad_request", 2),
        ({"last4": "119"}, "bad_request", 2),
        ({"last4": "01a9"}, "bad_request", 2),
        ({"since": "yesterday"}, "bad_request", 2),
        ({"until": "2026-13-01"}, "bad_request", 2),
        ({"since": "2026-11-21", "until": "2026-11-20"}, "bad_request", 2),
    ],
)
def test_bad_input_and_unknown_things(
    store: Store, kw: dict[str, str], code: str, status: int
) -> None:
    kw = dict(kw)  # the parameter is shared by the SQLite and the PostgreSQL run
    with pytest.raises(lookup.LookupFailed) as err:
        lookup.find(store, kw.pop("terminal", "pos-a"), **kw)
    assert (err.value.code, err.value.status) == (code, status)
    with pytest.raises(lookup.LookupFailed) as err:
        lookup.show(store, "TNOSUCH")
    assert (err.value.code, err.value.status) == ("unknown_txn", 1)


def test_cli_exit_codes_and_json(
    store: Store,
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "host.toml"
    config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n[store]\nurl = "{store_url}"\n'
    )

    def run(*args: str) -> tuple[int, str]:
        code = cli.main(["--config", str(config), *args])
        return code, capsys.readouterr().out

    code, out = run("receipts", "show", "TNOSUCH", "--json")
    assert code == 65 and '"code": "unknown_txn"' in out and '"ok": false' in out
    assert run("receipts", "find", "--terminal", "pos-nobody", "--json")[0] == 65
    assert run("receipts", "find", "--terminal", "pos-a", "--last4", "12")[0] == 65
    assert run("receipts", "find", "--terminal", "pos-a", "--from", "x", "--json")[0] == 65
    code, out = run("receipts", "find", "--json")  # the whole fleet's: not by accident
    assert code == 65 and '"code": "bad_request"' in out and "--last4" in out
    code, out = run("receipts", "find", "--last4", "0119", "--json")
    assert code == 0 and [(t["terminal"], t["txn_id"]) for t in json.loads(out)] == [
        ("pos-b", "S9"),
        ("pos-a", "S1"),
        ("pos-a", "R1"),
        ("pos-a", "R2"),
    ]
    code, out = run("receipts", "find", "--amount", "100")
    assert code == 0 and "TERMINAL" in out and "pos-b" in out and "S9" in out
    monkeypatch.setattr(lookup, "FIND_LIMIT", 2)
    code = cli.main(["--config", str(config), "receipts", "find", "--last4", "0119", "--json"])
    printed = capsys.readouterr()
    assert [t["txn_id"] for t in json.loads(printed.out)] == ["R1", "R2"]  # the newest two
    assert "first 2 shown (the newest): narrow the search" in printed.err
    code = cli.main(
        ["--config", str(config), "receipts", "find", "--last4", "0119", "--limit", "3", "--json"]
    )
    printed = capsys.readouterr()
    shown = [t["txn_id"] for t in json.loads(printed.out)]
    assert code == 0 and shown == ["S1", "R1", "R2"] and "first 3 shown" in printed.err
    for bad in ("0", "-1", "x", "1000001"):
        with pytest.raises(SystemExit) as exited:
            cli.main(
                ["--config", str(config), "receipts", "find", "--last4", "0119", "--limit", bad]
            )
        assert exited.value.code == 64
    capsys.readouterr()
    code, out = run("receipts", "show", "S2")
    assert code == 0 and "NOT PRINTED YET" in out and "| SALE" in out
    code, out = run("refunds", "--pending")
    assert code == 0 and "R8" in out and "R1" not in out and "=" not in out
    code, out = run("refunds", "--stats")
    assert code == 0 and out.splitlines()[-1].startswith("fleet")


@pytest.mark.slow
def test_a_printed_sale_and_an_approved_refund_through_the_real_host(
    rig: Rig,
    host: Host,
) -> None:
    code, sale = rig.cli("sale", "90.00")
    assert code == 0
    code, refund = rig.cli("refund", sale["txn_id"], "70.00", "--reason", "goods_returned")
    assert refund["state"] == "awaiting_approval"
    wait_for(lambda: unacked(rig) == 0, "the sale, its receipt and the request at the host")
    code, reply = host.cli("approve", refund["txn_id"], "--by", "alice", "--json")
    assert code == 0 and reply["ok"], reply
    wait_for(
        lambda: (
            unacked(rig) == 0
            and any(
                e["type"] == "receipt.printed" and e["data"]["txn_id"] == refund["txn_id"]
                for e in rig.events()
            )
        ),
        "the refund's completion and receipt at the host",
    )
    code, found = host.cli("receipts", "find", "--terminal", TID, "--last4", "0119", "--json")
    assert code == 0, found
    by_id = {t["txn_id"]: t for t in found}
    assert set(by_id) == {sale["txn_id"], refund["txn_id"]}
    lines = by_id[sale["txn_id"]]["receipt"]["lines"]
    assert by_id[sale["txn_id"]]["receipt"]["state"] == "printed"
    assert any(line.endswith("90.00 EUR") for line in lines), lines
    assert any("0119" in line for line in lines) and "CUSTOMER COPY" in lines[-1], lines
    assert "Customer signature" in by_id[refund["txn_id"]]["receipt"]["lines"]
    code, stats = host.cli("refunds", "--stats", "--json")
    assert code == 0 and stats["terminals"][TID]["over_limit"] == 1
    assert stats["fleet"]["completed"] == 1 and stats["fleet"]["median_s"] >= 0
    code, refunds = host.cli("refunds", "--json")
    (row,) = refunds
    assert row["approved_by"] == "host (alice)"  # as the terminal records it
    assert row["sale"] == sale["txn_id"] and row["reason"] == "goods_returned"
    assert row["request_to_approval_s"] >= 0 and row["request_to_completion_s"] >= 0
    code, shown = host.cli("receipts", "show", sale["txn_id"])
    assert code == 0 and "0119" in shown
