"""The table-driven ZVT codec against its first, straightforward form (reference_codec.py):
the same bytes out of every encoder, the same values out of every decoder, and the same
error (class and message) for every value or byte string either refuses (issue 23)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from posterm.protocol.zvt import bmp, bmpset, messages, tlv
from posterm.protocol.zvt.errors import ZvtError
from tests.fuzz.profiles import fuzz
from tests.zvt import reference_codec as ref
from tests.zvt import strategies as s

VALUED = [spec for spec in bmp.SPECS.values() if spec.number not in bmp.TRACK_BMPS]
ANY_MESSAGE = st.one_of(*s.COMMANDS, *s.PT_MESSAGES)
# values no BMP takes, or only some do: the encoders must refuse them as they did
JUNK = (
    st.none()
    | st.booleans()
    | st.integers(-(10**14), 10**14)
    | st.sampled_from([0xFFFF, 65535.0, 1.5, -1, 256, 10**12, "١٢٣٤", "12a4", "²", "€", "ÿ"])
    | st.text(max_size=20)
    | st.binary(max_size=20)
    | st.lists(st.integers(0, 3), max_size=2).map(tuple)
)


def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """What `fn` gives, or which ZvtError (class and message) it raises."""
    try:
        return "ok", fn(*args, **kwargs)
    except ZvtError as exc:
        return type(exc).__name__, str(exc)


@st.composite
def bmp_streams(draw: st.DrawFn) -> bytes:
    """Valid BMPs one after another (track data too), then mangled a little, or not."""
    raw = bytearray()
    for spec in draw(st.lists(st.sampled_from(list(bmp.SPECS.values())), max_size=6)):
        if spec.number in bmp.TRACK_BMPS:
            raw += bytes([spec.number]) + ref.bcd_encode_var_length(2, 2) + b"\x12\x34"
        else:
            raw += bmp.encode_one(spec.number, draw(s.bmp_value(spec)))
    for _ in range(draw(st.integers(0, 3))):
        pos = draw(st.integers(0, max(0, len(raw) - 1)))
        op = draw(st.sampled_from(["set", "cut", "insert"]))
        if op == "set" and raw:
            raw[pos] = draw(st.sampled_from([0x00, 0x0A, 0x10, 0x9F, 0xDA, 0xEF, 0xF0, 0xFF]))
        elif op == "cut":
            del raw[pos:]
        else:
            raw[pos:pos] = draw(st.binary(min_size=1, max_size=3))
    return bytes(raw)


@fuzz(2)
@given(
    st.sampled_from(VALUED).flatmap(lambda spec: st.tuples(st.just(spec), s.bmp_value(spec)))
    | st.tuples(st.sampled_from(list(bmp.SPECS.values())), JUNK)
)
@example(case=(bmp.SPECS[0x04], 1010))  # 10 10: the BCD bytes that are DLE on the wire
@example(case=(bmp.SPECS[0x87], 65535.0))  # == NO_NUMBER: written FF FF, as it was
@example(case=(bmp.SPECS[0x04], True))  # a bool is no amount
@example(case=(bmp.SPECS[0x0C], "١٢٣٤٥٦"))  # Arabic-Indic digits are no BCD
@example(case=(bmp.SPECS[0x22], "4761*3"))
def test_every_bmp_encoder_writes_what_the_reference_wrote(case: tuple[bmp.BmpSpec, Any]) -> None:
    """GIVEN any BMP and any value, valid or not WHEN encoded alone, with its BMP byte and
    through its bound encoder THEN the same bytes as the reference, or the same error."""
    spec, value = case
    want = outcome(ref.encode_one, spec.number, value)
    assert outcome(bmp.encode_one, spec.number, value) == want
    assert outcome(bmp.encoder(spec.number), value) == want
    assert outcome(bmp.encode_value, spec, value) == outcome(ref.encode_value, spec, value)


@fuzz(2)
@given(bmp_streams() | st.binary(max_size=120))
@example(raw=bytes.fromhex("0400000000101022F0F8476173EEEEEE0119"))
@example(raw=bytes.fromhex("22F0F2ABCD"))  # bad PAN nibble A
@example(raw=bytes.fromhex("22F0F2123D"))  # D ends the PAN
@example(raw=bytes.fromhex("04000000001A50"))  # not BCD
@example(raw=bytes.fromhex("87FFFF87FF12"))  # FF FF is none, FF 12 is not BCD
@example(raw=bytes.fromhex("8BF0F3414200"))  # card name, NUL-terminated
@example(raw=bytes.fromhex("3CF0F1"))  # an LLLVAR prefix cut short
@example(raw=bytes.fromhex("3CF0FA01"))  # an LLLVAR digit that is no digit
def test_bmp_decoder_reads_what_the_reference_read(raw: bytes) -> None:
    """GIVEN valid, mangled or random BMP bytes WHEN decoded THEN the same values as the
    reference, or the same error class and message."""
    assert outcome(bmp.decode_all, raw) == outcome(ref.decode_all, raw)
    assert outcome(bmp.decode_all, bytearray(raw)) == outcome(ref.decode_all, raw)


@fuzz()
@given(ANY_MESSAGE)
def test_every_message_encodes_to_the_reference_bytes(message: Any) -> None:
    """GIVEN any message WHEN its BMPs are written THEN byte for byte the reference's."""
    assert bmpset.encode(message) == ref.bmpset_encode(message)


@fuzz()
@given(ANY_MESSAGE, bmp_streams())
def test_every_message_decodes_like_the_reference(message: Any, tail: bytes) -> None:
    """GIVEN a message's BMPs, then more (valid, mangled, repeated or foreign) WHEN read
    back into its class THEN the same message as the reference, or the same error."""
    cls, data = type(message), bmpset.encode(message) + tail
    assert outcome(bmpset.decode, cls, data) == outcome(ref.bmpset_decode, cls, data)


@fuzz()
@given(ANY_MESSAGE)
def test_every_message_survives_the_wire(message: Any) -> None:
    """GIVEN any message WHEN its APDU goes through decode THEN the same message."""
    assert messages.decode(messages.encode(message)) == message


@fuzz(2)
@given(s.tlvs.map(tlv.encode) | st.binary(max_size=120))
@example(raw=bytes.fromhex("1F070102250A070548454C4C4F070131"))  # a 06 D3 print block
@example(raw=bytes.fromhex("3F2002010100"))  # a constructed two-byte tag
def test_tlv_decoder_reads_what_the_reference_read(raw: bytes) -> None:
    """GIVEN TLV bytes, valid or not WHEN decoded THEN the same objects or the same error."""
    assert outcome(tlv.decode, raw) == outcome(ref.tlv_decode, raw)
