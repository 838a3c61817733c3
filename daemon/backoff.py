"""When to try a device again: tenacity's jittered exponential back-off, capped, for the
PT link and the printer; an error is logged once per change, not on every try.

The owner thread asks `due()` on its idle tick and reports each try with `failed(error)`
or `succeeded()`: no thread of its own and no sleeping, so the owner stays responsive.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import tenacity

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
    ) -> None:
        self.device = device
        self._wait = tenacity.wait_exponential_jitter(initial=initial, max=cap, jitter=jitter)
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
        state = tenacity.RetryCallState(None, None, (), {})  # type: ignore[arg-type]
        state.attempt_number = self.failures
        delay = float(self._wait(state))
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
