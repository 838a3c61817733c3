"""`posterm zvt` (installers, support) and `posterm-sim ledger`, as real processes."""

from __future__ import annotations

import json
import subprocess

import pytest

from posterm.drivers.zvt.client import PaymentTerminal
from posterm.protocol.zvt.apdu import Apdu
from tests.support.sim import BIN, PtSim

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def _zvt(url: str, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    proc = subprocess.run(
        [str(BIN / "posterm"), "zvt", "--pt", url, "--json", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return proc.returncode, json.loads(proc.stdout)


def test_sale_repeat_reverse_eod_with_json(link: str, sim: PtSim) -> None:
    code, sale = _zvt(link, "sale", "10.10")
    assert code == 0 and sale["approved"] is True and sale["result_code"] == 0
    assert sale["amount"] == "10.10" and sale["currency"] == "EUR"
    assert sale["masked_pan"] == "476173******0119" and sale["trace"] == 1
    assert "CUSTOMER COPY" in sale["receipt_lines"]
    code, again = _zvt(link, "repeat")
    assert code == 0 and again["receipt_no"] == sale["receipt_no"]
    code, rev = _zvt(link, "reverse", str(sale["receipt_no"]))
    assert code == 0 and rev["amount"] == "10.10"
    code, eod = _zvt(link, "eod")
    assert code == 0 and eod["totals"] is not None
    code, status = _zvt(link, "status")
    assert code == 0 and status["terminal_status_text"] == "PT ready"


def test_declined_and_bad_input_exit_codes(link: str, sim: PtSim) -> None:
    code, declined = _zvt(link, "sale", "10.51")
    assert code == 1 and declined["approved"] is False and declined["result_code"] == 0x33
    for bad in ("-1", "1.234", "0", "1e3", "abc"):
        code, error = _zvt(link, "sale", bad)
        assert code == 65 and "AmountError" in error["error"], bad
    code, error = _zvt(link, "reverse", "x")
    assert code == 65
    assert sim.entries() == []


def test_ledger_command_prints_the_ledger(sim: PtSim) -> None:
    assert sim.tcp_url
    _zvt(sim.tcp_url, "sale", "3.00")
    proc = subprocess.run(
        [str(BIN / "posterm-sim"), "ledger", str(sim.ledger), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    ledger = json.loads(proc.stdout)
    assert [(e["amount"], e["state"], e["batch"]) for e in ledger["entries"]] == [
        (300, "booked", 1)
    ]
    assert ledger["batches"][0]["closed_at"] is None


def test_unsupported_command_gets_84_83(sim: PtSim) -> None:
    """GIVEN a command the PT does not know WHEN sent THEN it answers 84 83 00."""
    assert sim.tcp_url
    with PaymentTerminal(sim.tcp_url) as pt:
        link = pt._link()
        link.send(Apdu(0x06, 0x99, b""))
        reply = link.receive(5)
    assert (reply.cls, reply.instr) == (0x84, 0x83)
