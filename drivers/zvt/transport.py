"""ZVT transports: bare APDUs over TCP, DLE/STX frames with ACK/NAK over a serial line.

Both give the client the same two calls: `send(apdu)` (over serial: until the PT's ACK,
with two resends) and `receive(timeout) -> Apdu` (over serial: ACKs good frames at once,
NAKs broken ones and keeps waiting).
"""

from __future__ import annotations

import logging
import socket
import time
from collections import deque
from typing import Protocol

import serial

from posterm.drivers.zvt.errors import ZvtLinkError, ZvtNotConnected, ZvtTimeout
from posterm.drivers.zvt.url import PtUrl
from posterm.protocol.zvt import framing
from posterm.protocol.zvt.apdu import Apdu, ApduReader
from posterm.protocol.zvt.apdu import decode as apdu_decode
from posterm.protocol.zvt.errors import ZvtDecodeError

log = logging.getLogger("posterm.pt")

T2_SECONDS = 5.0
RESENDS = 2


class Transport(Protocol):
    def send(self, apdu: Apdu) -> None: ...
    def receive(self, timeout: float) -> Apdu: ...
    def close(self) -> None: ...


class TcpTransport:
    """ZVT over TCP (port 20007): no framing, no CRC; APDUs reassembled from the stream."""

    def __init__(self, host: str, port: int, connect_timeout: float = 5.0) -> None:
        try:
            self._sock = socket.create_connection((host, port), timeout=connect_timeout)
        except OSError as exc:
            raise ZvtNotConnected(f"pt: cannot connect to tcp://{host}:{port}: {exc}") from exc
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = ApduReader()
        self._ready: deque[Apdu] = deque()
        self._fresh = True

    def _drain_banner(self) -> None:
        """Some terminals greet with non-ZVT bytes on connect: drop what is already there."""
        self._sock.setblocking(False)
        try:
            while self._sock.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        finally:
            self._sock.setblocking(True)

    def send(self, apdu: Apdu) -> None:
        if self._fresh:
            self._fresh = False
            self._drain_banner()
        try:
            self._sock.settimeout(T2_SECONDS)
            self._sock.sendall(apdu.encode())
        except OSError as exc:
            raise ZvtLinkError(f"pt: send failed: {exc}") from exc

    def receive(self, timeout: float) -> Apdu:
        deadline = time.monotonic() + timeout
        while not self._ready:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ZvtTimeout(f"pt: nothing received within {timeout:.1f} s")
            try:
                self._sock.settimeout(remaining)
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:
                raise ZvtLinkError(f"pt: receive failed: {exc}") from exc
            if not data:
                raise ZvtLinkError("pt: connection closed by the terminal")
            try:
                self._ready.extend(self._reader.feed(data))
            except ZvtDecodeError as exc:
                raise ZvtLinkError(f"pt: unusable stream: {exc}") from exc
        return self._ready.popleft()

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            log.debug("pt: close failed", exc_info=True)


class SerialTransport:
    """ZVT over RS-232: DLE/STX framing, CRC-16/KERMIT, ACK/NAK, T1 and T2, two resends."""

    def __init__(self, url: PtUrl, t2: float = T2_SECONDS, resends: int = RESENDS) -> None:
        try:
            self._port = serial.Serial(
                url.path,
                baudrate=url.baud,
                bytesize=url.bytesize,
                parity=url.parity,
                stopbits=url.stopbits,
                timeout=0,
                write_timeout=t2,
                exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ZvtNotConnected(f"pt: cannot open {url}: {exc}") from exc
        self._parser = framing.FrameParser()
        self._frames: deque[bytes] = deque()
        self._t2 = t2
        self._resends = resends
        self._port.reset_input_buffer()

    def _write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise ZvtLinkError(f"pt: write failed: {exc}") from exc

    def _pump(self, until: float) -> list[framing.Event]:
        """Read what arrives before `until` (or the T1 deadline); parse it."""
        now = time.monotonic()
        wait = until - now
        t1 = self._parser.deadline()
        if t1 is not None:
            wait = min(wait, t1 - now + 0.001)
        try:
            self._port.timeout = max(wait, 0)
            data = self._port.read(1)
            if data and self._port.in_waiting:
                data += self._port.read(self._port.in_waiting)
        except (serial.SerialException, OSError, TypeError) as exc:
            raise ZvtLinkError(f"pt: read failed: {exc}") from exc
        now = time.monotonic()
        if not data:
            return self._parser.check_timeout(now)
        return self._parser.feed(data, now)

    def _handle(self, event: framing.Event) -> None:
        if isinstance(event, framing.Frame):
            self._write(bytes([framing.ACK]))
            self._frames.append(event.apdu)
        elif isinstance(event, framing.FrameFault):
            log.warning("pt: %s; NAK", event.error)
            self._write(bytes([framing.NAK]))

    def send(self, apdu: Apdu) -> None:
        frame = framing.encode_frame(apdu.encode())
        for attempt in range(1 + self._resends):
            self._write(frame)
            deadline = time.monotonic() + self._t2
            while time.monotonic() < deadline:
                events = self._pump(deadline)
                answer = None
                for event in events:
                    if isinstance(event, framing.Ack | framing.Nak) and answer is None:
                        answer = event
                    else:
                        self._handle(event)
                if isinstance(answer, framing.Ack):
                    return
                if isinstance(answer, framing.Nak):
                    log.info("pt: NAK on try %d, resending", attempt + 1)
                    break
            else:
                log.info("pt: no ACK within T2 on try %d", attempt + 1)
        raise ZvtLinkError(f"pt: no ACK after {1 + self._resends} tries")

    def receive(self, timeout: float) -> Apdu:
        deadline = time.monotonic() + timeout
        while not self._frames:
            if time.monotonic() >= deadline:
                raise ZvtTimeout(f"pt: nothing received within {timeout:.1f} s")
            for event in self._pump(deadline):
                self._handle(event)
        raw = self._frames.popleft()
        try:
            return apdu_decode(raw)
        except ZvtDecodeError as exc:
            raise ZvtLinkError(f"pt: frame with a broken APDU: {exc}") from exc

    def close(self) -> None:
        try:
            self._port.close()
        except (serial.SerialException, OSError):
            log.debug("pt: close failed", exc_info=True)


def open_transport(url: PtUrl, connect_timeout: float = 5.0) -> Transport:
    if url.scheme == "tcp":
        return TcpTransport(url.host, url.port, connect_timeout)
    return SerialTransport(url)
