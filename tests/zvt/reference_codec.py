"""The ZVT codec as it was before the table-driven rewrite (issue 23, commit 3ea516d):
BCD, BMP, TLV decoding, bmpset and the serial CRC and framing, in their first,
straightforward form. It is the oracle of test_codec_golden.py: the fast codec must give
the same bytes, the same values and the same errors on every input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from posterm.protocol.zvt import bmpset, tlv
from posterm.protocol.zvt.bmpspecs import NO_NUMBER, SPECS, TEXT_ENCODING, BmpSpec, Kind
from posterm.protocol.zvt.errors import ZvtDecodeError, ZvtEncodeError

T = TypeVar("T")
Value = int | str | bytes | tuple[tlv.Tlv, ...]
DLE, STX, ETX = 0x10, 0x02, 0x03


# -- bcd.py ---------------------------------------------------------------------------------
def bcd_encode(value: int, nbytes: int) -> bytes:
    """`value` as `nbytes` bytes of packed BCD, most significant digit first."""
    if isinstance(value, bool) or not isinstance(value, int):  # str(True) is no digits
        raise ZvtEncodeError(f"a BCD value is a whole number, not {value!r}")
    if value < 0:
        raise ZvtEncodeError(f"BCD value must not be negative: {value}")
    digits = str(value)
    if len(digits) > nbytes * 2:
        raise ZvtEncodeError(f"{value} does not fit in {nbytes} BCD bytes")
    return bytes.fromhex(digits.rjust(nbytes * 2, "0"))


def bcd_encode_digits(digits: str, nbytes: int) -> bytes:
    """A string of decimal digits as packed BCD, left-padded with zeros."""
    if not digits.isascii() or not digits.isdigit() or len(digits) > nbytes * 2:
        raise ZvtEncodeError(f"{digits!r} is not at most {nbytes * 2} decimal digits")
    return bytes.fromhex(digits.rjust(nbytes * 2, "0"))


def bcd_digits(data: bytes) -> str:
    """The decimal digits of packed BCD bytes; any nibble above 9 is an error. No bytes
    are no digits (an empty LLVAR BCD field, like `4C F0 F0`)."""
    text = data.hex()
    if text and not text.isdigit():
        raise ZvtDecodeError(f"not packed BCD: {text}")
    return text


def bcd_decode(data: bytes) -> int:
    return int(bcd_digits(data)) if data else 0


def bcd_encode_var_length(length: int, ndigits: int) -> bytes:
    """The LLVAR (2 digits) or LLLVAR (3 digits) length prefix: each digit as an Fx byte."""
    if not 0 <= length < 10**ndigits:
        raise ZvtEncodeError(f"variable field of {length} bytes exceeds {ndigits} length digits")
    return bytes(0xF0 | int(d) for d in str(length).rjust(ndigits, "0"))


def bcd_decode_var_length(data: bytes, offset: int, ndigits: int) -> int:
    """Read an LLVAR/LLLVAR length at `offset`; every byte must be F0..F9."""
    raw = data[offset : offset + ndigits]
    if len(raw) < ndigits:
        raise ZvtDecodeError("truncated variable-length prefix")
    length = 0
    for byte in raw:
        if byte >> 4 != 0xF or byte & 0x0F > 9:
            raise ZvtDecodeError(f"bad variable-length digit {byte:02X}")
        length = length * 10 + (byte & 0x0F)
    return length


# -- tlv.py (decoding) -------------------------------------------------------------------
def _decode_tag(data: bytes, offset: int) -> tuple[int, int]:
    first = data[offset]
    tag = first
    offset += 1
    if first & 0x1F == 0x1F:
        while True:
            if offset >= len(data):
                raise ZvtDecodeError("truncated multi-byte TLV tag")
            byte = data[offset]
            tag = (tag << 8) | byte
            offset += 1
            if not byte & 0x80:
                break
            if tag.bit_length() > 32:
                raise ZvtDecodeError("TLV tag longer than 4 bytes")
    return tag, offset


def tlv_decode(data: bytes, depth: int = 0) -> tuple[tlv.Tlv, ...]:
    """Decode a sequence of TLV objects filling `data` exactly."""
    if depth > tlv.MAX_DEPTH:
        raise ZvtDecodeError("TLV nested too deeply")
    items: list[tlv.Tlv] = []
    offset = 0
    while offset < len(data):
        tag, offset = _decode_tag(data, offset)
        length, offset = tlv.decode_length(data, offset)
        end = offset + length
        if end > len(data):
            raise ZvtDecodeError(f"TLV {tag:X} length {length} overruns its container")
        value = bytes(data[offset:end])
        if tlv.tag_is_constructed(tag):
            items.append(tlv.Tlv(tag, children=tlv_decode(value, depth + 1)))
        else:
            items.append(tlv.Tlv(tag, value=value))
        offset = end
    return tuple(items)


# -- bmp.py ---------------------------------------------------------------------------------
def mask_pan(pan: str) -> str:
    """Keep at most the first 6 and last 4 digits; everything between becomes '*'.

    A PAN too short to hide at least 3 digits between those shows only its last 4.
    """
    n = len(pan)
    keep_head = 6 if n - 10 >= 3 else 0
    return "".join(ch if i < keep_head or i >= n - 4 else "*" for i, ch in enumerate(pan))


def _decode_bcd_or_none(raw: bytes) -> int:
    if raw and raw == b"\xff" * len(raw):
        return NO_NUMBER
    return bcd_decode(raw)


def _decode_pan(raw: bytes) -> str:
    out = []
    for nibble in raw.hex().upper():
        if nibble in "DF":  # F pads; D separates the PAN from track-style data: never kept
            break
        if nibble == "E":
            out.append("*")
        elif nibble.isdigit():
            out.append(nibble)
        else:
            raise ZvtDecodeError(f"bad PAN nibble {nibble}")
    return mask_pan("".join(out))


def _encode_pan(pan: str) -> bytes:
    if not pan or any(c not in "0123456789*" for c in pan):
        raise ZvtEncodeError("a PAN is digits and '*' for masked digits")
    nibbles = pan.replace("*", "E")
    if len(nibbles) % 2:
        nibbles += "F"
    return bytes.fromhex(nibbles)


def _text(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode(TEXT_ENCODING)


_VAR_DIGITS = {
    Kind.LL_TEXT: 2,
    Kind.LL_RAW: 2,
    Kind.PAN: 2,
    Kind.TRACK_LL: 2,
    Kind.LLL_TEXT: 3,
    Kind.LLL_RAW: 3,
    Kind.TRACK_LLL: 3,
    Kind.LL_BCD: 2,
}
_DECODERS: dict[Kind, Callable[[bytes], Value | None]] = {
    Kind.TRACK_LL: lambda raw: None,
    Kind.TRACK_LLL: lambda raw: None,
    Kind.BYTE: lambda raw: raw[0],
    Kind.BCD_INT: bcd_decode,
    Kind.BCD_OR_NONE: _decode_bcd_or_none,
    Kind.BCD_STR: bcd_digits,
    Kind.ASCII: lambda raw: _text(raw).rstrip(" "),
    Kind.LL_TEXT: _text,
    Kind.LLL_TEXT: _text,
    Kind.PAN: _decode_pan,
    Kind.RAW: bytes,
    Kind.UINT: lambda raw: int.from_bytes(raw, "big"),
    Kind.LL_BCD: bcd_digits,
    Kind.LL_RAW: bytes,
    Kind.LLL_RAW: bytes,
}


def decode_value(spec: BmpSpec, data: bytes, offset: int) -> tuple[Value | None, int]:
    """Decode the value of `spec` at `offset` (just after the BMP byte).

    Returns (value, new offset); value is None for dropped track data.
    """
    kind = spec.kind
    if kind is Kind.TLV:
        length, start = tlv.decode_length(data, offset)
        end = start + length
        if end > len(data):
            raise ZvtDecodeError(f"BMP 06 length {length} overruns the APDU")
        return tlv_decode(data[start:end]), end
    ndigits = _VAR_DIGITS.get(kind)
    if ndigits is None:
        start, length = offset, spec.length
    else:
        start, length = offset + ndigits, bcd_decode_var_length(data, offset, ndigits)
    end = start + length
    if end > len(data):
        raise ZvtDecodeError(f"BMP {spec.number:02X} ({spec.name}) truncated")
    return _DECODERS[kind](data[start:end]), end


def _encode_byte(spec: BmpSpec, value: Value) -> bytes:
    if not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise ZvtEncodeError(f"BMP {spec.number:02X} takes one byte, got {value!r}")
    return bytes((value,))


def _encode_bcd_int(spec: BmpSpec, value: Value) -> bytes:
    if not isinstance(value, int):
        raise ZvtEncodeError(f"BMP {spec.number:02X} takes an int")
    return bcd_encode(value, spec.length)


def _encode_bcd_or_none(spec: BmpSpec, value: Value) -> bytes:
    if value == NO_NUMBER:
        return b"\xff" * spec.length
    return _encode_bcd_int(spec, value)


def _encode_bcd_str(spec: BmpSpec, value: Value) -> bytes:
    if not isinstance(value, str) or len(value) != spec.length * 2:
        raise ZvtEncodeError(f"BMP {spec.number:02X} takes {spec.length * 2} digits")
    return bcd_encode_digits(value, spec.length)


def _encode_ascii(spec: BmpSpec, value: Value) -> bytes:
    raw = _as_bytes(value)
    if len(raw) > spec.length:
        raise ZvtEncodeError(f"BMP {spec.number:02X} takes at most {spec.length} characters")
    return raw.ljust(spec.length, b" ")


def _encode_raw(spec: BmpSpec, value: Value) -> bytes:
    if not isinstance(value, bytes) or len(value) != spec.length:
        raise ZvtEncodeError(f"BMP {spec.number:02X} takes {spec.length} bytes")
    return value


def _encode_uint(spec: BmpSpec, value: Value) -> bytes:
    if not isinstance(value, int) or not 0 <= value < 1 << (8 * spec.length):
        raise ZvtEncodeError(f"BMP {spec.number:02X} takes a {spec.length}-byte unsigned int")
    return value.to_bytes(spec.length, "big")


def _encode_tlv(spec: BmpSpec, value: Value) -> bytes:
    if not isinstance(value, tuple):
        raise ZvtEncodeError("BMP 06 takes a tuple of Tlv")
    body = tlv.encode(value)
    return tlv.encode_length(len(body)) + body


def _encode_var(spec: BmpSpec, value: Value) -> bytes:
    if spec.kind is Kind.PAN:
        if not isinstance(value, str):
            raise ZvtEncodeError("BMP 22 takes a str")
        raw = _encode_pan(value)
    elif spec.kind is Kind.LL_BCD:
        if not isinstance(value, str) or len(value) % 2 or value.strip("0123456789"):
            raise ZvtEncodeError(f"BMP {spec.number:02X} takes an even number of digits")
        raw = bytes.fromhex(value)
    else:
        raw = _as_bytes(value)
        if spec.number == 0x8B:
            raw += b"\x00"
    return bcd_encode_var_length(len(raw), _VAR_DIGITS[spec.kind]) + raw


_ENCODERS: dict[Kind, Callable[[BmpSpec, Value], bytes]] = {
    Kind.TLV: _encode_tlv,
    Kind.BYTE: _encode_byte,
    Kind.BCD_INT: _encode_bcd_int,
    Kind.BCD_OR_NONE: _encode_bcd_or_none,
    Kind.BCD_STR: _encode_bcd_str,
    Kind.ASCII: _encode_ascii,
    Kind.RAW: _encode_raw,
    Kind.UINT: _encode_uint,
}


def encode_value(spec: BmpSpec, value: Value) -> bytes:
    return _ENCODERS.get(spec.kind, _encode_var)(spec, value)


def _as_bytes(value: Value) -> bytes:
    if isinstance(value, str):
        try:
            return value.encode(TEXT_ENCODING)
        except UnicodeEncodeError as exc:
            raise ZvtEncodeError(f"text not encodable in {TEXT_ENCODING}: {value!r}") from exc
    if isinstance(value, bytes):
        return value
    raise ZvtEncodeError(f"expected text or bytes, got {type(value).__name__}")


def decode_all(data: bytes, offset: int = 0) -> list[tuple[int, Value]]:
    """Decode BMPs from `offset` to the end of `data`. Track data is dropped."""
    out: list[tuple[int, Value]] = []
    while offset < len(data):
        number = data[offset]
        spec = SPECS.get(number)
        if spec is None:
            raise ZvtDecodeError(f"unknown BMP {number:02X} at offset {offset}")
        value, offset = decode_value(spec, data, offset + 1)
        if value is not None:
            out.append((number, value))
    return out


def encode_one(number: int, value: Value) -> bytes:
    spec = SPECS.get(number)
    if spec is None:
        raise ZvtEncodeError(f"unknown BMP {number:02X}")
    return bytes([number]) + encode_value(spec, value)


# -- bmpset.py ------------------------------------------------------------------------------
def bmpset_encode(message: Any) -> bytes:
    """The BMP-tagged fields of `message`, in declaration order, absent ones skipped;
    then its `other` BMPs (raw pass-through), if it has that field."""
    out = bytearray()
    for name, number in bmpset._layout(type(message)).fields:
        value = getattr(message, name)
        if value is not None:
            out += encode_one(number, value)
    for number, value in getattr(message, "other", ()):
        out += encode_one(number, value)
    return bytes(out)


def bmpset_decode(cls: type[T], data: bytes, offset: int = 0, **fixed: Any) -> T:
    """Build `cls` from the BMPs in `data[offset:]` plus the `fixed` (untagged) fields.

    A BMP the class has no field for goes to its `other` field when it has one and is
    an error otherwise; the same BMP twice is an error.
    """
    layout = bmpset._layout(cls)
    values: dict[str, Any] = dict(fixed)
    other: list[tuple[int, Value]] = []
    seen: set[int] = set()
    for number, value in decode_all(data, offset):
        if number in seen:
            raise ZvtDecodeError(f"BMP {number:02X} appears twice")
        seen.add(number)
        name = layout.by_number.get(number)
        if name is not None:
            values[name] = value
        elif layout.has_other:
            other.append((number, value))
        else:
            raise ZvtDecodeError(f"BMP {number:02X} is not allowed in {cls.__name__}")
    if layout.has_other:
        values["other"] = tuple(other)
    return cls(**values)


# -- framing.py (CRC and encoding) ----------------------------------------------------------
def _make_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _make_table()


def crc16_kermit(data: bytes, crc: int = 0) -> int:
    """CRC-16/KERMIT: reflected polynomial 0x1021 (0x8408), init 0, no final xor."""
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc


def frame_crc(apdu: bytes) -> int:
    """The CRC a frame carries: over the unstuffed APDU plus the ETX byte."""
    return crc16_kermit(bytes([ETX]), crc16_kermit(apdu))


def encode_frame(apdu: bytes) -> bytes:
    crc = frame_crc(apdu)
    return (
        bytes([DLE, STX])
        + apdu.replace(b"\x10", b"\x10\x10")
        + bytes([DLE, ETX, crc & 0xFF, crc >> 8])
    )
