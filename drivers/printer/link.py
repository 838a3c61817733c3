"""The byte link to a printer: a TCP socket, a pyserial port or a pyusb device.

It opens the devices the way python-escpos's `Network`, `Serial` and `Usb` do (the same
socket, port settings, kernel-driver detach and endpoints), and adds what those backends
lack for a till: a time limit on every write and read (python-escpos's `Serial` has no
write timeout, its `Usb` defaults to none), a drain of stale input, a close that never
waits for a stuck printer, and `PrinterGone` / `PrinterTimeout` instead of the devices'
own exceptions. python-escpos builds the receipt's commands (commands.py); this link
carries them, and the status queries, without importing it (an idle postermd does not
carry python-escpos, Pillow and qrcode: they load with the first receipt).
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
from abc import ABC, abstractmethod
from typing import Any

import serial

from posterm.drivers.printer.errors import PrinterGone, PrinterTimeout
from posterm.drivers.printer.url import PrinterUrl

log = logging.getLogger("posterm.printer")

DRAIN_MAX = 64 * 1024  # bytes of stale input thrown away before a status query
USB_IN_EP, USB_OUT_EP = 0x82, 0x01  # python-escpos's `Usb` defaults: most receipt printers
_OPEN_ERRORS = (OSError, serial.SerialException, ValueError, RuntimeError, ImportError)


class Link(ABC):
    """An open device: write with a time limit, read what has arrived, close."""

    def __init__(self, timeout: float) -> None:
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
    def __init__(self, sock: socket.socket, timeout: float) -> None:
        super().__init__(timeout)
        self.sock = sock

    def write(self, data: bytes) -> None:
        sock = self.sock
        try:
            sock.sendall(data)  # the socket timeout bounds the whole sendall
        except TimeoutError as exc:
            raise PrinterTimeout(f"printer: write timed out after {self.timeout} s") from exc
        except OSError as exc:
            raise PrinterGone(f"printer: write failed: {exc}") from exc

    def read(self, size: int, wait: float) -> bytes:
        sock = self.sock
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
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()


class SerialLink(Link):
    def __init__(self, port: serial.Serial, timeout: float, baud: int) -> None:
        super().__init__(timeout)
        self.port = port
        self.bytes_per_second = baud / 10  # 8N1: ten bits a byte

    def write(self, data: bytes) -> None:
        port = self.port
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
        port = self.port
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
            self.port.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            raise PrinterGone(f"printer: {exc}") from exc

    def close(self) -> None:
        # a flush before the close (python-escpos's Serial.close() does one) waits for ever
        # on a printer that stopped reading: throw the unsent bytes away, then close
        with contextlib.suppress(serial.SerialException, OSError):
            self.port.reset_output_buffer()
        with contextlib.suppress(serial.SerialException, OSError):
            self.port.close()


class UsbLink(Link):
    def __init__(self, device: Any, timeout: float) -> None:
        super().__init__(timeout)
        import usb.core  # noqa: PLC0415 - pyusb is only needed for USB printers

        self.device = device  # a usb.core.Device, opened by open_usb
        self._usb_timeout = usb.core.USBTimeoutError
        self._usb_error = usb.core.USBError
        self._rx = b""  # the rest of a packet longer than asked for

    def write(self, data: bytes) -> None:
        ms = int((self.timeout + len(data) / 100_000) * 1000)
        try:
            written = self.device.write(USB_OUT_EP, data, ms)
        except self._usb_timeout as exc:
            raise PrinterTimeout(f"printer: USB write timed out after {ms} ms") from exc
        except (self._usb_error, OSError, ValueError) as exc:
            raise PrinterGone(f"printer: USB write failed: {exc}") from exc
        if written != len(data):
            raise PrinterTimeout(f"printer: wrote {written} of {len(data)} bytes over USB")

    def read(self, size: int, wait: float) -> bytes:
        if not self._rx:
            ms = max(1, int(wait * 1000))
            try:
                self._rx = bytes(self.device.read(USB_IN_EP, 64, ms))
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
        import usb.util  # noqa: PLC0415

        with contextlib.suppress(self._usb_error, OSError, ValueError):
            usb.util.dispose_resources(self.device)


def open_link(address: PrinterUrl, timeout: float) -> Link:
    """Open the device; `PrinterGone` if it cannot be opened."""
    try:
        if address.scheme == "tcp":
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect((address.host, address.port))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                sock.close()
                raise
            return TcpLink(sock, timeout)
        if address.scheme == "serial":
            # python-escpos's `Serial` settings: 8N1, DSR/DTR flow control
            port = serial.Serial(address.path, baudrate=address.baud, timeout=timeout, dsrdtr=True)
            return SerialLink(port, timeout, address.baud)
        return UsbLink(open_usb(address.vid, address.pid), timeout)
    except _OPEN_ERRORS as exc:
        where = address.host or address.path or f"usb {address.vid:04x}:{address.pid:04x}"
        raise PrinterGone(f"printer: cannot open {where}: {exc}") from exc


def open_usb(vid: int, pid: int) -> Any:
    """The printer's usb.core.Device, claimed from the kernel's usblp driver and configured,
    as python-escpos's `Usb.open` does; `OSError` if it is not there."""
    import usb.core  # noqa: PLC0415 - pyusb is only needed for USB printers
    import usb.util  # noqa: PLC0415

    device = None
    try:
        device = usb.core.find(idVendor=vid, idProduct=pid)
        if device is None:
            raise OSError("not found or cable not plugged in")
        if device.backend.__module__.endswith("libusb1"):  # the others cannot detach
            active: bool | None = None
            with contextlib.suppress(NotImplementedError):
                active = device.is_kernel_driver_active(0)
            if active is None or active:
                try:
                    device.detach_kernel_driver(0)
                except NotImplementedError:
                    pass
                except usb.core.USBError as exc:
                    if active is not None:
                        log.error("printer: cannot detach the kernel driver: %s", exc)
    except usb.core.USBError as exc:
        if device is not None:  # the handle is_kernel_driver_active opened goes too
            with contextlib.suppress(usb.core.USBError, OSError, ValueError):
                usb.util.dispose_resources(device)
        raise OSError(str(exc)) from exc
    try:
        device.set_configuration()
        device.reset()
    except usb.core.USBError as exc:
        log.error("printer: cannot set the USB configuration: %s", exc)
    return device
