"""The front panel on GPIO (gpiozero): four buttons, four LEDs, a buzzer.

Button callbacks only call `on_press(name)` (the daemon queues the work); a software
debounce drops presses closer than `debounce_s` (gpiozero's mock pins do not simulate
`bounce_time`). Tests use gpiozero's MockFactory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from gpiozero import LED, Button, Buzzer

log = logging.getLogger("posterm.panel")

BUTTONS = ("confirm", "cancel", "reprint", "supervisor")
LEDS = ("ready", "busy", "fault", "host")
BEEPS = {"approve": (0.08, 0.0, 1), "decline": (0.15, 0.1, 3)}


class Panel:
    def __init__(
        self,
        config: Any,
        on_press: Callable[[str], None],
        pin_factory: Any = None,
        debounce_s: float = 0.05,
    ) -> None:
        self._on_press = on_press
        self._debounce = debounce_s
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        self._closed = False
        kw = {"pin_factory": pin_factory} if pin_factory is not None else {}
        self.buttons = {
            name: Button(getattr(config, f"{name}_pin"), pull_up=True, **kw) for name in BUTTONS
        }
        self.leds = {
            name: LED(getattr(config, f"{name}_led_pin"), **kw)
            for name in LEDS
        }
        self.buzzer = Buzzer(config.buzzer_pin, **kw)
        for name, button in self.buttons.items():
            button.when_pressed = self._handler(name)

    def _handler(self, name: str) -> Callable[[], None]:
        def pressed() -> None:
            now = time.monotonic()
            with self._lock:
                if now - self._last.get(name, -1e9) < self._debounce:
                    return
                self._last[name] = now
            try:
                self._on_press(name)
            except Exception:  # a callback error must not kill gpiozero's thread
                log.exception("panel: %s press handler failed", name)

        return pressed

    def show(self, *, ready: bool, busy: bool, fault: bool, host_online: bool) -> None:
        for name, on in (("ready", ready), ("busy", busy), ("fault", fault), ("host", host_online)):
            led = self.leds[name]
            if on:
                led.on()
            else:
                led.off()

    def beep(self, pattern: str) -> None:
        on, off, n = BEEPS[pattern]
        self.buzzer.blink(on_time=on, off_time=off or on, n=n, background=True)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for device in (*self.buttons.values(), *self.leds.values(), self.buzzer):
            device.close()
