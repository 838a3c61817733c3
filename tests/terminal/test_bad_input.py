"""Bad input through the control API: a clear error, and nothing changes in the journal,
the ledger or the outbox."""

from __future__ import annotations

import json
import socket

import pytest

from posterm.protocol import clitext
from posterm.protocol.clitext import EX_DATAERR
from tests.support.rig import Rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def _snapshot(rig: Rig) -> tuple[object, ...]:
    return (rig.txns(), rig.ledger(), rig.events(), rig.printer.printed())


@pytest.mark.parametrize(
    ("amount", "why"),
    [
        ("", "not an amount"),
        ("-1", "not an amount"),
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("1.234", "more than 2 decimals"),
        ("1e3", "not an amount"),
        ("1,50", "not an amount"),
        (" 1", "not an amount"),
        ("٣", "not an amount"),
        ("500.01", "over the limit"),
    ],
)
def test_bad_sale_amounts(rig: Rig, amount: str, why: str) -> None:
    rig.start()
    before = _snapshot(rig)
    code, error = rig.cli("sale", amount)
    assert code == EX_DATAERR and error["code"] == "bad_amount" and why in error["error"]
    assert _snapshot(rig) == before


def test_every_bad_request_changes_nothing(rig: Rig) -> None:
    rig.start()
    code, sale = rig.cli("sale", "20.00", "--key", "order-1")
    assert code == 0
    before = _snapshot(rig)
    cases = [
        (("refund", "TNOSUCHTXN", "1.00"), "unknown_txn"),
        (("void", "TNOSUCHTXN"), "unknown_txn"),
        (("reprint", "TNOSUCHTXN"), "unknown_txn"),
        (("refund", sale["txn_id"], "20.01"), "over_refund"),
        (("refund", sale["txn_id"], "0"), "bad_amount"),
        (("refund", sale["txn_id"], "1.00", "--reason", "other"), "bad_request"),
        (("sale", "21.00", "--key", "order-1"), "key_conflict"),
        (("approve", sale["txn_id"]), "unknown_txn"),
        (("reject", "TNOSUCHTXN"), "unknown_txn"),
        (("abort",), "not_allowed"),
        (("resolve", sale["txn_id"], "charged", "--by", "alice"), "not_in_doubt"),
        (("resolve", "TNOSUCHTXN", "not-charged", "--by", "alice"), "unknown_txn"),
        # card data the journal refuses to store: a refusal, not a fault
        (
            (
                "refund",
                sale["txn_id"],
                "1.00",
                "--reason",
                "other",
                "--text",
                "card 4761739001010119",
            ),
            "bad_request",
        ),
        (("sale", "1.00", "--key", "4761739001010119"), "bad_request"),
        (("refund", sale["txn_id"], "1.00", "--key", ";4761739001010119=2512101?"), "bad_request"),
    ]
    for args, want in cases:
        code, error = rig.cli(*args)
        assert (code, error.get("code")) == (clitext.exit_code(want), want), (args, error)
    assert _snapshot(rig) == before
    assert rig.cli("status")[1]["state"] == "ready"


def test_approve_of_a_refund_that_is_not_waiting(rig: Rig) -> None:
    rig.start()
    _, sale = rig.cli("sale", "20.00")
    _, refund = rig.cli("refund", sale["txn_id"], "5.00")
    before = _snapshot(rig)
    code, error = rig.cli("approve", refund["txn_id"])
    assert code == 1 and error["code"] == "not_awaiting"
    assert _snapshot(rig) == before


def test_malformed_socket_requests(rig: Rig) -> None:
    rig.start()
    before = _snapshot(rig)
    lines = [
        b"not json\n",
        b"[1, 2]\n",
        b'{"cmd": "sale"}\n',
        b'{"cmd": "sale", "amount": 12.5}\n',
        b'{"cmd": "launch"}\n',
        b'{"cmd": "journal", "limit": "all"}\n',
        b'{"cmd": "sale", "amount": "1.00", "key": ""}\n',
        b'{"cmd": "resolve", "txn": "T1", "outcome": "maybe", "by": "a"}\n',
        b'{"cmd": "resolve", "txn": "T1", "outcome": "charged"}\n',
        b"x" * 70000 + b"\n",
    ]
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(rig.socket))
        stream = sock.makefile("rb")
        for line in lines:
            sock.sendall(line)
            reply = json.loads(stream.readline())
            assert reply["ok"] is False and reply["error"], (line[:40], reply)
    assert _snapshot(rig) == before


def test_cli_without_daemon_says_so(rig: Rig) -> None:
    code, error = rig.cli("status")
    assert code == 3 and "not running" in error["error"]
