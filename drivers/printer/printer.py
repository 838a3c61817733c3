"""`Printer`: an ESC/POS receipt printer, with honest status.

A job is printed only if the printer was ready before it and has processed it to the cut.
A paper-out or an open cover right after the cut does not un-print it: the status after
the job is kept (`last_status`) and the next job's check before it stops that one.
DLE EOT is answered the moment it arrives, even while the printer is still printing what
came before, so a DLE EOT after the job proves nothing; the job therefore ends with
GS r 1, which the printer answers in turn, after the cut, and never once the paper ran
out. While waiting for that answer the driver asks DLE EOT every half second, so a
printer that stopped (paper out, cover open) fails the job at once.

Not thread-safe: one owner calls it (the terminal's owner thread, a CLI).
"""

from __future__ import annotations

import logging
import time

from posterm.drivers.printer.errors import (
    PrinterConfigError,
    PrinterCoverOpen,
    PrinterError,
    PrinterOffline,
    PrinterPaperOut,
    PrinterTimeout,
)
from posterm.drivers.printer.link import Link, open_link
from posterm.drivers.printer.profile import DEFAULT as DEFAULT_PROFILE
from posterm.drivers.printer.receipt import Receipt
from posterm.drivers.printer.render import Renderer
from posterm.drivers.printer.url import parse_url
from posterm.protocol.escpos import codes
from posterm.protocol.escpos import status as st

log = logging.getLogger("posterm.printer")

STATUS_QUERY = st.query(st.PRINTER) + st.query(st.OFFLINE_CAUSE) + st.query(st.PAPER)
STATUS_WAIT_MAX = 2.0  # a printer answers DLE EOT in milliseconds: 2 s is silence
POLL_INTERVAL = 0.5  # DLE EOT while a job prints


