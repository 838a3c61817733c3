"""Fuzzing the ZVT codec: APDU length and reassembly, the serial DLE/STX framing with its
CRC, BMPs, TLV and the typed message decoder. Untrusted bytes either decode or raise the
protocol layer's `ZvtError`; what the encoders make decodes back to what went in."""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from posterm.protocol.zvt import apdu, bcd, bmp, framing, messages, tlv
from posterm.protocol.zvt.errors import ZvtDecodeError, ZvtEncodeError, ZvtError
from tests.fuzz.profiles import fuzz
from tests.zvt import spec_vectors as sv
from tests.zvt import strategies as s

SPEC_APDUS = [bytes.fromhex(v.apdu) for v in sv.APDU_VECTORS]
SPEC_FRAMES = [bytes.fromhex(v.frame) for v in sv.FRAME_VECTORS]
SPEC_TLVS = [bytes.fromhex(v.data) for v in sv.TLV_VECTORS]
ANY_MESSAGE = st.one_of(*s.COMMANDS, *s.PT_MESSAGES)
# the APDU codes the decoder knows, plus a few it does not
CODES = sorted({0x8000, 0x8400, 0x8483, 0x060F, 0x0501, *messages._PT, *messages.COMMANDS})


@st.composite
def mutated(draw: st.DrawFn, seeds: st.SearchStrategy[bytes]) -> bytes:
    """A valid byte string with 1-4 bytes flipped, cut, inserted or duplicated."""
    raw = bytearray(draw(seeds))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "cut", "insert", "dup", "drop"]))
        pos = draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "flip" and raw:
            raw[pos] ^= draw(st.integers(1, 255))
        elif op == "set" and raw:
            raw[pos] = draw(st.sampled_from([0x00, 0x10, 0x02, 0x03, 0x06, 0x15, 0xF0, 0xFF]))
        elif op == "cut":
            del raw[pos:]
        elif op == "insert":
            raw[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif op == "dup":
            raw[pos:pos] = raw[pos : pos + draw(st.integers(1, 8))]
        elif raw:
            del raw[pos]
    return bytes(raw)


def valid_apdus() -> st.SearchStrategy[bytes]:
    from_encoders = ANY_MESSAGE.map(lambda m: messages.encode(m).encode())
    return st.sampled_from(SPEC_APDUS) | from_encoders


def chunks(raw: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(raw) + 1) for c in cuts} | {0, len(raw)})
    return [raw[a:b] for a, b in itertools.pairwise(points)]


def decode_any(raw: bytes) -> None:
    """Every decoder over `raw`: the result or a ZvtError, nothing else."""
    try:
        for unit in apdu.ApduReader().feed(raw):
            for answering in (None, 0x0501):
                with contextlib.suppress(ZvtError):
                    messages.decode(unit, answering=answering)
    except ZvtError:
        pass
    for decoder in (bmp.decode_all, tlv.decode, apdu.decode, bcd.digits):
        with contextlib.suppress(ZvtDecodeError):
            decoder(raw)


# -- APDU length and reassembly --------------------------------------------------------------
@fuzz()
@given(st.binary(max_size=300))
def test_total_length_agrees_with_decode(raw: bytes) -> None:
    """GIVEN any bytes THEN total_length is None only for a short header, and decode
    accepts exactly the buffers whose length it predicts."""
    size = apdu.total_length(raw)
    if size is None:
        assert len(raw) < 3 or (raw[2] == 0xFF and len(raw) < 5)
        return
    assert size >= 3
    try:
        unit = apdu.decode(raw)
    except ZvtDecodeError:
        assert size != len(raw)
    else:
        assert size == len(raw)
        assert unit.encode() == raw or (raw[2] == 0xFF and len(unit.data) < 0xFF)


@fuzz()
@given(st.lists(valid_apdus(), max_size=5), st.lists(st.integers(0, 10_000), max_size=8))
def test_apdu_reader_reassembles_split_and_merged_reads(
    units: list[bytes], cuts: list[int]
) -> None:
    """GIVEN valid APDUs sent back to back WHEN the stream arrives cut anywhere THEN the
    reader yields exactly those APDUs, in order, and keeps nothing."""
    stream = b"".join(units)
    reader = apdu.ApduReader()
    got = [u for part in chunks(stream, cuts) for u in reader.feed(part)]
    assert [u.encode() for u in got] == units
    assert reader.pending == 0


