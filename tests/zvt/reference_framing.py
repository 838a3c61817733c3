"""The ZVT serial frame parser as it was before issue 23 (commit 3ea516d), byte by byte:
the oracle of test_framing_golden.py. Its events are the real module's classes."""

from __future__ import annotations

from enum import Enum, auto

from posterm.protocol.zvt.errors import ZvtFramingError
from posterm.protocol.zvt.framing import (
    ACK,
    DLE,
    ETX,
    MAX_APDU,
    NAK,
    STX,
    T1_SECONDS,
    Ack,
    Event,
    Frame,
    FrameFault,
    Nak,
)
from tests.zvt.reference_codec import frame_crc


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
        for byte in data:
            event = self._step(byte)
            if event is not None:
                events.append(event)
        return events

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
