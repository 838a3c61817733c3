"""ZVT bitmaps (BMPs): the tagged fields of APDU data, decoded into Python values.

Track data (BMPs 23, 24, 2D) and the chip's EF_ID (BMP A7, which holds the card number:
spec page 116) are consumed and dropped on arrival: they never become a value. A PAN is
always returned masked (at most first 6 / last 4 digits visible).

The formats follow the BMP summary of the ZVT spec (PA00P015 rev. 13.08, chapter 13): a
decoder must know every BMP's length, because an unknown one hides the rest of the APDU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from posterm.protocol.zvt import bcd, tlv
from posterm.protocol.zvt.errors import ZvtDecodeError, ZvtEncodeError

TEXT_ENCODING = "cp437"


class Kind(Enum):
    BYTE = "byte"  # one byte -> int
    BCD_INT = "bcd_int"  # fixed BCD -> int
    BCD_OR_NONE = "bcd_or_none"  # fixed BCD -> int; all FF bytes ("no number") -> NO_NUMBER
    BCD_STR = "bcd_str"  # fixed BCD -> digit string (dates, times, terminal id, password)
    ASCII = "ascii"  # fixed text -> str
    RAW = "raw"  # fixed bytes -> bytes
    UINT = "uint"  # fixed big-endian binary integer -> int
    LL_TEXT = "ll_text"  # LLVAR text -> str (NUL-terminated allowed)
    LLL_TEXT = "lll_text"  # LLLVAR text -> str
    LL_RAW = "ll_raw"
    LLL_RAW = "lll_raw"
    LL_BCD = "ll_bcd"  # LLVAR packed BCD -> digit string
    PAN = "pan"  # LLVAR BCD with E (masked) and F (pad) nibbles -> masked str
    TRACK_LL = "track_ll"  # dropped
    TRACK_LLL = "track_lll"  # dropped
    TLV = "tlv"  # BER length + TLV objects -> tuple[Tlv, ...]


@dataclass(frozen=True)
class BmpSpec:
    number: int
    name: str
    kind: Kind
    length: int = 0  # fixed length, for fixed kinds


_SPECS = [
    BmpSpec(0x01, "timeout", Kind.BYTE, 1),
    BmpSpec(0x02, "max_status_infos", Kind.BYTE, 1),
    BmpSpec(0x03, "service_byte", Kind.BYTE, 1),
    BmpSpec(0x04, "amount", Kind.BCD_INT, 6),
    BmpSpec(0x05, "pump_no", Kind.BYTE, 1),
    BmpSpec(0x06, "tlv", Kind.TLV),
    BmpSpec(0x0B, "trace", Kind.BCD_INT, 3),
    BmpSpec(0x0C, "time", Kind.BCD_STR, 3),
    BmpSpec(0x0D, "date", Kind.BCD_STR, 2),
    BmpSpec(0x0E, "expiry", Kind.BCD_STR, 2),
    BmpSpec(0x17, "card_seq_no", Kind.BCD_INT, 2),
    BmpSpec(0x19, "payment_type", Kind.BYTE, 1),
    BmpSpec(0x22, "pan", Kind.PAN),
    BmpSpec(0x23, "track2", Kind.TRACK_LL),
    BmpSpec(0x24, "track3", Kind.TRACK_LLL),
    BmpSpec(0x27, "result_code", Kind.BYTE, 1),
    BmpSpec(0x29, "terminal_id", Kind.BCD_STR, 4),
    BmpSpec(0x2A, "vu_number", Kind.ASCII, 15),
    BmpSpec(0x2D, "track1", Kind.TRACK_LL),
    BmpSpec(0x2E, "sync_chip_data", Kind.LLL_RAW),
    BmpSpec(0x37, "original_trace", Kind.BCD_INT, 3),
    BmpSpec(0x3A, "cvv", Kind.BCD_INT, 2),
    BmpSpec(0x3B, "aid", Kind.RAW, 8),
    BmpSpec(0x3C, "additional_text", Kind.LLL_TEXT),
    BmpSpec(0x3D, "password", Kind.BCD_STR, 3),
    BmpSpec(0x49, "currency", Kind.BCD_INT, 2),
    BmpSpec(0x4C, "blocked_goods_groups", Kind.LL_BCD),  # product codes, 3 BCD bytes each
    BmpSpec(0x60, "totals", Kind.LLL_RAW),
    BmpSpec(0x70, "image_id", Kind.UINT, 4),
    BmpSpec(0x71, "image_size", Kind.UINT, 4),
    BmpSpec(0x72, "image_mime", Kind.BYTE, 1),
    BmpSpec(0x73, "image_encoding", Kind.BYTE, 1),
    BmpSpec(0x74, "chunk_count", Kind.BYTE, 1),
    BmpSpec(0x75, "chunk_index", Kind.BYTE, 1),
    BmpSpec(0x87, "receipt_no", Kind.BCD_OR_NONE, 2),
    BmpSpec(0x88, "turnover_no", Kind.BCD_INT, 3),
    BmpSpec(0x8A, "card_type", Kind.BYTE, 1),
    BmpSpec(0x8B, "card_name", Kind.LL_TEXT),
    BmpSpec(0x8C, "network_card_type", Kind.BYTE, 1),
    BmpSpec(0x92, "additional_data", Kind.LLL_RAW),
    BmpSpec(0x9A, "geldkarte_data", Kind.LLL_RAW),
    BmpSpec(0xA0, "host_result_code", Kind.BYTE, 1),
    BmpSpec(0xA7, "chip_data", Kind.TRACK_LL),  # EF_ID: bytes 5-9 are the card number
    BmpSpec(0xAA, "date_full", Kind.BCD_STR, 3),
    BmpSpec(0xAF, "emv_print_data", Kind.LLL_RAW),
    BmpSpec(0xBA, "aid_parameter", Kind.RAW, 5),
    BmpSpec(0xD0, "algorithm_key", Kind.BYTE, 1),
    BmpSpec(0xD1, "card_offset_pin", Kind.LL_RAW),
    BmpSpec(0xD2, "direction", Kind.BYTE, 1),
    BmpSpec(0xD3, "key_position", Kind.BYTE, 1),
    BmpSpec(0xE0, "input_min_length", Kind.BYTE, 1),
    BmpSpec(0xE1, "text2_line1", Kind.LL_TEXT),
    BmpSpec(0xE2, "text2_line2", Kind.LL_TEXT),
    BmpSpec(0xE3, "text2_line3", Kind.LL_TEXT),
    BmpSpec(0xE4, "text2_line4", Kind.LL_TEXT),
    BmpSpec(0xE5, "text2_line5", Kind.LL_TEXT),
    BmpSpec(0xE6, "text2_line6", Kind.LL_TEXT),
    BmpSpec(0xE7, "text2_line7", Kind.LL_TEXT),
    BmpSpec(0xE8, "text2_line8", Kind.LL_TEXT),
    BmpSpec(0xE9, "input_max_length", Kind.BYTE, 1),
    BmpSpec(0xEA, "echo", Kind.BYTE, 1),
    BmpSpec(0xEB, "mac", Kind.RAW, 8),
    BmpSpec(0xF0, "display_duration", Kind.BYTE, 1),
    BmpSpec(0xF1, "text1_line1", Kind.LL_TEXT),
    BmpSpec(0xF2, "text1_line2", Kind.LL_TEXT),
    BmpSpec(0xF3, "text1_line3", Kind.LL_TEXT),
    BmpSpec(0xF4, "text1_line4", Kind.LL_TEXT),
    BmpSpec(0xF5, "text1_line5", Kind.LL_TEXT),
    BmpSpec(0xF6, "text1_line6", Kind.LL_TEXT),
    BmpSpec(0xF7, "text1_line7", Kind.LL_TEXT),
    BmpSpec(0xF8, "text1_line8", Kind.LL_TEXT),
    BmpSpec(0xF9, "beep_tones", Kind.BYTE, 1),
    BmpSpec(0xFA, "card_reader_activation", Kind.BYTE, 1),
    BmpSpec(0xFB, "confirmation", Kind.BYTE, 1),
    BmpSpec(0xFC, "dialog_control", Kind.BYTE, 1),
    BmpSpec(0xFD, "display_device", Kind.BYTE, 1),
]
SPECS: dict[int, BmpSpec] = {s.number: s for s in _SPECS}
TRACK_BMPS = frozenset(n for n, s in SPECS.items() if s.kind in (Kind.TRACK_LL, Kind.TRACK_LLL))

Value = int | str | bytes | tuple[tlv.Tlv, ...]

# A receipt number of FF FF: the PT has none to give (e.g. 06 1E after an abort).
NO_NUMBER = 0xFFFF


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
    return bcd.decode(raw)


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
    Kind.BCD_INT: bcd.decode,
    Kind.BCD_OR_NONE: _decode_bcd_or_none,
    Kind.BCD_STR: bcd.digits,
    Kind.ASCII: lambda raw: _text(raw).rstrip(" "),
    Kind.LL_TEXT: _text,
    Kind.LLL_TEXT: _text,
    Kind.PAN: _decode_pan,
    Kind.RAW: bytes,
    Kind.UINT: lambda raw: int.from_bytes(raw, "big"),
    Kind.LL_BCD: bcd.digits,
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
        return tlv.decode(data[start:end]), end
    ndigits = _VAR_DIGITS.get(kind)
    if ndigits is None:
        start, length = offset, spec.length
    else:
        start, length = offset + ndigits, bcd.decode_var_length(data, offset, ndigits)
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
    return bcd.encode(value, spec.length)


def _encode_bcd_or_none(spec: BmpSpec, value: Value) -> bytes:
    if value == NO_NUMBER:
        return b"\xff" * spec.length
    return _encode_bcd_int(spec, value)


def _encode_bcd_str(spec: BmpSpec, value: Value) -> bytes:
    if not isinstance(value, str) or len(value) != spec.length * 2:
        raise ZvtEncodeError(f"BMP {spec.number:02X} takes {spec.length * 2} digits")
    return bcd.encode_digits(value, spec.length)


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
    return bcd.encode_var_length(len(raw), _VAR_DIGITS[spec.kind]) + raw


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
