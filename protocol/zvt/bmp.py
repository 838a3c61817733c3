"""ZVT bitmaps (BMPs): the tagged fields of APDU data, decoded into Python values.

Track data (BMPs 23, 24, 2D) and the chip's EF_ID (BMP A7, which holds the card number:
spec page 116) are consumed and dropped on arrival: they never become a value. A PAN is
always returned masked (at most first 6 / last 4 digits visible).

Every BMP's wire format is in `bmpspecs`; this module builds one encoder and one decoder
per BMP number from it, once, so a message's fields cost a dict lookup and one call each
(the codec is on the path of every sale: bench/bench_zvt.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from posterm.protocol.zvt import bcd, tlv
from posterm.protocol.zvt.bmpspecs import NO_NUMBER, SPECS, TEXT_ENCODING, TRACK_BMPS, BmpSpec, Kind
from posterm.protocol.zvt.errors import ZvtDecodeError, ZvtEncodeError

__all__ = [  # the BMP table's names, re-exported: callers know them as bmp.SPECS, bmp.Kind ...
    "DECODERS",
    "NO_NUMBER",
    "SPECS",
    "TEXT_ENCODING",
    "TRACK_BMPS",
    "BmpSpec",
    "Kind",
    "Value",
    "decode_all",
    "decode_value",
    "encode_one",
    "encode_value",
    "encoder",
    "mask_pan",
]

Value = int | str | bytes | tuple[tlv.Tlv, ...]
Decoder = Callable[[bytes, int], tuple[Value | None, int]]
Encoder = Callable[[Value], bytes]


def mask_pan(pan: str) -> str:
    """Keep at most the first 6 and last 4 digits; everything between becomes '*'.

    A PAN too short to hide at least 3 digits between those shows only its last 4.
    """
    n = len(pan)
    head = 6 if n - 10 >= 3 else 0
    tail = max(head, n - 4)
    return pan[:head] + "*" * (tail - head) + pan[tail:]


# The nibbles of a PAN, in `bytes.hex()` form: digits and E (a masked digit) are kept,
# D (separator from track-style data, never kept) and F (padding) end it, A-C are errors.
_PAN_HEAD = re.compile("[0-9e]*")


def _decode_pan(raw: bytes) -> str:
    text = raw.hex()
    end = _PAN_HEAD.match(text).end()  # type: ignore[union-attr]  # `*` always matches
    if end < len(text) and text[end] in "abc":
        raise ZvtDecodeError(f"bad PAN nibble {text[end].upper()}")
    return mask_pan(text[:end].replace("e", "*"))


def _encode_pan(pan: str) -> bytes:
    if not pan or pan.strip("0123456789*"):
        raise ZvtEncodeError("a PAN is digits and '*' for masked digits")
    nibbles = pan.replace("*", "E")
    if len(nibbles) % 2:
        nibbles += "F"
    return bytes.fromhex(nibbles)


def _text(raw: bytes) -> str:
    raw = raw.split(b"\x00", 1)[0]
    # cp437 and ASCII agree on 00-7F; the ASCII codec is C, cp437's a Python charmap
    return raw.decode("ascii") if raw.isascii() else raw.decode(TEXT_ENCODING)


def _drop(raw: bytes) -> None:
    return None


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
_CONVERTERS: dict[Kind, Callable[[bytes], Value | None]] = {
    Kind.TRACK_LL: _drop,
    Kind.TRACK_LLL: _drop,
    Kind.LL_TEXT: _text,
    Kind.LLL_TEXT: _text,
    Kind.PAN: _decode_pan,
    Kind.RAW: bytes,
    Kind.UINT: lambda raw: int.from_bytes(raw, "big"),
    Kind.LL_BCD: bcd.digits,
    Kind.LL_RAW: bytes,
    Kind.LLL_RAW: bytes,
}


def _decode_tlv(data: bytes, offset: int) -> tuple[Value | None, int]:
    length, start = tlv.decode_length(data, offset)
    end = start + length
    if end > len(data):
        raise ZvtDecodeError(f"BMP 06 length {length} overruns the APDU")
    return tlv.decode(data[start:end]), end


def _make_decoder(spec: BmpSpec) -> Decoder:
    """The decoder of `spec`'s value: (data, offset after the BMP byte) -> (value, end)."""
    kind, size = spec.kind, spec.length
    truncated = f"BMP {spec.number:02X} ({spec.name}) truncated"
    if kind is Kind.TLV:
        return _decode_tlv
    if kind is Kind.BYTE:

        def one_byte(data: bytes, offset: int) -> tuple[Value | None, int]:
            if offset >= len(data):
                raise ZvtDecodeError(truncated)
            return data[offset], offset + 1

        return one_byte
    if kind in (Kind.BCD_INT, Kind.BCD_STR, Kind.BCD_OR_NONE):
        return _make_bcd_decoder(spec, truncated)
    if kind is Kind.ASCII:  # fixed text, blank-padded: VU number

        def fixed_text(data: bytes, offset: int) -> tuple[Value | None, int]:
            end = offset + size
            if end > len(data):
                raise ZvtDecodeError(truncated)
            raw = data[offset:end].split(b"\x00", 1)[0]
            text = raw.decode("ascii") if raw.isascii() else raw.decode(TEXT_ENCODING)
            return text.rstrip(" "), end

        return fixed_text
    convert = _CONVERTERS[kind]
    ndigits = _VAR_DIGITS.get(kind)
    if ndigits is None and kind is Kind.RAW:  # a slice of bytes is the value: no call

        def fixed_raw(data: bytes, offset: int) -> tuple[Value | None, int]:
            end = offset + size
            if end > len(data):
                raise ZvtDecodeError(truncated)
            return data[offset:end], end

        return fixed_raw
    if ndigits is None:

        def fixed(data: bytes, offset: int) -> tuple[Value | None, int]:
            end = offset + size
            if end > len(data):
                raise ZvtDecodeError(truncated)
            return convert(data[offset:end]), end

        return fixed
    lengths = bcd.VAR_LENGTHS[ndigits]

    def variable(data: bytes, offset: int) -> tuple[Value | None, int]:
        start = offset + ndigits
        length = lengths.get(data[offset:start])
        if length is None:  # not F0..F9 digits, or cut: says which
            length = bcd.decode_var_length(data, offset, ndigits)
        end = start + length
        if end > len(data):
            raise ZvtDecodeError(truncated)
        return convert(data[start:end]), end

    return variable


