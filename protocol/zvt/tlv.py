"""BER-TLV as ZVT uses it (BMP 06, 06 D3): multi-byte tags, short and long-form lengths."""

from __future__ import annotations

from dataclasses import dataclass

from posterm.protocol.zvt.errors import ZvtDecodeError, ZvtEncodeError

MAX_DEPTH = 8


@dataclass(frozen=True)
class Tlv:
    """One TLV object. `tag` is the whole tag as an int (0x1F07); a constructed tag holds
    `children`, a primitive one `value`."""

    tag: int
    value: bytes = b""
    children: tuple[Tlv, ...] = ()

    @property
    def constructed(self) -> bool:
        return tag_is_constructed(self.tag)

    def find(self, tag: int) -> Tlv | None:
        return find(self.children, tag)

    def find_all(self, tag: int) -> list[Tlv]:
        return [c for c in self.children if c.tag == tag]


def tag_bytes(tag: int) -> bytes:
    if tag < 0:
        raise ZvtEncodeError(f"negative TLV tag {tag}")
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def tag_is_constructed(tag: int) -> bool:
    return bool(tag_bytes(tag)[0] & 0x20)


def find(items: tuple[Tlv, ...] | list[Tlv], tag: int) -> Tlv | None:
    return next((t for t in items if t.tag == tag), None)


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    if length <= 0xFF:
        return bytes([0x81, length])
    if length <= 0xFFFF:
        return bytes([0x82]) + length.to_bytes(2, "big")
    raise ZvtEncodeError(f"TLV length {length} too large")


def decode_length(data: bytes, offset: int) -> tuple[int, int]:
    """Return (length, offset after the length field)."""
    if offset >= len(data):
        raise ZvtDecodeError("truncated TLV length")
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if count not in (1, 2):
        raise ZvtDecodeError(f"unsupported TLV length form {first:02X}")
    raw = data[offset + 1 : offset + 1 + count]
    if len(raw) < count:
        raise ZvtDecodeError("truncated TLV long-form length")
    return int.from_bytes(raw, "big"), offset + 1 + count


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


def decode(data: bytes, depth: int = 0) -> tuple[Tlv, ...]:
    """Decode a sequence of TLV objects filling `data` exactly."""
    if depth > MAX_DEPTH:
        raise ZvtDecodeError("TLV nested too deeply")
    items: list[Tlv] = []
    offset = 0
    while offset < len(data):
        constructed = data[offset] & 0x20  # the tag's first byte says (tag_is_constructed)
        tag, offset = _decode_tag(data, offset)
        length, offset = decode_length(data, offset)
        end = offset + length
        if end > len(data):
            raise ZvtDecodeError(f"TLV {tag:X} length {length} overruns its container")
        value = bytes(data[offset:end])
        if constructed:
            items.append(Tlv(tag, children=decode(value, depth + 1)))
        else:
            items.append(Tlv(tag, value=value))
        offset = end
    return tuple(items)


def encode(items: tuple[Tlv, ...] | list[Tlv]) -> bytes:
    out = bytearray()
    for item in items:
        body = encode(item.children) if item.constructed else item.value
        if item.constructed and item.value:
            raise ZvtEncodeError(f"constructed TLV {item.tag:X} cannot carry a primitive value")
        if not item.constructed and item.children:
            raise ZvtEncodeError(f"primitive TLV {item.tag:X} cannot have children")
        out += tag_bytes(item.tag) + encode_length(len(body)) + body
    return bytes(out)
