"""The simulated printer's receive buffers and its one print engine.

Every host link (TCP connection, pty) has a receive buffer of its own; the single engine
prints them one link at a time, in the order their data arrived, and moves on to another
link only when the current one has nothing buffered and has been quiet for a moment (or
closed). So the rest of a job from a host that died is printed whole before the job of
the host that took over, as on a printer with one mechanism.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

from posterm.hwsim.printer.device import SimPrinter
from posterm.hwsim.printer.parser import EscPosParser

BUFFER_BYTES = 16 * 1024  # per link: when full, the link stops reading (flow control)
SWITCH_QUIET = 0.1  # seconds a link must be quiet before the engine serves another
SLICE = 64  # bytes printed at a time when the speed is limited


class Link:
    """One host link's side of the engine: its buffer, parser and way back to the host."""

    def __init__(self, send: Callable[[bytes], None], parser: EscPosParser) -> None:
        self.send = send
        self.parser = parser
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.last_data = time.monotonic()
        self.closed = False


class Engine:
    def __init__(self, device: SimPrinter, bytes_per_second: int = 0) -> None:
        self.device = device
        self.bytes_per_second = bytes_per_second
        self._cond = threading.Condition()
        self._waiting: collections.deque[Link] = collections.deque()  # links with data
        self._current: Link | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="print-engine", daemon=True)
        self._thread.start()

    def link(self, send: Callable[[bytes], None]) -> Link:
        return Link(send, self.device.parser())

    def submit(self, link: Link, data: bytes) -> bool:
        """Buffer `data` (blocks while the link's buffer is full); False once stopping.
        What arrives while the printer is stopped (paper out, cover open) is lost, as what
        it had buffered when it stopped: after the refill only new jobs print."""
        with self._cond:
            while link.buffered >= BUFFER_BYTES and not self._stopping:
                self._cond.wait(0.5)
            if self._stopping:
                return False
            if self.device.stopped():
                self.device.lose(len(data))
                return True
            link.chunks.append(data)
            link.buffered += len(data)
            link.last_data = time.monotonic()
            if link is not self._current and link not in self._waiting:
                self._waiting.append(link)
            self._cond.notify_all()
            return True

    def close(self, link: Link) -> None:
        with self._cond:
            link.closed = True
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def _next(self) -> tuple[Link, bytes] | None:
        """The next chunk to print (under the condition); None when stopping."""
        while not self._stopping:
            current = self._current
            if current is not None and current.chunks:
                data = current.chunks.popleft()
                current.buffered -= len(data)
                self._cond.notify_all()
                return current, data
            quiet = 0.0 if current is None else time.monotonic() - current.last_data
            if current is not None and not current.closed and quiet < SWITCH_QUIET:
                self._cond.wait(SWITCH_QUIET - quiet)
                continue
            if self._waiting:
                self._current = self._waiting.popleft()
                continue
            self._current = None
            self._cond.wait(0.5)
        return None

    def _run(self) -> None:
        bps = self.bytes_per_second
        while True:
            with self._cond:
                item = self._next()
            if item is None:
                return
            link, data = item
            pieces = [data[i : i + SLICE] for i in range(0, len(data), SLICE)] if bps else [data]
            for i, piece in enumerate(pieces):
                if bps:
                    time.sleep(len(piece) / bps)
                answer = self.device.feed(link.parser, piece)
                if answer:
                    link.send(answer)
                if self.device.stopped():  # the rest of this job is lost, not kept for later
                    self._drop(link, sum(len(p) for p in pieces[i + 1 :]))
                    break

    def _drop(self, link: Link, unprinted: int) -> None:
        with self._cond:
            unprinted += link.buffered
            link.chunks.clear()
            link.buffered = 0
            self._cond.notify_all()
        self.device.lose(unprinted)