def _make_bcd_decoder(spec: BmpSpec, truncated: str) -> Decoder:
    """Fixed packed BCD, as int (FF.. is NO_NUMBER for BCD_OR_NONE) or digit string: the
    commonest fields (amount, trace, date, time), so one call each, no helper."""
    size = spec.length

    def bcd_int(data: bytes, offset: int) -> tuple[Value | None, int]:
        end = offset + size
        text = data[offset:end].hex()
        if end > len(data):
            raise ZvtDecodeError(truncated)
        if text.isdigit():
            return int(text), end
        raise ZvtDecodeError(f"not packed BCD: {text}")

    def bcd_str(data: bytes, offset: int) -> tuple[Value | None, int]:
        end = offset + size
        text = data[offset:end].hex()
        if end > len(data):
            raise ZvtDecodeError(truncated)
        if text.isdigit():
            return text, end
        raise ZvtDecodeError(f"not packed BCD: {text}")

    none = "ff" * size

    def bcd_or_none(data: bytes, offset: int) -> tuple[Value | None, int]:
        end = offset + size
        text = data[offset:end].hex()
        if end > len(data):
            raise ZvtDecodeError(truncated)
        if text.isdigit():
            return int(text), end
        if text == none:
            return NO_NUMBER, end
        raise ZvtDecodeError(f"not packed BCD: {text}")

    return {Kind.BCD_INT: bcd_int, Kind.BCD_STR: bcd_str, Kind.BCD_OR_NONE: bcd_or_none}[spec.kind]


# BMP number -> its decoder: (data, offset after the BMP byte) -> (value or None, end)
DECODERS: dict[int, Decoder] = {number: _make_decoder(s) for number, s in SPECS.items()}


def decode_value(spec: BmpSpec, data: bytes, offset: int) -> tuple[Value | None, int]:
    """Decode the value of `spec` at `offset` (just after the BMP byte).

    Returns (value, new offset); value is None for dropped track data.
    """
    decoder = DECODERS.get(spec.number) if SPECS.get(spec.number) == spec else None
    return (decoder or _make_decoder(spec))(bytes(data), offset)


def decode_all(data: bytes, offset: int = 0) -> list[tuple[int, Value]]:
    """Decode BMPs from `offset` to the end of `data`. Track data is dropped."""
    if not isinstance(data, bytes):  # a bytearray slice would not hash as a length prefix
        data = bytes(data)
    out: list[tuple[int, Value]] = []
    size = len(data)
    decoders = DECODERS
    while offset < size:
        number = data[offset]
        decoder = decoders.get(number)
        if decoder is None:
            raise ZvtDecodeError(f"unknown BMP {number:02X} at offset {offset}")
        value, offset = decoder(data, offset + 1)
        if value is not None:
            out.append((number, value))
    return out


def _as_bytes(value: Value) -> bytes:
    if isinstance(value, str):
        if value.isascii():  # cp437 and ASCII agree on 00-7F
            return value.encode("ascii")
        try:
            return value.encode(TEXT_ENCODING)
        except UnicodeEncodeError as exc:
            raise ZvtEncodeError(f"text not encodable in {TEXT_ENCODING}: {value!r}") from exc
    if isinstance(value, bytes):
        return value
    raise ZvtEncodeError(f"expected text or bytes, got {type(value).__name__}")


