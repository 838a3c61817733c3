"""The serial framing against its first form (reference_codec.py, reference_framing.py):
the CRC from binascii's C crc_hqx over bit-reversed bytes, the stuffing, and the parser
that takes a frame's data up to the next DLE in one slice must give the same CRCs, bytes
and events as the byte-by-byte originals, on any stream cut anywhere (issue 23)."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from posterm.protocol.zvt import framing
from tests.fuzz.profiles import fuzz
from tests.zvt import reference_codec as ref
from tests.zvt.reference_framing import FrameParser as ReferenceParser

# bytes that mean something to the framing, often
WIRE = st.binary(max_size=80) | st.lists(
    st.sampled_from([0x10, 0x02, 0x03, 0x06, 0x15, 0x00, 0xFF]), max_size=40
).map(bytes)


@fuzz(2)
@given(WIRE, st.integers(0, 0xFFFF))
@example(data=b"123456789", crc=0)  # the check value 0x2189
@example(data=b"\x10", crc=0)  # a DLE in the data: doubled in the frame
def test_crc_and_frame_are_the_reference_ones(data: bytes, crc: int) -> None:
    """GIVEN any APDU bytes and start value THEN the same CRC and frame as the reference,
    and every DLE of the APDU is doubled between DLE STX and DLE ETX."""
    assert framing.crc16_kermit(data, crc) == ref.crc16_kermit(data, crc)
    assert framing.frame_crc(data) == ref.frame_crc(data)
    frame = framing.encode_frame(data)
    assert frame == ref.encode_frame(data)
    assert frame[2:-4] == data.replace(b"\x10", b"\x10\x10")


def _event(event: Any) -> tuple[str, Any]:
    if isinstance(event, framing.FrameFault):
        return "fault", str(event.error)
    return type(event).__name__, getattr(event, "apdu", None)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[int], list[float]]:
    """Frames, ACK, NAK and junk one after another, mangled a little, cut into reads that
    arrive at times with now and then a gap longer than T1."""
    raw = bytearray()
    for _ in range(draw(st.integers(0, 5))):
        raw += draw(
            st.sampled_from([b"\x06", b"\x15", b"\x10", b"\x10\x02"])
            | WIRE.map(framing.encode_frame)
            | st.binary(max_size=6)
        )
    for _ in range(draw(st.integers(0, 3))):
        if raw:
            pos = draw(st.integers(0, len(raw) - 1))
            raw[pos] = draw(st.sampled_from([0x10, 0x02, 0x03, 0x06, 0x15, 0x5A]))
    cuts = sorted(draw(st.lists(st.integers(0, len(raw)), max_size=6)))
    gaps = draw(st.lists(st.sampled_from([0.0, 0.01, 0.19, 0.25]), min_size=7, max_size=7))
    return bytes(raw), cuts, list(itertools.accumulate(gaps))


@fuzz(2)
@given(streams(), st.integers(0, 60))
@example(stream=(framing.encode_frame(b"\x10" * 5), [], [0.0] * 7), max_apdu=3)
@example(stream=(framing.encode_frame(b"\x01\x10\x10\x02"), [3, 6], [0.0] * 7), max_apdu=2)
@example(stream=(b"\x10\x02" + b"\x41" * 10, [5], [0.0] * 7), max_apdu=4)
def test_parser_reads_any_stream_like_the_reference(
    stream: tuple[bytes, list[int], list[float]], max_apdu: int
) -> None:
    """GIVEN any stream, read in pieces, and a small frame size limit THEN after each read
    the same events (frames, ACK, NAK, faults with their message), the same junk count
    and the same open frame and deadline as the reference parser."""
    raw, cuts, times = stream
    ours, theirs = framing.FrameParser(max_apdu=max_apdu), ReferenceParser(max_apdu=max_apdu)
    points = [0, *cuts, len(raw)]
    for (start, end), now in zip(itertools.pairwise(points), times, strict=False):
        chunk = raw[start:end]
        assert [_event(e) for e in ours.feed(chunk, now)] == [
            _event(e) for e in theirs.feed(chunk, now)
        ]
        assert (ours.junk, ours.in_frame, ours.deadline()) == (
            theirs.junk,
            theirs.in_frame,
            theirs.deadline(),
        )
    assert [_event(e) for e in ours.check_timeout(10.0)] == [
        _event(e) for e in theirs.check_timeout(10.0)
    ]