class Printer:
    def __init__(
        self,
        url: str,
        *,
        columns: int | None = None,
        encoding: str = "cp858",
        profile: str = DEFAULT_PROFILE,
        timeout: float = 5.0,
        job_timeout: float = 30.0,
    ) -> None:
        """`timeout` bounds every write and status answer, `job_timeout` the time from
        the end of a job's bytes to the printer's word that it has cut the receipt;
        `profile` the model (profile.py), `columns` fewer than its own or None."""
        if not 0 < timeout <= 600 or not 0 < job_timeout <= 3600:
            raise PrinterConfigError("printer: timeout 0..600 s, job_timeout 0..3600 s")
        self.url = url
        self.address = parse_url(url)
        self.timeout = float(timeout)
        self.job_timeout = float(job_timeout)
        self.renderer = Renderer(columns, encoding, profile)
        self._link: Link | None = None
        self.last_status: st.PrinterStatus = st.UNKNOWN
        self._last_error = ""

    # -- the device -----------------------------------------------------------------------
    def _open(self) -> Link:
        if self._link is None:
            self._link = open_link(self.address, self.timeout)
        return self._link

    def close(self) -> None:
        """Close the device (idempotent); the next call opens it again."""
        link, self._link = self._link, None
        if link is not None:
            link.close()

    def __del__(self) -> None:
        # a serial port that is flushed on close waits for ever on a printer that stopped
        # reading: close it here, throwing unsent bytes away, without waiting
        if getattr(self, "_link", None) is not None:
            self.close()

    def _log_once(self, message: str) -> None:
        if message != self._last_error:
            log.warning("%s", message)
            self._last_error = message

    # -- status -----------------------------------------------------------------------------
    def status(self) -> st.PrinterStatus:
        """DLE EOT 1, 2, 4 decoded; UNKNOWN when the printer does not answer validly."""
        try:
            return self._query_status()
        except PrinterError as exc:
            self._log_once(f"printer: status unknown: {exc}")
            self.close()
            self.last_status = st.UNKNOWN
            return st.UNKNOWN

    def _query_status(self) -> st.PrinterStatus:
        """The status; `PrinterGone`/`PrinterTimeout` when the device cannot be reached
        (`last_status` then unknown, not the last answer's)."""
        try:
            link = self._open()
            link.drain()
            link.write(STATUS_QUERY)
            answer = self._read_status(link)
        except PrinterError:
            self.close()
            self.last_status = st.UNKNOWN
            raise
        if answer is None:
            self._log_once("printer: status unknown: no valid answer to DLE EOT")
            self.close()  # a late answer would be read as the next status: start afresh
            self.last_status = st.UNKNOWN
            return st.UNKNOWN
        self.last_status = st.decode(*answer)
        self._last_error = ""
        return self.last_status

    def _read_status(self, link: Link) -> tuple[int, int, int] | None:
        """The three answers, skipping GS r answers still on their way; None if the
        printer stays silent or sends a byte that is not a status byte."""
        deadline = time.monotonic() + min(self.timeout, STATUS_WAIT_MAX)
        got: list[int] = []
        while len(got) < 3:
            chunk = link.read(3 - len(got), deadline - time.monotonic())
            if not chunk:
                return None
            for value in chunk:
                if st.is_sensor_byte(value):
                    continue  # a late answer to an earlier GS r
                if not st.is_status_byte(value):
                    return None
                got.append(value)
        return got[0], got[1], got[2]

    # -- printing ---------------------------------------------------------------------------
    def print(self, receipt: Receipt) -> None:
        """Print and cut; raises `PrinterError` unless the printer was ready before, has
        cut the receipt and is still fine after it (the caller then knows the receipt is
        not printed, or not completely)."""
        self.print_bytes(self.renderer.render(receipt))

    def print_bytes(self, data: bytes) -> None:
        """Send an ESC/POS job that ends with its cut, under the same rules as `print`."""
        _raise_unless_ready(self._query_status(), "before the job")
        link = self._open()
        try:
            link.write(data + codes.PAPER_SENSOR_QUERY)
            self._await_cut(link)
        except PrinterError:
            self.close()
            raise
        try:  # printed and cut: a fault from now on is the next job's to meet
            after = self._query_status()
        except PrinterError as exc:
            log.warning("printer: the job was cut; no status after it: %s", exc)
            return
        if not after.ready:
            log.warning("printer: the job was cut; the printer is not ready after it")

    def _await_cut(self, link: Link) -> None:
        """Wait for the answer to the job's closing GS r 1, asking DLE EOT meanwhile."""
        start = time.monotonic()
        deadline = start + self.job_timeout
        next_poll = start + POLL_INTERVAL
        answers: list[int] = []
        owed = 0  # DLE EOT answers still to come for the polls sent
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise PrinterTimeout(f"printer: the job was not cut within {self.job_timeout:g} s")
            if now >= next_poll:
                link.write(STATUS_QUERY)
                owed += 3
                next_poll = now + POLL_INTERVAL
            chunk = link.read(16, min(next_poll, deadline) - now)
            for i, value in enumerate(chunk):
                if st.is_sensor_byte(value):
                    later = sum(st.is_status_byte(b) for b in chunk[i + 1 :])
                    self._collect(link, owed - later)
                    return  # processed in turn: everything before it is printed and cut
                if not st.is_status_byte(value):
                    continue
                owed = max(0, owed - 1)
                answers.append(value)
                if len(answers) == 3:
                    during = st.decode(*answers)
                    answers.clear()
                    self.last_status = during
                    _raise_unless_ready(during, "during the job")

    def _collect(self, link: Link, owed: int) -> None:
        """Read the answers to polls still on their way, so that the status after the cut
        is not mistaken for one taken while the receipt was still printing."""
        deadline = time.monotonic() + min(self.timeout, STATUS_WAIT_MAX)
        while owed > 0 and time.monotonic() < deadline:
            owed -= len(link.read(owed, deadline - time.monotonic()))


def _raise_unless_ready(status: st.PrinterStatus, when: str) -> None:
    if status.ready:
        return
    if not status.known:
        raise PrinterOffline(f"printer: no valid status answer {when}")
    if status.paper == st.Paper.OUT:
        raise PrinterPaperOut(f"printer: paper out {when}")
    if status.cover_open:
        raise PrinterCoverOpen(f"printer: cover open {when}")
    raise PrinterOffline(f"printer: {status.text()} {when}")