def _make_encoder(spec: BmpSpec, head: bytes) -> Encoder:
    """The encoder of `spec`'s values, each result prefixed with `head` (the BMP byte for
    `encode_one`, nothing for `encode_value`)."""
    kind, size, number = spec.kind, spec.length, spec.number
    if kind is Kind.BYTE:
        table = [head + bytes((b,)) for b in range(256)]

        def one_byte(value: Value) -> bytes:
            if not isinstance(value, int) or not 0 <= value <= 0xFF:
                raise ZvtEncodeError(f"BMP {number:02X} takes one byte, got {value!r}")
            return table[value]

        return one_byte
    if kind in (Kind.BCD_INT, Kind.BCD_OR_NONE):
        return _make_bcd_encoder(spec, head)
    if kind is Kind.BCD_STR:

        def bcd_str(value: Value) -> bytes:
            if not isinstance(value, str) or len(value) != size * 2:
                raise ZvtEncodeError(f"BMP {number:02X} takes {size * 2} digits")
            if value.isascii() and value.isdigit():
                return head + bytes.fromhex(value)
            return head + bcd.encode_digits(value, size)  # refuses it, saying why

        return bcd_str
    if kind is Kind.ASCII:

        def ascii_text(value: Value) -> bytes:
            raw = _as_bytes(value)
            if len(raw) > size:
                raise ZvtEncodeError(f"BMP {number:02X} takes at most {size} characters")
            return head + raw.ljust(size, b" ")

        return ascii_text
    if kind is Kind.RAW:

        def raw_bytes(value: Value) -> bytes:
            if not isinstance(value, bytes) or len(value) != size:
                raise ZvtEncodeError(f"BMP {number:02X} takes {size} bytes")
            return head + value

        return raw_bytes
    if kind is Kind.UINT:

        def uint(value: Value) -> bytes:
            if not isinstance(value, int) or not 0 <= value < 1 << (8 * size):
                raise ZvtEncodeError(f"BMP {number:02X} takes a {size}-byte unsigned int")
            return head + value.to_bytes(size, "big")

        return uint
    if kind is Kind.TLV:

        def tlv_container(value: Value) -> bytes:
            if not isinstance(value, tuple):
                raise ZvtEncodeError("BMP 06 takes a tuple of Tlv")
            body = tlv.encode(value)
            return head + tlv.encode_length(len(body)) + body

        return tlv_container
    return _make_var_encoder(spec, head)


def _make_bcd_encoder(spec: BmpSpec, head: bytes) -> Encoder:
    """Fixed packed BCD from an int (NO_NUMBER is FF.. for BCD_OR_NONE): a plain int in
    range is written inline; anything else goes the long way, which refuses it."""
    size, number = spec.length, spec.number
    width, limit = size * 2, 10 ** (size * 2)

    def bcd_int(value: Value) -> bytes:
        if type(value) is int and 0 <= value < limit:  # not bool: checked below
            return head + bytes.fromhex(str(value).rjust(width, "0"))
        if not isinstance(value, int):
            raise ZvtEncodeError(f"BMP {number:02X} takes an int")
        return head + bcd.encode(value, size)

    if spec.kind is not Kind.BCD_OR_NONE:
        return bcd_int
    none = head + b"\xff" * size

    def bcd_or_none(value: Value) -> bytes:
        return none if value == NO_NUMBER else bcd_int(value)

    return bcd_or_none


def _make_var_encoder(spec: BmpSpec, head: bytes) -> Encoder:
    """LLVAR/LLLVAR fields (text, bytes, BCD digits, PAN, track data)."""
    kind, number, ndigits = spec.kind, spec.number, _VAR_DIGITS[spec.kind]
    nul = b"\x00" if number == 0x8B else b""  # the card name goes NUL-terminated
    prefixes = bcd.var_prefixes(ndigits)
    top = len(prefixes)

    def variable(value: Value) -> bytes:
        if kind is Kind.PAN:
            if not isinstance(value, str):
                raise ZvtEncodeError("BMP 22 takes a str")
            raw = _encode_pan(value)
        elif kind is Kind.LL_BCD:
            if not isinstance(value, str) or len(value) % 2 or value.strip("0123456789"):
                raise ZvtEncodeError(f"BMP {number:02X} takes an even number of digits")
            raw = bytes.fromhex(value)
        else:
            raw = _as_bytes(value) + nul
        size = len(raw)
        if size < top:
            return head + prefixes[size] + raw
        return head + bcd.encode_var_length(size, ndigits) + raw  # refuses it, saying why

    return variable


_VALUE_ENCODERS: dict[int, Encoder] = {n: _make_encoder(s, b"") for n, s in SPECS.items()}
_ENCODERS: dict[int, Encoder] = {n: _make_encoder(s, bytes((n,))) for n, s in SPECS.items()}


def encode_value(spec: BmpSpec, value: Value) -> bytes:
    encoder = _VALUE_ENCODERS.get(spec.number) if SPECS.get(spec.number) == spec else None
    return (encoder or _make_encoder(spec, b""))(value)


def encoder(number: int) -> Encoder:
    """The function writing BMP `number` (its byte, then the value): `encode_one` bound."""
    found = _ENCODERS.get(number)
    if found is None:
        raise ZvtEncodeError(f"unknown BMP {number:02X}")
    return found


def encode_one(number: int, value: Value) -> bytes:
    return encoder(number)(value)
