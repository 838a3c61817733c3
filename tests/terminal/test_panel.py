"""The GPIO panel with gpiozero's MockFactory: presses reach the queue, LEDs show state."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from posterm.daemon.config import PanelSection
from posterm.drivers.panel.panel import Panel


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    f = MockFactory(pin_class=MockPWMPin)
    yield f
    f.reset()


def test_presses_reach_the_callback_debounced(factory: MockFactory) -> None:
    presses: list[str] = []
    panel = Panel(PanelSection(enabled=True), presses.append, pin_factory=factory, debounce_s=0.2)
    pin = factory.pin(PanelSection().supervisor_pin)
    pin.drive_low()
    pin.drive_high()
    pin.drive_low()  # a bounce within 0.2 s: dropped
    pin.drive_high()
    factory.pin(PanelSection().reprint_pin).drive_low()
    assert presses == ["supervisor", "reprint"]
    panel.close()
    panel.close()  # idempotent


def test_leds_follow_show(factory: MockFactory) -> None:
    cfg = PanelSection(enabled=True)
    panel = Panel(cfg, lambda name: None, pin_factory=factory)
    panel.show(ready=True, busy=False, fault=True, host_online=False)
    assert factory.pin(cfg.ready_led_pin).state
    assert not factory.pin(cfg.busy_led_pin).state
    assert factory.pin(cfg.fault_led_pin).state
    assert not factory.pin(cfg.host_led_pin).state
    panel.close()


def test_beep_is_background_and_ends(factory: MockFactory) -> None:
    cfg = PanelSection(enabled=True)
    panel = Panel(cfg, lambda name: None, pin_factory=factory)
    panel.beep("decline")
    buzzer = factory.pin(cfg.buzzer_pin)
    assert buzzer.state  # still sounding: beep() returned before the pattern ended
    deadline = time.monotonic() + 3
    changes = 0
    last = buzzer.state
    while time.monotonic() < deadline:
        if buzzer.state != last:
            changes += 1
            last = buzzer.state
        time.sleep(0.005)
    assert changes >= 4 and not buzzer.state
    panel.close()


def test_failing_callback_does_not_break_the_panel(factory: MockFactory) -> None:
    calls: list[str] = []

    def boom(name: str) -> None:
        calls.append(name)
        raise RuntimeError("queue full")

    panel = Panel(PanelSection(enabled=True), boom, pin_factory=factory, debounce_s=0)
    pin = factory.pin(PanelSection().confirm_pin)
    for _ in range(2):
        pin.drive_low()
        pin.drive_high()
    assert calls == ["confirm", "confirm"]
    panel.close()
