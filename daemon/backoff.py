"""When to try a device again: posterm's one back-off (protocol/backoff.py: jittered,
exponential, capped) for the PT link, the printer, MQTT and certificate renewal; an error
is logged once per change, not on every try.

The owner thread asks `due()` on its idle tick and reports each try with `failed(error)`
or `succeeded()`: no thread of its own and no sleeping, so the owner stays responsive.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from posterm.protocol import backoff

log = logging.getLogger("posterm.backoff")


class Backoff:
    def __init__(
        self,
        device: str,
        *,
        initial: float = 1.0,
        cap: float = 30.0,
        jitter: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.device = device
        self._initial, self._cap, self._jitter = initial, cap, jitter
        self._uniform = uniform
        self._clock = clock
        self.failures = 0
        self.next_at = clock()
        self._last_error: str | None = None

    def due(self) -> bool:
        """Is it time for the next try?"""
        return self._clock() >= self.next_at

    def retry_in(self) -> float | None:
        """Seconds until the next try (None: not backing off)."""
        if not self.failures:
            return None
        return max(0.0, self.next_at - self._clock())

    def failed(self, error: str) -> float:
        """A try failed: the delay until the next one (logged when the error changed)."""
        self.failures += 1
        delay = backoff.delay(
            self.failures,
            first=self._initial,
            cap=self._cap,
            jitter=self._jitter,
            uniform=self._uniform,
        )
        self.next_at = self._clock() + delay
        if error != self._last_error:
            log.warning(
                "%s: %s (trying again with back-off, next in %.1f s)", self.device, error, delay
            )
            self._last_error = error
        return delay

    def succeeded(self) -> None:
        if self.failures:
            log.info(
                "%s: back after %d failed tr%s",
                self.device,
                self.failures,
                "y" if self.failures == 1 else "ies",
            )
        self.failures = 0
        self._last_error = None
        self.next_at = self._clock()

    def hold(self, seconds: float) -> None:
        """No try before `seconds` from now (a PT that just broke off a command)."""
        self.next_at = max(self.next_at, self._clock() + seconds)

    def retry_now(self) -> None:
        """The operator asked (confirm button): the next try is due at once."""
        self.next_at = self._clock()