@fuzz()
@given(st.binary(max_size=400) | mutated(valid_apdus()), st.lists(st.integers(0, 500), max_size=6))
def test_apdu_reader_on_any_stream(raw: bytes, cuts: list[int]) -> None:
    reader = apdu.ApduReader(max_size=256)
    for part in chunks(raw, cuts):
        try:
            for unit in reader.feed(part):
                assert len(unit.encode()) <= 256  # bigger ones are refused
        except ZvtDecodeError:
            pass


# -- serial framing --------------------------------------------------------------------------
def parse_stream(parts: list[bytes], t0: float = 0.0, step: float = 0.001) -> list[Any]:
    parser = framing.FrameParser()
    events: list[Any] = []
    for i, part in enumerate(parts):
        events += parser.feed(part, t0 + i * step)
    return events


@fuzz()
@given(st.binary(max_size=300), st.lists(st.integers(0, 1000), max_size=8))
def test_frame_roundtrip_any_apdu_any_split(data: bytes, cuts: list[int]) -> None:
    """GIVEN any APDU bytes (DLE bytes included) WHEN framed and fed in pieces THEN one
    Frame with those bytes comes out."""
    frame = framing.encode_frame(data)
    assert parse_stream(chunks(frame, cuts)) == [framing.Frame(data)]


@fuzz()
@given(st.sampled_from(SPEC_FRAMES))
def test_spec_frames_parse_to_their_apdu(frame: bytes) -> None:
    (event,) = parse_stream([frame])
    assert isinstance(event, framing.Frame)
    assert framing.encode_frame(event.apdu) == frame


@fuzz()
@given(
    st.binary(max_size=300) | mutated(st.sampled_from(SPEC_FRAMES)),
    st.lists(st.integers(0, 1000), max_size=8),
    st.lists(st.floats(0, 1.0), max_size=8),
)
def test_frame_parser_on_any_bytes(raw: bytes, cuts: list[int], gaps: list[float]) -> None:
    """GIVEN any bytes at any pace THEN only events come out, and every Frame carries the
    CRC it was sent with."""
    parser = framing.FrameParser(max_apdu=200)
    now = 0.0
    for i, part in enumerate(chunks(raw, cuts)):
        now += gaps[i] if i < len(gaps) else 0.001
        for event in parser.feed(part, now):
            assert isinstance(event, framing.Frame | framing.Ack | framing.Nak | framing.FrameFault)
            if isinstance(event, framing.Frame):
                assert len(event.apdu) <= 200
    parser.check_timeout(now + 10)
    assert not parser.in_frame


NO_DLE = st.binary(max_size=40).map(lambda b: b.replace(b"\x10", b""))
LINE_NOISE = (
    st.tuples(NO_DLE, st.sampled_from([b"", b"\x10"])).map(b"".join)  # a stray DLE at the end
    | NO_DLE.map(lambda b: b"\x10\x02" + b)  # a frame that was cut off
)


@fuzz()
@given(LINE_NOISE, st.binary(max_size=200), st.lists(st.integers(0, 300), max_size=6))
@example(junk=b"\x10\x02", data=b"", cuts=[])  # found: a cut-off frame hid the next one
@example(junk=b"\x10", data=b"\x80\x00\x00", cuts=[])  # a stray DLE swallowed DLE STX
def test_a_frame_after_line_noise_is_read(junk: bytes, data: bytes, cuts: list[int]) -> None:
    """GIVEN noise on the line (a stray DLE, the start of a frame that was cut off) WHEN a
    whole frame follows at once THEN that frame is read: the sender's retry is not needed."""
    events = parse_stream(chunks(junk + framing.encode_frame(data), cuts))
    assert events and events[-1] == framing.Frame(data)


@fuzz()
@given(st.binary(max_size=200), st.data())
def test_a_damaged_frame_is_refused(data: bytes, draw: st.DataObject) -> None:
    """GIVEN a frame with one byte of its APDU or CRC changed (not into or out of DLE) THEN
    the parser reports a fault, never a Frame: CRC-16 catches every burst of 16 bits."""
    frame = bytearray(framing.encode_frame(data))
    candidates = [i for i in range(2, len(frame)) if frame[i] != framing.DLE]
    candidates = [i for i in candidates if frame[i - 1] != framing.DLE or i >= len(frame) - 2]
    pos = draw.draw(st.sampled_from(candidates))
    frame[pos] ^= draw.draw(st.integers(1, 255).filter(lambda x: frame[pos] ^ x != framing.DLE))
    events = parse_stream([bytes(frame)])
    assert not any(isinstance(e, framing.Frame) for e in events)
    assert any(isinstance(e, framing.FrameFault) for e in events)


