"""The GPIO front panel (gpiozero): four buttons, four LEDs and a buzzer, nothing else.

Button callbacks run on gpiozero's threads and only call `on_press(name)`: the daemon puts
the press on its queue; the panel never touches terminal state. gpiozero's mock pins do
not simulate `bounce_time`, so the debounce is done here: after an accepted press of a
button, further presses of it within `debounce_s` are dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from gpiozero import LED, Button, Buzzer, GPIODevice
from gpiozero.exc import GPIOZeroError

log = logging.getLogger("posterm.panel")

BUTTONS = ("confirm", "cancel", "reprint", "supervisor")
LEDS = ("ready", "busy", "fault", "host")
# pattern -> (seconds on, seconds off, beeps)
BEEPS: dict[str, tuple[float, float, int]] = {
    "approve": (0.08, 0.08, 1),
    "decline": (0.15, 0.10, 3),
}


class PanelPins(Protocol):
    """The BCM pin numbers the panel needs (`config.PanelSection` has them)."""

    @property
    def confirm_pin(self) -> int: ...
    @property
    def cancel_pin(self) -> int: ...
    @property
    def reprint_pin(self) -> int: ...
    @property
    def supervisor_pin(self) -> int: ...
    @property
    def ready_led_pin(self) -> int: ...
    @property
    def busy_led_pin(self) -> int: ...
    @property
    def fault_led_pin(self) -> int: ...
    @property
    def host_led_pin(self) -> int: ...
    @property
    def buzzer_pin(self) -> int: ...


class PanelError(ValueError):
    """The panel cannot be set up (pin busy, not a GPIO) or was asked for something unknown."""


class Panel:
    """Buttons to ground (internal pull-ups), LEDs and buzzer active high."""

    def __init__(
        self,
        config: PanelPins,
        on_press: Callable[[str], None],
        pin_factory: Any = None,
        debounce_s: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if debounce_s < 0:
            raise PanelError(f"debounce_s cannot be negative ({debounce_s})")
        self._on_press = on_press
        self._debounce = debounce_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.buttons: dict[str, Button] = {}
        self.leds: dict[str, LED] = {}
        self.buzzer: Buzzer | None = None
        kw = {"pin_factory": pin_factory} if pin_factory is not None else {}
        try:
            for name in BUTTONS:
                self.buttons[name] = Button(_pin(config, f"{name}_pin"), pull_up=True, **kw)
            for name in LEDS:
                self.leds[name] = LED(_pin(config, f"{name}_led_pin"), **kw)
            self.buzzer = Buzzer(_pin(config, "buzzer_pin"), **kw)
        except (GPIOZeroError, PanelError) as exc:
            self.close()  # release the pins already taken: a failed start leaves nothing
            raise PanelError(f"panel: {exc}") from exc
        for name, button in self.buttons.items():
            button.when_pressed = self._handler(name)

    def _handler(self, name: str) -> Callable[[], None]:
        def pressed() -> None:
            now = self._clock()
            with self._lock:
                if self._closed:
                    return
                last = self._last.get(name)
                if last is not None and now - last < self._debounce:
                    return
                self._last[name] = now
            try:
                self._on_press(name)
            except Exception:  # a callback error must not kill gpiozero's thread
                log.exception("panel: %s press handler failed", name)

        return pressed

    def show(self, *, ready: bool, busy: bool, fault: bool, host_online: bool) -> None:
        """Set the four LEDs (a no-op once closed)."""
        with self._lock:
            if self._closed:
                return
            for name, on in (
                ("ready", ready),
                ("busy", busy),
                ("fault", fault),
                ("host", host_online),
            ):
                led = self.leds[name]
                if on:
                    led.on()
                else:
                    led.off()

    def beep(self, pattern: str) -> None:
        """Sound "approve" (one short beep) or "decline" (three); returns at once."""
        if pattern not in BEEPS:
            raise PanelError(f"unknown beep {pattern!r} (known: {', '.join(BEEPS)})")
        on, off, n = BEEPS[pattern]
        with self._lock:
            if self._closed or self.buzzer is None:
                return
            self.buzzer.blink(on_time=on, off_time=off, n=n, background=True)

    def close(self) -> None:
        """Release every pin (idempotent); presses after it are ignored."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        outputs: list[LED | Buzzer] = list(self.leds.values())
        if self.buzzer is not None:
            outputs.append(self.buzzer)
        for output in outputs:
            output.off()  # stops a blink; a released pin must not leave the buzzer sounding
        devices: list[GPIODevice] = [*self.buttons.values(), *outputs]
        for device in devices:
            device.close()


def _pin(config: PanelPins, key: str) -> int:
    pin = getattr(config, key, None)
    if isinstance(pin, bool) or not isinstance(pin, int) or not 0 <= pin <= 27:
        raise PanelError(f"{key} must be a BCM GPIO number 0-27, not {pin!r}")
    return pin
