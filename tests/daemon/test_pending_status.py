"""A pending receipt printed later asks the printer for its status once before the job,
not twice: `print_pending` leaves the check before the job to the driver (which refuses to
print unless the printer is ready) instead of asking first itself. Counted by the printer
simulator (a real process on TCP), which tallies every DLE EOT it is asked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from posterm.daemon.config import Config, load_config
from posterm.daemon.devices.printer import ReceiptPrinter
from posterm.daemon.flows import receipts, sale
from posterm.daemon.flows.context import FlowContext, ModeCell
from posterm.daemon.journal.store import Journal
from posterm.daemon.states import Mode
from posterm.drivers.payment.fake import FakePort
from posterm.drivers.printer import printer as driver
from tests.support.sim import PrinterSim, start_printer

pytestmark = pytest.mark.slow  # the printer simulator is a process (tests/support/tiers.py)

QUERY = 3  # DLE EOT 1, 2 and 4: one status query of the driver
CONFIG = """
[terminal]
id = "pos-pending"
currency = "EUR"
merchant_name = "Test Shop"

[journal]
path = "{tmp}/journal.db"

[payment]
protocol = "fake"
url = "fake://"

[printer]
url = "{printer}"
boot_slip = false

[system]
update_lock = "{tmp}/update.lock"

[control]
socket = "{tmp}/control.sock"
"""


@pytest.fixture
def psim(tmp_path: Path) -> Iterator[PrinterSim]:
    sim = start_printer(tmp_path)
    yield sim
    sim.stop()


def _config(tmp_path: Path, psim: PrinterSim) -> Config:
    path = tmp_path / "posterm.toml"
    path.write_text(CONFIG.format(tmp=tmp_path, printer=psim.url), encoding="utf-8")
    return load_config(path)


def status_requests(psim: PrinterSim) -> int:
    return int(psim.ctl("status")["status_requests"])


def test_a_pending_receipt_costs_one_status_query_before_its_job(
    tmp_path: Path, psim: PrinterSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a sale whose receipt stayed pending (the printer simulator was out of paper)
    and the paper refilled; no DLE EOT polls while the job prints (a long poll interval)
    WHEN the pending receipts are printed
    THEN the receipt comes out marked RECOVERED and is journaled printed, and the printer
    was asked for its status twice in all: once before the job, once after the cut (the
    old code asked three times: a readiness check, then the driver's own before the job)."""
    monkeypatch.setattr(driver, "POLL_INTERVAL", 600.0)
    config = _config(tmp_path, psim)
    printer = ReceiptPrinter(config.printer)
    with closing(Journal(config.journal.path, config.terminal.id)) as journal:
        pt = FakePort()
        pt.connect()
        ctx = FlowContext(config, journal, pt, printer, ModeCell(Mode.READY, "ready"))
        psim.ctl("paper-out")
        sold = sale.sale(ctx, "12.50")
        assert (sold["state"], sold["receipt_state"]) == ("approved", "pending")
        psim.ctl("refill")
        before = status_requests(psim)

        assert receipts.print_pending(ctx) == 1

        assert status_requests(psim) - before == 2 * QUERY
        assert [r.state for r in journal.receipts_of(sold["txn_id"])] == ["printed"]
        (text,) = psim.printed()
        assert "RECOVERED" in text and "12.50" in text
    printer.close()
