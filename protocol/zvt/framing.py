"""ZVT serial framing: DLE STX apdu DLE ETX crc-lo crc-hi, DLE stuffing, CRC-16/KERMIT,
and an incremental parser that never blocks.

The parser is fed bytes as they arrive with the time they arrived; it yields `Frame`,
`Ack`, `Nak` and `FrameFault` events. It times the T1 inter-byte gap itself, because
pyserial's `inter_byte_timeout` does not work on Linux's default serial class.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from enum import Enum, auto

from posterm.protocol.zvt.errors import ZvtFramingError

DLE, STX, ETX, ACK, NAK = 0x10, 0x02, 0x03, 0x06, 0x15
T1_SECONDS = 0.2
MAX_APDU = 0xFFFF + 5


# Each byte with its bits in reverse order. CRC-16/KERMIT is CRC-16/XMODEM (binascii's
# C crc_hqx: polynomial 0x1021, not reflected) of the bit-reversed bytes, bit-reversed.
_REVERSED = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def _reverse16(value: int) -> int:
    return (_REVERSED[value & 0xFF] << 8) | _REVERSED[value >> 8]


def crc16_kermit(data: bytes, crc: int = 0) -> int:
    """CRC-16/KERMIT: reflected polynomial 0x1021 (0x8408), init 0, no final xor."""
    return _reverse16(binascii.crc_hqx(bytes(data).translate(_REVERSED), _reverse16(crc)))


def frame_crc(apdu: bytes) -> int:
    """The CRC a frame carries: over the unstuffed APDU plus the ETX byte."""
    return crc16_kermit(bytes(apdu) + _ETX)


_START, _ETX, _END = bytes([DLE, STX]), bytes([ETX]), bytes([DLE, ETX])


def encode_frame(apdu: bytes) -> bytes:
    crc = frame_crc(apdu)
    return _START + apdu.replace(b"\x10", b"\x10\x10") + _END + bytes((crc & 0xFF, crc >> 8))


@dataclass(frozen=True)
class Frame:
    apdu: bytes


@dataclass(frozen=True)
class Ack:
    pass


@dataclass(frozen=True)
class Nak:
    pass


@dataclass(frozen=True)
class FrameFault:
    """A frame that began but was broken; the receiver answers NAK."""

    error: ZvtFramingError


Event = Frame | Ack | Nak | FrameFault


class _State(Enum):
    IDLE = auto()
    GOT_DLE = auto()  # DLE outside a frame: expecting STX
    DATA = auto()
    DATA_DLE = auto()  # DLE inside a frame: expecting DLE or ETX
    CRC1 = auto()
    CRC2 = auto()


class FrameParser:
    """Incremental parser for the serial side of ZVT. One instance per link direction."""

    def __init__(self, t1: float = T1_SECONDS, max_apdu: int = MAX_APDU) -> None:
        self._t1 = t1
        self._max = max_apdu
        self._state = _State.IDLE
        self._buf = bytearray()
        self._crc_lo = 0
        self._last: float | None = None
        self.junk = 0  # bytes outside any frame that were not ACK/NAK

    @property
    def in_frame(self) -> bool:
        return self._state is not _State.IDLE

    def _fault(self, message: str) -> FrameFault:
        self._state = _State.IDLE
        self._buf.clear()
        return FrameFault(ZvtFramingError(message))

    def check_timeout(self, now: float) -> list[Event]:
        """Report a T1 gap if a frame is open and no byte came for longer than T1."""
        if self.in_frame and self._last is not None and now - self._last > self._t1:
            return [self._fault(f"T1 expired: no byte for {now - self._last:.3f} s inside a frame")]
        return []

    def deadline(self) -> float | None:
        """When `check_timeout` would fire, or None outside a frame."""
        if self.in_frame and self._last is not None:
            return self._last + self._t1
        return None

    def feed(self, data: bytes, now: float) -> list[Event]:
        events = self.check_timeout(now)
        self._last = now
        if not isinstance(data, bytes | bytearray):
            data = bytes(data)
        i, size = 0, len(data)
        while i < size:
            if self._state is _State.DATA and data[i] != DLE:
                i = self._take_data(data, i, events)
                continue
            event = self._step(data[i])
            i += 1
            if event is not None:
                events.append(event)
        return events

    def _take_data(self, data: bytes | bytearray, i: int, events: list[Event]) -> int:
        """Inside a frame, the bytes up to the next DLE in one slice (`_step` would take them
        one by one, to the same effect); returns where the next byte is."""
        end = data.find(DLE, i)
        if end < 0:
            end = len(data)
        take = max(self._max - len(self._buf), 0) + 1  # the byte that would overflow
        if end - i >= take:
            events.append(self._fault(f"frame longer than {self._max} bytes"))
            return i + take
        self._buf += data[i:end]
        return end

    def _step(self, byte: int) -> Event | None:
        state = self._state
        if state is _State.DATA:
            if byte == DLE:
                self._state = _State.DATA_DLE
                return None
            self._buf.append(byte)
            if len(self._buf) > self._max:
                return self._fault(f"frame longer than {self._max} bytes")
            return None
        if state is _State.IDLE:
            if byte == ACK:
                return Ack()
            if byte == NAK:
                return Nak()
            if byte == DLE:
                self._state = _State.GOT_DLE
            else:
                self.junk += 1
            return None
        if state is _State.GOT_DLE:
            if byte == STX:
                self._state = _State.DATA
                self._buf.clear()
            elif byte == DLE:  # a stray DLE: this one may still start a frame
                self.junk += 1
            else:
                self._state = _State.IDLE
                self.junk += 2
            return None
        if state is _State.DATA_DLE:
            if byte == DLE:
                self._buf.append(DLE)
                self._state = _State.DATA
                return None
            if byte == ETX:
                self._state = _State.CRC1
                return None
            if byte == STX:  # inside a frame DLE is doubled: this is a new frame's start
                fault = self._fault("frame cut off by the start of another")
                self._state = _State.DATA
                return fault
            return self._fault(f"DLE followed by {byte:02X} inside a frame")
        if state is _State.CRC1:
            self._crc_lo = byte
            self._state = _State.CRC2
            return None
        # CRC2
        self._state = _State.IDLE
        apdu = bytes(self._buf)
        self._buf.clear()
        got = self._crc_lo | (byte << 8)
        want = frame_crc(apdu)
        if got != want:
            return FrameFault(ZvtFramingError(f"bad CRC {got:04X}, expected {want:04X}"))
        return Frame(apdu)
