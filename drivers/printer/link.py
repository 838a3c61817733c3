"""The byte link to a printer, on python-escpos's backends (Network, Serial, Usb).

python-escpos opens the device; this module adds what it lacks for a till: a time limit
on every write and read (its `Serial` has no write timeout, its `Usb` defaults to none),
a drain of stale input, a close that never waits for a stuck printer, and `PrinterGone` /
`PrinterTimeout` instead of the backends' own exceptions.
"""

from __future__ import annotations

import contextlib
import select
import socket
from abc import ABC, abstractmethod
from typing import Any

import serial
from escpos import exceptions as escpos_errors
from escpos.printer import Network, Serial

from posterm.drivers.printer.errors import PrinterGone, PrinterTimeout
from posterm.drivers.printer.url import PrinterUrl

DRAIN_MAX = 64 * 1024  # bytes of stale input thrown away before a status query
_OPEN_ERRORS = (escpos_errors.Error, OSError, serial.SerialException, ValueError, RuntimeError)


class Link(ABC):
    """An open device: write with a time limit, read what has arrived, close."""

    def __init__(self, dev: Any, timeout: float) -> None:
        self.dev = dev  # the python-escpos printer object
        self.timeout = timeout

    @abstractmethod
    def write(self, data: bytes) -> None:
        """All of `data`, or `PrinterTimeout` / `PrinterGone`."""

    @abstractmethod
    def read(self, size: int, wait: float) -> bytes:
        """Up to `size` bytes, waiting at most `wait` seconds for the first; b"" if none."""

    @abstractmethod
    def drain(self) -> None:
        """Throw away whatever the printer sent that nobody read (late answers)."""

    @abstractmethod
    def close(self) -> None:
        """Close the device without waiting for it; never raises."""


class TcpLink(Link):
    def write(self, data: bytes) -> None:
        sock: socket.socket = self.dev.device
        try:
            sock.sendall(data)  # the socket timeout bounds the whole sendall
        except TimeoutError as exc:
            raise PrinterTimeout(f"printer: write timed out after {self.timeout} s") from exc
        except OSError as exc:
            raise PrinterGone(f"printer: write failed: {exc}") from exc

    def read(self, size: int, wait: float) -> bytes:
        sock: socket.socket = self.dev.device
        try:
            if not select.select([sock], [], [], max(wait, 0.0))[0]:
                return b""
            chunk = sock.recv(size)
        except OSError as exc:
            raise PrinterGone(f"printer: read failed: {exc}") from exc
        if not chunk:
            raise PrinterGone("printer: connection closed by the printer")
        return chunk

    def drain(self) -> None:
        for _ in range(DRAIN_MAX // 256):  # a printer that chatters without end: stop
            if not self.read(256, 0.0):
                return

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.dev.close()


class SerialLink(Link):
    def __init__(self, dev: Any, timeout: float, baud: int) -> None:
        super().__init__(dev, timeout)
        self.bytes_per_second = baud / 10  # 8N1: ten bits a byte

    def write(self, data: bytes) -> None:
        port: serial.Serial = self.dev.device
        # the time the bytes need on the line, plus the timeout for the printer's flow control
        port.write_timeout = self.timeout + len(data) / self.bytes_per_second
        try:
            written = port.write(data)
        except serial.SerialTimeoutException as exc:
            limit = port.write_timeout
            raise PrinterTimeout(f"printer: write timed out after {limit:.1f} s") from exc
        except (serial.SerialException, OSError) as exc:
            raise PrinterGone(f"printer: write failed: {exc}") from exc
        if written != len(data):
            raise PrinterTimeout(f"printer: wrote {written} of {len(data)} bytes")

    def read(self, size: int, wait: float) -> bytes:
        port: serial.Serial = self.dev.device
        try:
            waiting = port.in_waiting
            if waiting:
                return bytes(port.read(min(size, waiting)))
            if wait <= 0:
                return b""
            if port.timeout != wait:
                port.timeout = wait
            return bytes(port.read(1))
        except (serial.SerialException, OSError) as exc:
            raise PrinterGone(f"printer: read failed: {exc}") from exc

    def drain(self) -> None:
        try:
            self.dev.device.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            raise PrinterGone(f"printer: {exc}") from exc

    def close(self) -> None:
        # python-escpos's Serial.close() flushes first: with a printer that stopped
        # reading, that waits for ever. Throw the unsent bytes away, then close.
        port = self.dev.device
        with contextlib.suppress(serial.SerialException, OSError):
            port.reset_output_buffer()
        with contextlib.suppress(serial.SerialException, OSError):
            port.close()
        self.dev.device = False


class UsbLink(Link):
    def __init__(self, dev: Any, timeout: float) -> None:
        super().__init__(dev, timeout)
        import usb.core  # noqa: PLC0415 - pyusb is only needed for USB printers

        self._usb_timeout = usb.core.USBTimeoutError
        self._usb_error = usb.core.USBError
        self._rx = b""  # the rest of a packet longer than asked for

    def write(self, data: bytes) -> None:
        ms = int((self.timeout + len(data) / 100_000) * 1000)
        try:
            self.dev.device.write(self.dev.out_ep, data, ms)
        except self._usb_timeout as exc:
            raise PrinterTimeout(f"printer: USB write timed out after {ms} ms") from exc
        except (self._usb_error, OSError, ValueError) as exc:
            raise PrinterGone(f"printer: USB write failed: {exc}") from exc

    def read(self, size: int, wait: float) -> bytes:
        if not self._rx:
            ms = max(1, int(wait * 1000))
            try:
                self._rx = bytes(self.dev.device.read(self.dev.in_ep, 64, ms))
            except self._usb_timeout:
                return b""
            except (self._usb_error, OSError, ValueError) as exc:
                raise PrinterGone(f"printer: USB read failed: {exc}") from exc
        chunk, self._rx = self._rx[:size], self._rx[size:]
        return chunk

    def drain(self) -> None:
        for _ in range(DRAIN_MAX // 64):
            if not self.read(64, 0.001):
                return

    def close(self) -> None:
        with contextlib.suppress(self._usb_error, OSError, ValueError):
            self.dev.close()


def open_link(address: PrinterUrl, timeout: float) -> Link:
    """Open the device through python-escpos; `PrinterGone` if it cannot be opened."""
    dev: Any = None
    try:
        if address.scheme == "tcp":
            dev = Network(address.host, address.port, timeout=timeout)
            dev.open()
            dev.device.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return TcpLink(dev, timeout)
        if address.scheme == "serial":
            dev = Serial(address.path, baudrate=address.baud, timeout=timeout)
            dev.open()
            return SerialLink(dev, timeout, address.baud)
        from escpos.printer import Usb  # noqa: PLC0415 - imports pyusb

        dev = Usb(address.vid, address.pid, timeout=int(timeout * 1000))
        dev.open()
        return UsbLink(dev, timeout)
    except _OPEN_ERRORS as exc:
        where = address.host or address.path or f"usb {address.vid:04x}:{address.pid:04x}"
        raise PrinterGone(f"printer: cannot open {where}: {exc}") from exc