# -- BMP, TLV and BCD ------------------------------------------------------------------------
@fuzz()
@given(st.binary(max_size=400) | mutated(st.sampled_from(SPEC_APDUS).map(lambda r: r[3:])))
def test_bmp_and_tlv_decoders_raise_only_their_error(raw: bytes) -> None:
    decode_any(raw)


@fuzz()
@given(st.binary(max_size=300) | mutated(st.sampled_from(SPEC_TLVS)))
def test_tlv_decode_encode_decode_is_stable(raw: bytes) -> None:
    """GIVEN bytes that decode as TLV THEN encoding the objects and decoding again gives
    the same objects (the encoder writes the shortest length form)."""
    try:
        items = tlv.decode(raw)
    except ZvtDecodeError:
        return
    assert tlv.decode(tlv.encode(items)) == items


@fuzz()
@given(s.tlvs)
def test_tlv_roundtrip(items: tuple[tlv.Tlv, ...]) -> None:
    assert tlv.decode(tlv.encode(items)) == items


VALUED_BMPS = [spec for spec in bmp.SPECS.values() if spec.number not in bmp.TRACK_BMPS]


@fuzz()
@given(
    st.sampled_from(VALUED_BMPS).flatmap(lambda spec: st.tuples(st.just(spec), s.bmp_value(spec)))
)
@example(case=(bmp.SPECS[0x4C], ""))  # found: the empty LLVAR BCD 4C F0 F0 did not decode
def test_every_bmp_roundtrips(case: tuple[bmp.BmpSpec, Any]) -> None:
    """GIVEN any BMP and a value of its type THEN decode(encode(value)) == value."""
    spec, value = case
    raw = bmp.encode_one(spec.number, value)
    assert bmp.decode_all(raw) == [(spec.number, value)]


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.binary(max_size=20),
    lambda kids: st.lists(kids, max_size=3) | st.lists(kids, max_size=3).map(tuple),
    max_leaves=6,
)


@fuzz()
@given(st.sampled_from(sorted(bmp.SPECS)), JSONISH)
@example(number=0x37, value=False)  # found (long run): ValueError from bytes.fromhex("0False")
def test_bmp_encoder_refuses_wrong_values_with_its_error(number: int, value: Any) -> None:
    """GIVEN any value for any BMP THEN the encoder writes bytes that decode back, or
    raises ZvtEncodeError; never another exception."""
    try:
        raw = bmp.encode_one(number, value)
    except ZvtEncodeError:
        return
    bmp.decode_all(raw)


# -- typed messages --------------------------------------------------------------------------
@fuzz()
@given(st.sampled_from(CODES), st.binary(max_size=300) | mutated(st.sampled_from(SPEC_APDUS)))
def test_message_decoder_raises_only_zvt_error(code: int, data: bytes) -> None:
    """GIVEN any data under every known APDU code THEN a typed message or a ZvtError."""
    unit = apdu.Apdu(code >> 8, code & 0xFF, data[3:] if data[:1] in (b"\x04", b"\x06") else data)
    for answering in (None, 0x0501, 0x0600):
        try:
            message = messages.decode(unit, answering=answering)
        except ZvtError:
            continue
        messages.encode(message)  # what was read can be written (or ZvtEncodeError)


@fuzz()
@given(mutated(valid_apdus()))
def test_mutated_valid_apdus(raw: bytes) -> None:
    decode_any(raw)


@fuzz()
@given(ANY_MESSAGE, st.lists(st.integers(0, 2000), max_size=6))
def test_every_message_roundtrips_through_a_serial_frame(message: Any, cuts: list[int]) -> None:
    """GIVEN any message WHEN encoded, framed and read back in pieces THEN the same message."""
    frame = framing.encode_frame(messages.encode(message).encode())
    (event,) = parse_stream(chunks(frame, cuts))
    assert isinstance(event, framing.Frame)
    assert messages.decode(apdu.decode(event.apdu)) == message


@fuzz()
@given(st.sampled_from(SPEC_APDUS))
def test_spec_apdus_reencode_to_the_same_bytes_or_decode_stably(raw: bytes) -> None:
    """GIVEN a captured APDU that decodes THEN re-encoding it and decoding again gives the
    same message (captures may use forms the encoder writes differently)."""
    try:
        message = messages.decode(apdu.decode(raw))
    except ZvtError:
        return
    again = messages.decode(messages.encode(message))
    assert again == message
