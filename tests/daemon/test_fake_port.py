"""The real terminal and flows in this process on the fake payment adapter (no simulator
process, no bytes to a PT) and the printer simulator's server on a thread: a sale, a
refund and a void through the neutral payment port, checked in the journal, the fake's
ledger and the printed receipts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from posterm.daemon.config import load_config
from posterm.daemon.devices.printer import ReceiptPrinter
from posterm.daemon.errors import TerminalError
from posterm.daemon.journal.store import Journal
from posterm.daemon.main import payment_options
from posterm.daemon.terminal import Terminal
from posterm.drivers.payment import registry
from posterm.drivers.payment.errors import PaymentCommitFailed
from posterm.drivers.payment.fake import Entry, FakePort
from posterm.hwsim.printer.device import SimPrinter
from posterm.hwsim.printer.paper import PaperOut
from posterm.hwsim.printer.server import PrinterServer

CONFIG = """
[terminal]
id = "pos-fake"
currency = "EUR"
merchant_name = "Test Shop"

[journal]
path = "{tmp}/journal.db"

[payment]
protocol = "fake"
url = "fake://"

[printer]
url = "tcp://127.0.0.1:{printer_port}"
timeout_s = 2
boot_slip = false

[system]
update_lock = "{tmp}/update.lock"

[control]
socket = "{tmp}/control.sock"

[refunds]
approval_limit = "50.00"
"""


@dataclass
class Till:
    terminal: Terminal
    pt: FakePort
    paper: Path

    def printed(self) -> list[str]:
        return [p.read_text(encoding="utf-8") for p in sorted(self.paper.glob("*.txt"))]


def _until(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def till(tmp_path: Path) -> Iterator[Till]:
    paper = tmp_path / "paper"
    server = PrinterServer(SimPrinter(PaperOut(paper)))
    port = server.listen_tcp("127.0.0.1", 0)
    path = tmp_path / "posterm.toml"
    path.write_text(CONFIG.format(tmp=tmp_path, printer_port=port), encoding="utf-8")
    config = load_config(path)
    pt = registry.open_port(config.payment.protocol, payment_options(config))
    assert isinstance(pt, FakePort)  # the registry line chose the fake adapter
    terminal = Terminal(
        config,
        Journal(config.journal.path, config.terminal.id),
        pt,
        ReceiptPrinter(config.printer),
    )
    terminal.start()
    yield Till(terminal, pt, paper)
    terminal.stop()
    terminal.printer.close()
    terminal.journal.close()
    server.stop()


def test_sale_refund_and_void_run_through_the_port(till: Till) -> None:
    """GIVEN the terminal on the fake payment adapter, started (connected, nothing in doubt)
    WHEN a sale of 20.00 is refunded 5.00, and a sale of 7.00 is voided
    THEN the journal holds each operation approved with the adapter's receipt number and
    the sale voided; the fake's ledger kept a sale, a refund, a sale (reversed) and its
    reversal, once each; the outbox tells the host; each has its customer receipt."""
    terminal, pt = till.terminal, till.pt
    assert pt.connected and terminal.mode.mode == "ready"
    first = terminal.sale("20.00")
    refund = terminal.refund(first["txn_id"], "5.00", "wrong_amount")
    second = terminal.sale("7.00")
    void = terminal.void(second["txn_id"])

    journal = terminal.journal
    states = {
        t: journal.txn(t).state
        for t in (first["txn_id"], refund["txn_id"], second["txn_id"], void["txn_id"])
    }
    assert list(states.values()) == ["approved", "approved", "voided", "approved"]
    assert [journal.txn(t).receipt_no for t in states] == [1, 2, 3, 4]
    assert journal.txn(first["txn_id"]).masked_pan == "476173******0119"
    assert pt.ledger == [
        Entry("sale", 2000, 1, 1, 1),
        Entry("refund", 500, 2, 2, 1),
        Entry("sale", 700, 3, 3, 1, reversed=True),
        Entry("reversal", 700, 4, 4, 1, ref_receipt_no=3),
    ]
    types = [e["type"] for e in journal.outbox()]
    for kind in ("sale.approved", "refund.completed", "void.completed"):
        assert kind in types
    assert all(v["receipt_state"] == "printed" for v in (first, refund, second, void))
    assert _until(lambda: all(any(f"[QR: {t}]" in page for page in till.printed()) for t in states))


def test_a_decline_moves_no_money_and_prints_nothing(till: Till) -> None:
    """GIVEN the fake adapter, which declines an amount ending in .51
    WHEN a sale of 10.51 is asked for
    THEN the answer is `declined` with the adapter's text, the journal says declined with
    its result code, the ledger stays empty and no receipt is printed for it."""
    with pytest.raises(TerminalError) as caught:
        till.terminal.sale("10.51")
    assert caught.value.code == "declined"
    txn = till.terminal.journal.txn(str(caught.value.details["txn_id"]))
    assert (txn.state, txn.result_code, txn.result_text) == ("declined", 0x33, "insufficient funds")
    assert till.pt.ledger == []
    assert till.terminal.journal.receipts_of(txn.txn_id) == []


def test_a_failed_journal_commit_leaves_nothing_on_the_card(till: Till) -> None:
    """GIVEN the fake adapter WHEN the commit hook of a sale raises (the journal cannot
    write) THEN the adapter keeps nothing (money rule 2) and says so with
    PaymentCommitFailed, the hook's error as its cause."""

    def hook(result: object) -> None:
        raise OSError("disk full")

    with pytest.raises(PaymentCommitFailed) as caught:
        till.pt.sale(1200, on_commit=hook)
    assert isinstance(caught.value.__cause__, OSError)
    assert till.pt.ledger == []
    assert till.pt.last_result() is None
