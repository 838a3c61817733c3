"""Serial framing: DLE stuffing, CRC-16/KERMIT, ACK/NAK, T1 gaps, oversize — byte exact."""

from __future__ import annotations

import binascii

import pytest

from posterm.protocol.zvt import framing
from posterm.protocol.zvt.framing import Ack, Frame, FrameFault, FrameParser, Nak

# Frames quoted in ../shared/docs/zvt.md, checked against PA00P016.
SPEC_FRAMES = [
    ("10 02 06 01 07 04 00 00 00 00 01 90 10 03 76 57", "06 01 07 04 00 00 00 00 01 90"),
    ("10 02 80 00 00 10 03 F5 1F", "80 00 00"),
    ("10 02 05 01 03 12 34 56 10 03 E0 43", "05 01 03 12 34 56"),
]


def test_crc16_kermit_check_value() -> None:
    assert framing.crc16_kermit(b"123456789") == 0x2189


def test_crc_is_not_crc_hqx() -> None:
    assert framing.crc16_kermit(b"123456789") != binascii.crc_hqx(b"123456789", 0)


@pytest.mark.parametrize(("frame", "apdu"), SPEC_FRAMES)
def test_spec_frames_encode_byte_exact(frame: str, apdu: str) -> None:
    assert framing.encode_frame(bytes.fromhex(apdu)) == bytes.fromhex(frame)


@pytest.mark.parametrize(("frame", "apdu"), SPEC_FRAMES)
def test_spec_frames_parse(frame: str, apdu: str) -> None:
    assert FrameParser().feed(bytes.fromhex(frame), 0.0) == [Frame(bytes.fromhex(apdu))]


def test_amount_10_10_is_dle_stuffed_and_not_counted() -> None:
    """GIVEN 10.10 EUR (BCD 00 00 00 00 10 10) WHEN framed THEN each 10 is doubled, and the
    length byte and CRC count it once."""
    apdu = bytes.fromhex("06 01 07 04 00 00 00 00 10 10")
    frame = framing.encode_frame(apdu)
    assert frame[2:-4] == bytes.fromhex("06 01 07 04 00 00 00 00 10 10 10 10")
    crc = framing.frame_crc(apdu)
    assert frame[-2:] == bytes([crc & 0xFF, crc >> 8])
    assert FrameParser().feed(frame, 0.0) == [Frame(apdu)]


def test_ack_nak_and_frames_interleave_in_one_read() -> None:
    a = framing.encode_frame(b"\x80\x00\x00")
    events = FrameParser().feed(b"\x06" + a + b"\x15" + a, 0.0)
    assert events == [Ack(), Frame(b"\x80\x00\x00"), Nak(), Frame(b"\x80\x00\x00")]


def test_bad_crc_is_a_fault_and_parser_recovers() -> None:
    good = framing.encode_frame(b"\x80\x00\x00")
    bad = good[:-1] + bytes([good[-1] ^ 0xFF])
    events = FrameParser().feed(bad + good, 0.0)
    assert isinstance(events[0], FrameFault)
    assert "CRC" in str(events[0].error)
    assert events[1] == Frame(b"\x80\x00\x00")


def test_t1_gap_inside_a_frame_is_a_fault() -> None:
    """GIVEN half a frame WHEN the next byte comes after more than T1 THEN a fault, and the
    late rest of the frame is junk, not a frame."""
    frame = framing.encode_frame(b"\x80\x00\x00")
    parser = FrameParser()
    assert parser.feed(frame[:4], 0.0) == []
    assert parser.deadline() == pytest.approx(0.2)
    assert parser.check_timeout(0.1) == []
    (fault,) = parser.check_timeout(0.25)
    assert isinstance(fault, FrameFault) and "T1" in str(fault.error)
    assert parser.feed(frame[4:], 0.3) == []


def test_slow_but_within_t1_bytes_make_a_frame() -> None:
    frame = framing.encode_frame(b"\x04\x0f\x00")
    parser = FrameParser()
    events = []
    for i, byte in enumerate(frame):
        events += parser.feed(bytes([byte]), i * 0.15)
    assert events == [Frame(b"\x04\x0f\x00")]


def test_dle_followed_by_garbage_is_a_fault() -> None:
    (fault,) = FrameParser().feed(b"\x10\x02\x80\x10\x55", 0.0)
    assert isinstance(fault, FrameFault)


def test_oversize_frame_is_a_fault() -> None:
    parser = FrameParser(max_apdu=16)
    (fault,) = parser.feed(b"\x10\x02" + b"\x01" * 40, 0.0)
    assert isinstance(fault, FrameFault) and "longer" in str(fault.error)
    assert not parser.in_frame


def test_junk_between_frames_is_counted_and_skipped() -> None:
    parser = FrameParser()
    events = parser.feed(b"HELLO" + framing.encode_frame(b"\x80\x00\x00"), 0.0)
    assert events == [Frame(b"\x80\x00\x00")]
    assert parser.junk == 5
