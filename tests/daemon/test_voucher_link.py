"""The refund voucher's status link (issue 24) through the flows, on a `FlowContext` with
the fake PT and a recording printer: the customer's copy carries the link as its QR code,
the merchant's the transaction id; a reprint and a recovered voucher carry the same link;
a sale carries none; without [refund_link] vouchers are as before. The real postermd and
printer simulator, with the QR code read from the paper: tests/terminal/test_refund_qr.py."""

from __future__ import annotations

import os
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from posterm.daemon.config import Config, load_config
from posterm.daemon.devices.printer import build
from posterm.daemon.flows import receipts, refund, reprint, sale
from posterm.daemon.flows.context import FlowContext, ModeCell
from posterm.daemon.journal.store import Journal
from posterm.daemon.states import Mode
from posterm.drivers.payment.fake import FakePort
from posterm.protocol import refundlink
from tests.daemon.test_flow_context import CONFIG, PaperTray

MASTER = bytes(range(32))
BASE = "https://refunds.shop.test"
# the journal's clock, held still two hours back (inside the refund window)
REQUESTED_S = int(time.time()) // 60 * 60 - 7200
REQUESTED = datetime.fromtimestamp(REQUESTED_S, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def journal_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal stamps every row (`Tx`) at REQUESTED: a link minted from the time of printing
    (not the refund's) would show."""
    monkeypatch.setattr("posterm.daemon.journal.tx.now", lambda: REQUESTED)


def _config(tmp_path: Path, link: bool) -> Config:
    text = CONFIG.format(tmp=tmp_path).replace("boot_slip = false", "merchant_copy = true")
    if link:
        key = tmp_path / "link.key"
        key.write_text(refundlink.terminal_key(MASTER, "pos-ctx").hex())
        os.chmod(key, 0o600)
        text += f'\n[refund_link]\nurl = "{BASE}/"\nkey_file = "{key}"\nlink_days = 30\n'
    path = tmp_path / "posterm.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def _context(config: Config, journal: Journal) -> FlowContext:
    pt = FakePort()
    pt.connect()
    return FlowContext(config, journal, pt, PaperTray(), ModeCell(Mode.READY, "ready"))


def _qr(tray: PaperTray, index: int, columns: int = 42) -> str | None:
    copy, mark, body = tray.printed[index]
    return build(body, copy, mark, columns).qr


def test_the_customers_voucher_links_to_the_refund_and_a_reprint_to_the_same(
    tmp_path: Path, journal_clock: None
) -> None:
    """GIVEN [refund_link] (30 days) and merchant copies WHEN a sale, its refund and a
    reprint of the refund run THEN the sale's receipts carry the sale's id as QR code; the
    refund's customer voucher carries URL/r/TOKEN, the token verifying under the master key
    for this terminal and refund, expiring 30 days after the refund's journaled request;
    its merchant copy the refund's id; the DUPLICATE reprint the very same link."""
    config = _config(tmp_path, link=True)
    with closing(Journal(config.journal.path, config.terminal.id)) as journal:
        ctx = _context(config, journal)
        sold = sale.sale(ctx, "12.50")
        back = refund.request(ctx, sold["txn_id"], "2.50", reason="wrong_card")
        reprint.reprint(ctx, back["txn_id"])
        tray = ctx.printer
        assert isinstance(tray, PaperTray)
        kinds = [(copy, mark, body["txn_id"]) for copy, mark, body in tray.printed]
        assert kinds == [
            ("customer", "original", sold["txn_id"]),
            ("merchant", "original", sold["txn_id"]),
            ("customer", "original", back["txn_id"]),
            ("merchant", "original", back["txn_id"]),
            ("customer", "duplicate", back["txn_id"]),
        ]
        assert [_qr(tray, i) for i in (0, 1, 3)] == [sold["txn_id"], sold["txn_id"], back["txn_id"]]
        link = _qr(tray, 2)
        assert link is not None and link.startswith(f"{BASE}/r/")
        assert journal.txn(back["txn_id"]).created_at == REQUESTED
        claim = refundlink.verify(MASTER, link.removeprefix(f"{BASE}/r/"), now=REQUESTED_S)
        assert (claim.terminal_id, claim.txn_id) == ("pos-ctx", back["txn_id"])
        assert claim.expires == REQUESTED_S + 30 * 86400
        assert _qr(tray, 4) == link


def test_a_voucher_issued_again_carries_the_same_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a refund printed with its link WHEN its receipts are issued again, RECOVERED,
    as start-up does for an approved refund whose receipts were never journaled (a stop
    between approval and receipt; the SIGKILL itself: tests/terminal/test_refund_qr.py)
    THEN the recovered customer voucher carries the same link: it is minted from the
    journaled refund, not from the time of printing."""
    config = _config(tmp_path, link=True)
    with closing(Journal(config.journal.path, config.terminal.id)) as journal:
        ctx = _context(config, journal)
        sold = sale.sale(ctx, "12.50")
        back = refund.request(ctx, sold["txn_id"], "2.50", reason="goods_returned")
        assert isinstance(ctx.printer, PaperTray)
        first = _qr(ctx.printer, 2)
        ctx.printer.printed.clear()
        later = datetime.now(UTC).strftime("%Y-%m-%dT23:59:59.000Z")  # later: the same link
        monkeypatch.setattr("posterm.daemon.journal.tx.now", lambda: later)
        receipts.issue(ctx, back["txn_id"], mark=receipts.RECOVERED)
        copy, mark, _ = ctx.printer.printed[0]
        assert (copy, mark) == ("customer", "recovered") and _qr(ctx.printer, 0) == first


def test_without_refund_link_the_voucher_is_as_before(tmp_path: Path) -> None:
    """GIVEN no [refund_link] WHEN a refund runs THEN its customer voucher's QR code is
    its transaction id and its body has no status link."""
    config = _config(tmp_path, link=False)
    with closing(Journal(config.journal.path, config.terminal.id)) as journal:
        ctx = _context(config, journal)
        assert ctx.links is None
        sold = sale.sale(ctx, "12.50")
        back = refund.request(ctx, sold["txn_id"], "2.50", reason="goods_returned")
        assert isinstance(ctx.printer, PaperTray)
        assert _qr(ctx.printer, 2) == back["txn_id"]
        assert "status_link" not in ctx.printer.printed[2][2]


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_the_link_is_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, level: str
) -> None:
    """GIVEN logging at INFO, then DEBUG WHEN a refund with a status link runs THEN no log
    record holds its token (a bearer link)."""
    caplog.set_level(level)
    config = _config(tmp_path, link=True)
    with closing(Journal(config.journal.path, config.terminal.id)) as journal:
        ctx = _context(config, journal)
        sold = sale.sale(ctx, "12.50")
        refund.request(ctx, sold["txn_id"], "2.50", reason="goods_returned")
        assert isinstance(ctx.printer, PaperTray)
        token = (_qr(ctx.printer, 2) or "").removeprefix(f"{BASE}/r/")
    assert token and caplog.records
    assert not [r for r in caplog.records if token in r.getMessage()]
