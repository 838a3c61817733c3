"""ZVT APDUs: CLASS INSTR LEN data, with the extended length `FF lo hi`."""

from __future__ import annotations

from dataclasses import dataclass

from posterm.protocol.zvt.errors import ZvtDecodeError, ZvtEncodeError

MAX_DATA = 0xFFFF


@dataclass(frozen=True)
class Apdu:
    cls: int
    instr: int
    data: bytes = b""

    @property
    def code(self) -> int:
        """CLASS and INSTR as one number: 0x040F for a status information."""
        return (self.cls << 8) | self.instr

    def encode(self) -> bytes:
        if not (0 <= self.cls <= 0xFF and 0 <= self.instr <= 0xFF):
            raise ZvtEncodeError("APDU class and instruction are single bytes")
        size = len(self.data)
        if size > MAX_DATA:
            raise ZvtEncodeError(f"APDU data of {size} bytes exceeds {MAX_DATA}")
        if size < 0xFF:
            header = bytes([self.cls, self.instr, size])
        else:
            header = bytes([self.cls, self.instr, 0xFF]) + size.to_bytes(2, "little")
        return header + self.data

    def __str__(self) -> str:
        return f"{self.cls:02X} {self.instr:02X} [{len(self.data)}]"


def total_length(buf: bytes | bytearray) -> int | None:
    """Length of the whole APDU starting `buf`, or None while the header is incomplete."""
    if len(buf) < 3:
        return None
    if buf[2] != 0xFF:
        return 3 + buf[2]
    if len(buf) < 5:
        return None
    return 5 + int.from_bytes(buf[3:5], "little")


def decode(raw: bytes) -> Apdu:
    """One APDU that fills `raw` exactly."""
    size = total_length(raw)
    if size is None:
        raise ZvtDecodeError(f"APDU header truncated: {bytes(raw).hex(' ')}")
    if size != len(raw):
        raise ZvtDecodeError(f"APDU length field says {size} bytes, got {len(raw)}")
    header = 5 if raw[2] == 0xFF else 3
    return Apdu(raw[0], raw[1], bytes(raw[header:]))


class ApduReader:
    """Reassembles APDUs from a byte stream (TCP): split and merged reads alike."""

    def __init__(self, max_size: int = MAX_DATA + 5) -> None:
        self._buf = bytearray()
        self._max = max_size

    def feed(self, data: bytes) -> list[Apdu]:
        self._buf += data
        out: list[Apdu] = []
        while True:
            size = total_length(self._buf)
            if size is None or len(self._buf) < size:
                break
            if size > self._max:
                self._buf.clear()
                raise ZvtDecodeError(f"APDU of {size} bytes exceeds {self._max}")
            out.append(decode(bytes(self._buf[:size])))
            del self._buf[:size]
        return out

    @property
    def pending(self) -> int:
        return len(self._buf)
