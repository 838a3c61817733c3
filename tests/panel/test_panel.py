"""The GPIO panel on gpiozero's MockFactory: driven pins become presses, show() sets LED
pins, beep() runs in the background, close() frees every pin."""

from __future__ import annotations

import itertools
import time
import types
from collections.abc import Iterator

import msgspec
import pytest
from gpiozero import LED, Button, Device
from gpiozero.pins.mock import MockFactory, MockPin

from posterm.daemon.config import PanelSection
from posterm.drivers.panel import panel as panel_module
from posterm.drivers.panel.panel import BUTTONS, Panel, PanelError

PINS = PanelSection(enabled=True)


class Clock:
    """A clock the test moves by hand: debounce without real time in the verdict."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    f = MockFactory()
    yield f
    f.reset()


def press(factory: MockFactory, pin: int) -> None:
    mock: MockPin = factory.pin(pin)
    mock.drive_low()
    mock.drive_high()


def wait_for(condition: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_given_each_button_pressed_then_on_press_gets_its_name(factory: MockFactory) -> None:
    presses: list[str] = []
    panel = Panel(PINS, presses.append, pin_factory=factory)
    for name in BUTTONS:
        press(factory, getattr(PINS, f"{name}_pin"))
    assert presses == ["confirm", "cancel", "reprint", "supervisor"]
    panel.close()


def test_a_release_alone_is_no_press(factory: MockFactory) -> None:
    presses: list[str] = []
    panel = Panel(PINS, presses.append, pin_factory=factory)
    factory.pin(PINS.confirm_pin).drive_high()  # idle level: nothing
    factory.pin(PINS.confirm_pin).drive_low()
    assert presses == ["confirm"]
    factory.pin(PINS.confirm_pin).drive_high()  # release
    assert presses == ["confirm"]
    panel.close()


def test_given_bounces_within_the_debounce_time_then_one_press(factory: MockFactory) -> None:
    """GIVEN a contact that bounces (low-high-low-high within 50 ms) WHEN pressed THEN one
    press; a press after the debounce time is a new press; buttons debounce apart."""
    clock = Clock()
    presses: list[str] = []
    panel = Panel(PINS, presses.append, pin_factory=factory, debounce_s=0.05, clock=clock)
    press(factory, PINS.reprint_pin)
    clock.now += 0.01
    press(factory, PINS.reprint_pin)  # bounce
    clock.now += 0.03
    press(factory, PINS.reprint_pin)  # still within 50 ms of the accepted press
    press(factory, PINS.cancel_pin)  # another button is not held back
    clock.now += 0.02
    press(factory, PINS.reprint_pin)  # 60 ms after the accepted press: a new press
    assert presses == ["reprint", "cancel", "reprint"]
    panel.close()


def test_given_a_failing_callback_then_later_presses_still_arrive(
    factory: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def on_press(name: str) -> None:
        calls.append(name)
        if len(calls) == 1:
            raise RuntimeError("queue full")

    panel = Panel(PINS, on_press, pin_factory=factory, debounce_s=0)
    press(factory, PINS.supervisor_pin)
    press(factory, PINS.supervisor_pin)
    assert calls == ["supervisor", "supervisor"]
    assert "supervisor press handler failed" in caplog.text
    panel.close()


@pytest.mark.parametrize("states", list(itertools.product((False, True), repeat=4)))
def test_show_sets_the_four_led_pins(
    factory: MockFactory, states: tuple[bool, bool, bool, bool]
) -> None:
    panel = Panel(PINS, lambda name: None, pin_factory=factory)
    ready, busy, fault, host = states
    panel.show(ready=not ready, busy=not busy, fault=not fault, host_online=not host)
    panel.show(ready=ready, busy=busy, fault=fault, host_online=host)
    leds = (PINS.ready_led_pin, PINS.busy_led_pin, PINS.fault_led_pin, PINS.host_led_pin)
    got = tuple(bool(factory.pin(p).state) for p in leds)
    assert got == states
    panel.close()


@pytest.mark.parametrize(("pattern", "beeps"), [("approve", 1), ("decline", 3)])
def test_a_beep_pattern_plays_its_beeps_and_ends_silent(
    factory: MockFactory, pattern: str, beeps: int
) -> None:
    panel = Panel(PINS, lambda name: None, pin_factory=factory)
    buzzer: MockPin = factory.pin(PINS.buzzer_pin)
    buzzer.clear_states()
    panel.beep(pattern)
    expected = [True, False] * beeps
    assert wait_for(lambda: [s.state for s in buzzer.states[1:]] == expected)
    assert not buzzer.state
    panel.close()


def test_beep_returns_while_the_pattern_still_sounds(
    factory: MockFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a pattern lasting minutes WHEN beep() THEN it returns with the buzzer on (a
    blocking beep would hold the test for 3 minutes), and close() silences it."""
    monkeypatch.setitem(panel_module.BEEPS, "decline", (60.0, 60.0, 2))
    panel = Panel(PINS, lambda name: None, pin_factory=factory)
    panel.beep("decline")
    assert wait_for(lambda: factory.pin(PINS.buzzer_pin).state)
    panel.close()
    assert not factory.pin(PINS.buzzer_pin).state


