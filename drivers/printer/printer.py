"""`Printer`: an ESC/POS receipt printer on python-escpos, with honest status.

python-escpos gives the device backends (Network, Serial, Usb); this class adds what a
till needs: a timeout on every write, status that says UNKNOWN when the printer does not
answer, `PrinterError`s instead of raw exceptions, a reopen after every error, and a print
that succeeds only if the printer was ready before and is still fine after the cut.
"""

from __future__ import annotations

import logging
import select
import socket
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import serial
from escpos import exceptions as escpos_errors
from escpos.printer import Network, Serial

from posterm.drivers.printer.errors import (
    PrinterCoverOpen,
    PrinterError,
    PrinterGone,
    PrinterOffline,
    PrinterPaperOut,
    PrinterTimeout,
)
from posterm.drivers.printer.receipt import Receipt
from posterm.drivers.printer.render import Renderer
from posterm.protocol.escpos import status as st

log = logging.getLogger("posterm.printer")

STATUS_QUERY = st.query(st.PRINTER) + st.query(st.OFFLINE_CAUSE) + st.query(st.PAPER)


class Printer:
    def __init__(
        self, url: str, *, columns: int = 42, encoding: str = "cp858", timeout: float = 5.0
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.renderer = Renderer(columns, encoding)
        self._parts = urlsplit(url)
        if self._parts.scheme not in ("tcp", "serial", "usb"):
            raise ValueError(f"{url!r}: tcp://host:9100, serial:///dev/x?baud=N or usb://VID:PID")
        self._dev: Any = None
        self.last_status: st.PrinterStatus = st.UNKNOWN

    # -- device -------------------------------------------------------------------------
    def _open(self) -> Any:
        if self._dev is not None:
            return self._dev
        parts = self._parts
        try:
            if parts.scheme == "tcp":
                dev = Network(parts.hostname or "", parts.port or 9100, timeout=self.timeout)
            elif parts.scheme == "serial":
                baud = int(parse_qs(parts.query).get("baud", ["115200"])[0])
                dev = Serial(parts.path, baudrate=baud, timeout=self.timeout)
            else:
                dev = _usb(parts.netloc, self.timeout)
            dev.open()
            if parts.scheme == "tcp":  # a status query must not wait for Nagle's timer
                dev.device.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if parts.scheme == "serial":
                dev.device.write_timeout = self.timeout  # python-escpos sets none
        except (escpos_errors.Error, OSError, serial.SerialException, ValueError) as exc:
            raise PrinterGone(f"printer: cannot open {self.url}: {exc}") from exc
        self._dev = dev
        return dev

    def close(self) -> None:
        dev, self._dev = self._dev, None
        if dev is not None:
            try:
                dev.close()
            except (OSError, escpos_errors.Error, serial.SerialException):
                log.debug("printer: close failed", exc_info=True)

    def _write(self, data: bytes) -> None:
        dev = self._open()
        try:
            dev._raw(data)
        except (TimeoutError, serial.SerialTimeoutException) as exc:
            self.close()
            raise PrinterTimeout(f"printer: write timed out after {self.timeout} s") from exc
        except (OSError, serial.SerialException, escpos_errors.Error) as exc:
            self.close()
            raise PrinterGone(f"printer: write failed: {exc}") from exc

    def _read_status(self, count: int) -> bytes:
        """Read up to `count` status bytes, waiting at most the timeout in all."""
        dev = self._dev
        deadline = time.monotonic() + min(self.timeout, 2.0)
        got = b""
        while len(got) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if isinstance(dev.device, socket.socket):
                ready, _, _ = select.select([dev.device], [], [], remaining)
                if not ready:
                    break
                chunk = dev.device.recv(count - len(got))
                if not chunk:
                    raise OSError("connection closed by the printer")
            else:
                dev.device.timeout = remaining
                chunk = dev.device.read(count - len(got))
                if not chunk:
                    break
            got += chunk
        return got

    def _drain(self) -> None:
        dev = self._dev
        if isinstance(dev.device, socket.socket):
            while select.select([dev.device], [], [], 0)[0]:
                if not dev.device.recv(256):
                    raise OSError("connection closed by the printer")
        elif hasattr(dev.device, "reset_input_buffer"):
            dev.device.reset_input_buffer()

    # -- status and printing ------------------------------------------------------------
    def status(self) -> st.PrinterStatus:
        """DLE EOT 1, 2, 4 decoded; UNKNOWN when the printer does not answer validly."""
        try:
            self._open()
            self._drain()
            self._write(STATUS_QUERY)
            answer = self._read_status(3)
        except (PrinterError, OSError, serial.SerialException) as exc:
            log.info("printer: status unknown: %s", exc)
            self.close()
            self.last_status = st.UNKNOWN
            return st.UNKNOWN
        if len(answer) < 3:
            self.close()  # a late answer would be read as the next status: start fresh
            self.last_status = st.UNKNOWN
            return st.UNKNOWN
        self.last_status = st.decode(answer[0], answer[1], answer[2])
        return self.last_status

    def print(self, receipt: Receipt) -> None:
        """Print and cut; raises `PrinterError` unless the printer was ready before and is
        still fine after the cut (the caller then knows the receipt is not printed)."""
        self.print_bytes(self.renderer.render(receipt))

    def print_bytes(self, data: bytes) -> None:
        _raise_unless_ready(self.status(), "before the job")
        self._write(data)
        _raise_unless_ready(self.status(), "after the job")


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


def _usb(netloc: str, timeout: float) -> Any:
    try:
        from escpos.printer import Usb  # noqa: PLC0415 - needs pyusb, only for USB printers
    except ImportError as exc:
        raise ValueError(f"USB printers need pyusb: {exc}") from exc
    vid, _, pid = netloc.partition(":")
    return Usb(int(vid, 16), int(pid, 16), timeout=int(timeout * 1000))
