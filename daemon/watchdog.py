"""The systemd watchdog, fed only while the owner thread makes progress.

A thread of its own sends WATCHDOG=1 every `interval` seconds (half of WatchdogSec), but
only while the owner thread said it is alive: the ZVT client `beat()`s for as long as it
will wait for the PT's next message (T3/T4, the 04 FF timeout), the printer for a job's
timeout; the owner's idle tick calls `idle()`, which replaces every earlier promise by a
short one (an idle owner waits for nothing). A payment where the customer takes a minute
over the PIN keeps the pings going; an owner stuck in a deadlock or an endless loop stops
beating, the pings stop (at the latest when the last promised wait is over), and systemd
restarts postermd.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from posterm.daemon.notify import notify

log = logging.getLogger("posterm.watchdog")

Clock = Callable[[], float]


class WatchdogError(ValueError):
    """A watchdog set up or fed with a nonsensical time."""


def _ping() -> object:
    return notify(WATCHDOG="1")


class Watchdog:
    """WATCHDOG=1 every `interval` s while alive; disabled (no thread) for interval 0."""

    def __init__(
        self,
        interval: float,
        *,
        send: Callable[[], object] = _ping,
        clock: Clock = time.monotonic,
    ) -> None:
        if interval < 0:
            raise WatchdogError(f"watchdog interval {interval} is negative")
        self.interval = interval
        self._send = send
        self._clock = clock
        self._lock = threading.Lock()
        self._alive_until = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._was_alive = True

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    @property
    def alive_until(self) -> float:
        with self._lock:
            return self._alive_until

    def start(self) -> None:
        """Start pinging, alive for one watchdog period (until the owner first beats)."""
        if self.enabled and self._thread is None and not self._stop.is_set():
            self.beat(2 * self.interval)
            self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
            self._thread.start()

    def beat(self, seconds: float) -> None:
        """The owner makes progress and may be busy up to `seconds` from now."""
        if seconds < 0:
            raise WatchdogError(f"watchdog beat of {seconds} s")
        if not self.enabled:
            return
        until = self._clock() + seconds
        with self._lock:
            self._alive_until = max(self._alive_until, until)

    def idle(self, seconds: float) -> None:
        """The owner is idle and will be back within `seconds`: earlier beats are void."""
        if seconds < 0:
            raise WatchdogError(f"watchdog idle beat of {seconds} s")
        if not self.enabled:
            return
        until = self._clock() + seconds
        with self._lock:
            self._alive_until = until

    def tick(self) -> bool:
        """One round of the thread: ping if the owner is alive; True if it pinged."""
        alive = self._clock() < self.alive_until
        if alive:
            self._send()
        elif self._was_alive:
            log.error("watchdog: the owner thread stopped making progress; no more pings")
        self._was_alive = alive
        return alive

    def close(self) -> None:
        """Stop pinging (idempotent)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.interval + 1.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.interval)
