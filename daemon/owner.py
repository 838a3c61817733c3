"""The state owner: one thread runs every operation; other threads hand work over a queue.

Control-socket threads, GPIO callbacks and timers never touch terminal state: they call
`submit(fn)` (and may wait for its result); the owner thread runs `fn` and, between
work items, `on_idle` at least every `tick` seconds (watchdog, printer, PT link).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

log = logging.getLogger("posterm.owner")
T = TypeVar("T")


class OwnerStopped(Exception):
    """The owner thread is not running."""


class Owner:
    def __init__(self, on_idle: Callable[[], None], tick: float = 1.0) -> None:
        self._queue: queue.Queue[tuple[Callable[[], Any], Future[Any]] | None] = queue.Queue()
        self._on_idle = on_idle
        self._tick = tick
        self._thread = threading.Thread(target=self._run, name="owner", daemon=True)
        self._running = threading.Event()
        self._gate = threading.Lock()  # a submit never slips in after the last drain

    @property
    def is_owner(self) -> bool:
        return threading.current_thread() is self._thread

    def start(self) -> None:
        self._running.set()
        self._thread.start()

    @property
    def accepting(self) -> bool:
        return self._running.is_set()

    def stop(self, timeout: float = 10.0) -> bool:
        """Take no new work; let the item in progress finish (within `timeout`); answer
        what is still queued with OwnerStopped. True once the thread has ended."""
        with self._gate:
            if self._running.is_set():
                self._running.clear()
                self._queue.put(None)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._gate:
            if not self._running.is_set():
                raise OwnerStopped("the terminal is shutting down")
            self._queue.put((fn, future))
        return future

    def call(self, fn: Callable[[], T], timeout: float | None = None) -> T:
        """Run `fn` on the owner thread and wait for its result (or its exception)."""
        if self.is_owner:
            return fn()
        return self.submit(fn).result(timeout)

    def _run(self) -> None:
        while self._running.is_set():
            try:
                item = self._queue.get(timeout=self._tick)
            except queue.Empty:
                item = None
                self._idle()
                continue
            if item is None:
                continue
            fn, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the waiting caller, never lost
                future.set_exception(exc)
            if self._queue.empty() and self._running.is_set():
                self._idle()
        self._refuse_queued()

    def _refuse_queued(self) -> None:
        """Stopping: whatever is still queued is answered, never started."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None and item[1].set_running_or_notify_cancel():
                item[1].set_exception(OwnerStopped("the terminal is shutting down"))

    def _idle(self) -> None:
        try:
            self._on_idle()
        except Exception:
            log.exception("owner: idle work failed")
