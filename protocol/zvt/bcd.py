"""Packed BCD numbers and the F-nibble LLVAR/LLLVAR length prefixes of ZVT."""

from __future__ import annotations

from posterm.protocol.zvt.errors import ZvtDecodeError, ZvtEncodeError


def encode(value: int, nbytes: int) -> bytes:
    """`value` as `nbytes` bytes of packed BCD, most significant digit first."""
    if isinstance(value, bool) or not isinstance(value, int):  # str(True) is no digits
        raise ZvtEncodeError(f"a BCD value is a whole number, not {value!r}")
    if value < 0:
        raise ZvtEncodeError(f"BCD value must not be negative: {value}")
    digits = str(value)
    if len(digits) > nbytes * 2:
        raise ZvtEncodeError(f"{value} does not fit in {nbytes} BCD bytes")
    return bytes.fromhex(digits.rjust(nbytes * 2, "0"))


def encode_digits(digits: str, nbytes: int) -> bytes:
    """A string of decimal digits as packed BCD, left-padded with zeros."""
    if not digits.isascii() or not digits.isdigit() or len(digits) > nbytes * 2:
        raise ZvtEncodeError(f"{digits!r} is not at most {nbytes * 2} decimal digits")
    return bytes.fromhex(digits.rjust(nbytes * 2, "0"))


def digits(data: bytes) -> str:
    """The decimal digits of packed BCD bytes; any nibble above 9 is an error. No bytes
    are no digits (an empty LLVAR BCD field, like `4C F0 F0`)."""
    text = data.hex()
    if text and not text.isdigit():
        raise ZvtDecodeError(f"not packed BCD: {text}")
    return text


def decode(data: bytes) -> int:
    return int(digits(data)) if data else 0


def _var_prefix(length: int, ndigits: int) -> bytes:
    return bytes(0xF0 | int(d) for d in str(length).rjust(ndigits, "0"))


# Every LLVAR and LLLVAR prefix, worked out once: the BMP codecs look them up per field.
_PREFIXES = {n: tuple(_var_prefix(i, n) for i in range(10**n)) for n in (2, 3)}
VAR_LENGTHS: dict[int, dict[bytes, int]] = {
    n: {prefix: i for i, prefix in enumerate(table)} for n, table in _PREFIXES.items()
}


def var_prefixes(ndigits: int) -> tuple[bytes, ...]:
    """Every LLVAR (2) or LLLVAR (3) prefix, indexed by the length it announces."""
    return _PREFIXES[ndigits]


def encode_var_length(length: int, ndigits: int) -> bytes:
    """The LLVAR (2 digits) or LLLVAR (3 digits) length prefix: each digit as an Fx byte."""
    if not 0 <= length < 10**ndigits:
        raise ZvtEncodeError(f"variable field of {length} bytes exceeds {ndigits} length digits")
    table = _PREFIXES.get(ndigits)
    return table[length] if table is not None else _var_prefix(length, ndigits)


def decode_var_length(data: bytes, offset: int, ndigits: int) -> int:
    """Read an LLVAR/LLLVAR length at `offset`; every byte must be F0..F9."""
    raw = data[offset : offset + ndigits]
    known = VAR_LENGTHS.get(ndigits)
    length = known.get(bytes(raw)) if known is not None else None
    if length is not None:
        return length
    if len(raw) < ndigits:
        raise ZvtDecodeError("truncated variable-length prefix")
    length = 0
    for byte in raw:
        if byte >> 4 != 0xF or byte & 0x0F > 9:
            raise ZvtDecodeError(f"bad variable-length digit {byte:02X}")
        length = length * 10 + (byte & 0x0F)
    return length