def test_an_unknown_beep_is_refused(factory: MockFactory) -> None:
    panel = Panel(PINS, lambda name: None, pin_factory=factory)
    buzzer: MockPin = factory.pin(PINS.buzzer_pin)
    buzzer.clear_states()
    with pytest.raises(PanelError, match="unknown beep 'party'"):
        panel.beep("party")
    assert [s.state for s in buzzer.states] == [False]
    panel.close()


def test_close_is_idempotent_frees_the_pins_and_silences_the_panel(
    factory: MockFactory,
) -> None:
    presses: list[str] = []
    panel = Panel(PINS, presses.append, pin_factory=factory)
    panel.show(ready=True, busy=True, fault=True, host_online=True)
    panel.close()
    panel.close()
    panel.show(ready=True, busy=False, fault=False, host_online=False)  # no-op, no error
    panel.beep("approve")
    again = Panel(PINS, presses.append, pin_factory=factory)  # every pin is free again
    press(factory, PINS.confirm_pin)
    assert presses == ["confirm"]
    again.close()


def test_given_a_pin_in_use_then_panel_error_and_nothing_held(factory: MockFactory) -> None:
    """GIVEN the fault LED's pin already taken WHEN the panel starts THEN PanelError names
    it, and the buttons it had already claimed are released."""
    blocker = LED(PINS.fault_led_pin, pin_factory=factory)
    with pytest.raises(PanelError, match="in use"):
        Panel(PINS, lambda name: None, pin_factory=factory)
    buttons = [Button(getattr(PINS, f"{n}_pin"), pin_factory=factory) for n in BUTTONS]
    for device in [*buttons, blocker]:
        device.close()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"buzzer_pin": 40}, "buzzer_pin must be a BCM GPIO number 0-27, not 40"),
        ({"reprint_pin": None}, "reprint_pin must be"),
        ({"ready_led_pin": True}, "ready_led_pin must be"),
        ({"cancel_pin": 5}, "in use"),  # same pin as confirm
    ],
)
def test_given_bad_pins_then_panel_error_and_nothing_held(
    factory: MockFactory, change: dict[str, object], why: str
) -> None:
    # the driver's own check: pins that did not come through the config's (a Struct
    # built directly still runs its cross-key rule)
    pins = types.SimpleNamespace(**{**msgspec.structs.asdict(PINS), **change})
    with pytest.raises(PanelError, match=why):
        Panel(pins, lambda name: None, pin_factory=factory)
    Panel(PINS, lambda name: None, pin_factory=factory).close()  # nothing left claimed


def test_a_negative_debounce_is_refused(factory: MockFactory) -> None:
    with pytest.raises(PanelError, match="negative"):
        Panel(PINS, lambda name: None, pin_factory=factory, debounce_s=-1)


def test_the_default_pin_factory_is_used_without_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN `Device.pin_factory = MockFactory()` (as on a bench without a Pi) WHEN the
    panel is made without pin_factory THEN it drives that factory's pins."""
    factory = MockFactory()
    monkeypatch.setattr(Device, "pin_factory", factory)
    presses: list[str] = []
    panel = Panel(PINS, presses.append)
    press(factory, PINS.cancel_pin)
    panel.show(ready=False, busy=False, fault=False, host_online=True)
    assert presses == ["cancel"] and factory.pin(PINS.host_led_pin).state
    panel.close()
    factory.reset()
