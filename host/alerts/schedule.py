"""When the time-based alert rules run next: every `[alerts] interval_s`, but never so
often that they take more than a tenth of the ingest thread (the next run waits at least
`STRETCH` times as long as the last one took). Said once in the log when it stretches,
once when it is back to `interval_s`."""

from __future__ import annotations

import logging

from posterm.host.alerts import rules

log = logging.getLogger("posterm.host")

STRETCH = 10.0  # the wait after a run, in multiples of how long the run took


class Schedule:
    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.delay_s = interval_s  # the wait after the last run
        self._next = ""

    def due(self, now: str) -> bool:
        return now >= self._next

    def ran(self, now: str, took_s: float) -> None:
        """A run started at `now` (RFC 3339) took `took_s`: the next one is due after
        max(interval_s, STRETCH * took_s)."""
        delay = max(self.interval_s, STRETCH * max(took_s, 0.0))
        if delay > self.interval_s and self.delay_s == self.interval_s:
            log.warning(
                "alerts: the time-based rules took %.3f s: running them every %.1f s"
                " instead of every %.1f s",
                took_s,
                delay,
                self.interval_s,
            )
        elif delay == self.interval_s and self.delay_s > self.interval_s:
            log.info("alerts: the time-based rules run every %.1f s again", self.interval_s)
        self.delay_s = delay
        self._next = rules.later(now, delay)
