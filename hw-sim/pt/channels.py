"""The simulated PT's side of the link: a pty (serial framing, ACK/NAK) or a TCP connection.

Both offer `send(apdu)`, `receive(timeout) -> Apdu | None` and `drop()` (pull the cable).
Faults that live on the wire (corrupt a byte, withhold ACKs, NAK the first try, split or
merge TCP writes) are applied here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import time
import tty
from collections import deque
from pathlib import Path

from posterm.hwsim.pt.faults import Faults
from posterm.protocol.zvt import framing
from posterm.protocol.zvt.apdu import Apdu, ApduReader, decode
from posterm.protocol.zvt.errors import ZvtDecodeError, ZvtError

log = logging.getLogger("posterm.sim.pt")
T2 = 5.0


class LinkDown(ZvtError):
    """The ECR went away (connection closed, pty hung up) or the link was dropped."""


class PtyChannel:
    """Serial ZVT on a pty; `link` is a symlink to the slave side the ECR opens."""

    def __init__(self, link: Path, faults: Faults, baud: int = 0) -> None:
        self.link = link
        self.faults = faults
        self.baud = baud  # 0: as fast as the pty goes; else both directions take 8N2 line time
        self.bytes_in = 0
        self.bytes_out = 0
        self._open()

    def _open(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tmp = self.link.with_name(self.link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        self._slave_name = os.ttyname(self._slave)
        tmp.symlink_to(self._slave_name)
        tmp.replace(self.link)
        self._parser = framing.FrameParser()
        self._frames: deque[bytes] = deque()
        self._acks: deque[framing.Event] = deque()

    def close(self) -> None:
        """Unplug for good: the link goes too, so an ECR never opens a pty that the
        kernel has meanwhile given to someone else under the same name."""
        with contextlib.suppress(OSError):
            if os.readlink(self.link) == self._slave_name:
                self.link.unlink()
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def drop(self) -> None:
        """Unplug: the ECR's open port dies; a new pty appears under the same link."""
        log.info("sim pt: dropping the serial link")
        old = (self._master, self._slave)
        self._open()  # the link points at the new pty before the old one dies
        for fd in old:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _line_time(self, count: int) -> None:
        if self.baud:
            time.sleep(count * 11.0 / self.baud)  # start bit, 8 data bits, 2 stop bits

    def _write(self, data: bytes) -> None:
        self.bytes_out += len(data)
        if not self.baud:
            os.write(self._master, data)
            return
        for i in range(0, len(data), 16):  # a line delivers bytes over time, not at once
            os.write(self._master, data[i : i + 16])
            self._line_time(len(data[i : i + 16]))

    def _pump(self, until: float) -> None:
        now = time.monotonic()
        wait = max(0.0, until - now)
        deadline = self._parser.deadline()
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - now + 0.001))
        ready, _, _ = select.select([self._master], [], [], wait)
        if not ready:
            for event in self._parser.check_timeout(time.monotonic()):
                self._on_event(event)
            return
        try:
            data = os.read(self._master, 4096)
        except OSError:  # EIO: nobody has the slave open yet; not a hang-up of ours
            time.sleep(0.01)
            return
        self.bytes_in += len(data)
        self._line_time(len(data))
        for event in self._parser.feed(data, time.monotonic()):
            self._on_event(event)

    def _on_event(self, event: framing.Event) -> None:
        if isinstance(event, framing.Frame):
            if self.faults.take("withhold_acks"):
                log.info("sim pt: withholding the ACK (fault)")
                return
            if self.faults.take("nak_first"):
                log.info("sim pt: NAK on the first try (fault)")
                self._write(bytes([framing.NAK]))
                return
            self._write(bytes([framing.ACK]))
            self._frames.append(event.apdu)
        elif isinstance(event, framing.FrameFault):
            self._write(bytes([framing.NAK]))
        else:
            self._acks.append(event)

    def receive(self, timeout: float | None) -> Apdu | None:
        deadline = time.monotonic() + (timeout if timeout is not None else 3600.0)
        while not self._frames:
            if time.monotonic() >= deadline:
                return None
            self._pump(deadline)
        raw = self._frames.popleft()
        try:
            return decode(raw)
        except ZvtDecodeError:
            return Apdu(0xFF, 0xFF, raw)

    def send(self, apdu: Apdu) -> None:
        frame = framing.encode_frame(apdu.encode())
        for _ in range(3):
            out = frame
            if self.faults.take("corrupt_byte"):
                out = bytearray(frame)
                out[len(out) // 2] ^= 0x01
                out = bytes(out)
            self._acks.clear()
            self._write(out)
            deadline = time.monotonic() + T2
            while time.monotonic() < deadline:
                if self._acks:
                    answer = self._acks.popleft()
                    if isinstance(answer, framing.Ack):
                        return
                    break  # NAK: resend
                self._pump(deadline)
        raise LinkDown("no ACK from the ECR after 3 tries")


class TcpChannel:
    """TCP ZVT on one accepted connection: bare APDUs."""

    def __init__(self, conn: socket.socket, faults: Faults) -> None:
        self._conn = conn
        self._conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.faults = faults
        self._reader = ApduReader()
        self._ready: deque[Apdu] = deque()
        self._held = b""

    def drop(self) -> None:
        log.info("sim pt: dropping the TCP connection")
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._conn.close()

    def receive(self, timeout: float | None) -> Apdu | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._ready:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            try:
                self._conn.settimeout(remaining)
                data = self._conn.recv(65536)
            except TimeoutError:
                return None
            except OSError as exc:
                raise LinkDown(str(exc)) from exc
            if not data:
                raise LinkDown("the ECR closed the connection")
            try:
                self._ready.extend(self._reader.feed(data))
            except ZvtDecodeError as exc:
                raise LinkDown(f"unusable stream: {exc}") from exc
        return self._ready.popleft()

    def flush(self) -> None:
        """Send what merge_writes held back (the command ended with nothing to glue to)."""
        if self._held:
            held, self._held = self._held, b""
            try:
                self._conn.sendall(held)
            except OSError as exc:
                raise LinkDown(str(exc)) from exc

    def send(self, apdu: Apdu) -> None:
        data = apdu.encode()
        if self.faults.take("corrupt_byte") and len(data) > 3:
            out = bytearray(data)
            out[-1] ^= 0x01
            data = bytes(out)
        try:
            if self.faults.active("merge_writes") and apdu.code == 0x8000:
                self._held += data  # the PT's 80 00 goes out glued to what follows it
                return
            data, self._held = self._held + data, b""
            if self.faults.active("split_writes") and len(data) > 1:
                for i in range(0, len(data), 2):
                    self._conn.sendall(data[i : i + 2])
                    time.sleep(0.001)
                return
            self._conn.sendall(data)
        except OSError as exc:
            raise LinkDown(str(exc)) from exc
