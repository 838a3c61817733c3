"""The GPIO panel driving the real terminal (in this process, gpiozero's MockFactory for
the pins; the PT and printer simulators as processes): the supervisor key approves a
waiting refund, the reprint button reprints, LEDs follow the mode."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from posterm.daemon.config import PanelSection, load_config
from posterm.daemon.devices.panel import PanelLink
from posterm.daemon.devices.printer import ReceiptPrinter
from posterm.daemon.journal.store import Journal
from posterm.daemon.terminal import Terminal
from posterm.drivers.zvt.client import PaymentTerminal
from posterm.drivers.zvt.port import ZvtPort
from tests.support import money_rules
from tests.support.rig import Rig, make_rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Rig, Terminal, MockFactory]]:
    rig = make_rig(tmp_path, link="tcp")
    config = load_config(rig.config)
    factory = MockFactory(pin_class=MockPWMPin)
    panel = PanelLink(PanelSection(enabled=True), pin_factory=factory)
    terminal = Terminal(
        config,
        Journal(config.journal.path, config.terminal.id),
        ZvtPort(PaymentTerminal(config.payment.url, t4=20)),
        ReceiptPrinter(config.printer),
        on_mode=lambda mode, reason: panel.show_mode(mode),
        on_signal=panel.signal,
    )
    panel.attach(terminal)
    terminal.start()
    yield rig, terminal, factory
    terminal.stop()
    panel.close()
    factory.reset()
    rig.close()


def _press(factory: MockFactory, pin: int) -> None:
    factory.pin(pin).drive_low()
    factory.pin(pin).drive_high()


def _until(predicate: object, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_supervisor_key_approves_and_cancel_rejects(
    setup: tuple[Rig, Terminal, MockFactory],
) -> None:
    rig, terminal, factory = setup
    pins = PanelSection()
    sale = terminal.sale("200.00")
    first = terminal.refund(sale["txn_id"], "60.00", "wrong_amount")
    assert first["state"] == "awaiting_approval"
    _press(factory, pins.supervisor_pin)
    assert _until(lambda: terminal.journal.get_txn(first["txn_id"]).state == "approved")
    second = terminal.refund(sale["txn_id"], "70.00", "wrong_amount")
    _press(factory, pins.cancel_pin)
    assert _until(lambda: terminal.journal.get_txn(second["txn_id"]).state == "rejected")
    approvals = [e for e in rig.events() if e["type"] == "refund.approved"]
    assert approvals[0]["data"]["by"] == "panel supervisor key"
    assert [(e["kind"], e["amount"]) for e in rig.ledger()] == [
        ("payment", 20000),
        ("refund", 6000),
    ]
    money_rules.check(rig)


def test_reprint_button_and_leds(setup: tuple[Rig, Terminal, MockFactory]) -> None:
    rig, terminal, factory = setup
    pins = PanelSection()
    sale = terminal.sale("9.99")
    assert factory.pin(pins.ready_led_pin).state and not factory.pin(pins.fault_led_pin).state
    _press(factory, pins.reprint_pin)
    assert _until(lambda: len(money_rules.receipts_for(rig, sale["txn_id"])) == 2)
    assert "** DUPLICATE **" in money_rules.receipts_for(rig, sale["txn_id"])[1]
    rig.pt.stop()  # the PT goes away: the next sale fails, the fault LED lights
    with pytest.raises(Exception, match=r"in doubt|unreachable"):
        terminal.sale("1.00")
    assert factory.pin(pins.fault_led_pin).state and not factory.pin(pins.ready_led_pin).state
