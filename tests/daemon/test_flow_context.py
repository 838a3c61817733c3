"""The flows run on a `FlowContext` alone (the ports, the config, the mode): built here
without a `Terminal`, its owner thread or a socket, on the fake payment adapter and a
printer that records what it was given."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from posterm.daemon.config import Config, load_config
from posterm.daemon.errors import TerminalError
from posterm.daemon.flows import refund, sale
from posterm.daemon.flows.context import FlowContext, ModeCell
from posterm.daemon.journal.store import Journal
from posterm.daemon.states import Mode
from posterm.drivers.payment.fake import Entry, FakePort

CONFIG = """
[terminal]
id = "pos-ctx"
currency = "EUR"
merchant_name = "Test Shop"

[journal]
path = "{tmp}/journal.db"

[payment]
protocol = "fake"
url = "fake://"

[printer]
url = "tcp://127.0.0.1:9"
boot_slip = false

[system]
update_lock = "{tmp}/update.lock"

[control]
socket = "{tmp}/control.sock"

[refunds]
approval_limit = "50.00"
"""


@dataclass
class PaperTray:
    """A `ReceiptPort` that is always ready and keeps every receipt it is given."""

    printed: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def is_ready(self) -> bool:
        return True

    def last_status_text(self) -> str:
        return "ok"

    def print_receipt(self, body: dict[str, Any], *, copy: str, mark: str) -> None:
        self.printed.append((copy, mark, body))

    def close(self) -> None:
        pass


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "posterm.toml"
    path.write_text(CONFIG.format(tmp=tmp_path), encoding="utf-8")
    return load_config(path)


def _context(config: Config, journal: Journal, signals: list[str]) -> FlowContext:
    pt = FakePort()
    pt.connect()
    return FlowContext(
        config, journal, pt, PaperTray(), ModeCell(Mode.READY, "ready"), signal=signals.append
    )


def test_a_sale_and_its_refund_run_on_a_context_without_a_terminal(
    config: Config, tmp_path: Path
) -> None:
    """GIVEN a FlowContext built from a journal, the fake PT and a recording printer
    (no Terminal), in mode READY
    WHEN the sale flow takes 12.50 and the refund flow gives 2.50 of it back
    THEN both answers say approved with a printed receipt; the journal holds both rows;
    the PT's ledger kept a sale and a refund; the printer got one customer receipt each
    (with the amounts in minor units); the panel heard "approve" twice; READY again."""
    signals: list[str] = []
    with closing(Journal(config.journal.path, config.terminal.id)) as journal:
        ctx = _context(config, journal, signals)
        sold = sale.sale(ctx, "12.50")
        back = refund.request(ctx, sold["txn_id"], "2.50", reason="wrong_amount")

        assert (sold["state"], sold["amount"], sold["receipt_state"]) == (
            "approved",
            "12.50",
            "printed",
        )
        assert (back["state"], back["amount"], back["ref_txn"]) == (
            "approved",
            "2.50",
            sold["txn_id"],
        )
        assert [journal.txn(t).state for t in (sold["txn_id"], back["txn_id"])] == [
            "approved",
            "approved",
        ]
        assert isinstance(ctx.pt, FakePort)
        assert ctx.pt.ledger == [Entry("sale", 1250, 1, 1, 1), Entry("refund", 250, 2, 2, 1)]
        assert isinstance(ctx.printer, PaperTray)
        assert [(c, m, b["txn_id"], b["amount"]) for c, m, b in ctx.printer.printed] == [
            ("customer", "original", sold["txn_id"], 1250),
            ("customer", "original", back["txn_id"], 250),
        ]
        assert signals == ["approve", "approve"]
        assert ctx.mode.mode == Mode.READY


def test_a_context_not_ready_refuses_a_sale_and_journals_nothing(config: Config) -> None:
    """GIVEN a FlowContext whose mode is PT_DOWN
    WHEN the sale flow is asked for 5.00
    THEN it refuses with `not_ready` naming the reason, the journal has no transaction,
    the PT's ledger is empty and nothing is printed."""
    with closing(Journal(config.journal.path, config.terminal.id)) as journal:
        ctx = _context(config, journal, [])
        ctx.mode.set(Mode.PT_DOWN, "payment terminal unreachable: cable")
        with pytest.raises(TerminalError) as caught:
            sale.sale(ctx, "5.00")
        assert caught.value.code == "not_ready"
        assert "cable" in caught.value.message
        assert journal.list_txns(10) == []
        assert isinstance(ctx.pt, FakePort) and ctx.pt.ledger == []
        assert isinstance(ctx.printer, PaperTray) and ctx.printer.printed == []
