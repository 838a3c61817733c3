"""BMPs and messages checked against the ZVT spec, "ECR-Interface ZVT-Protocol",
PA00P015 revision 13.08 (25.05.2018); page numbers are that document's "Page N of 199".

The byte strings below are built from the formats and data-block layouts the spec gives
on the cited page (the spec lists formats, rarely whole APDUs).
"""

from __future__ import annotations

import pytest

from posterm.protocol.zvt import apdu, bmp, messages
from posterm.protocol.zvt import pt_messages as pm
from posterm.protocol.zvt.errors import ZvtDecodeError, ZvtEncodeError


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def _decode(text: str) -> object:
    return messages.decode(apdu.decode(_hex(text)))


# -- chapter 13 "Summary of utilised BMPs", pages 190-193 ---------------------------------

# (BMP, format in the summary table, page)
SUMMARY_FORMATS = [
    (0x70, bmp.Kind.UINT, 4, 190),  # image-id: 4 byte integer, big endian
    (0x71, bmp.Kind.UINT, 4, 190),  # image-size: 4 byte integer, big endian
    (0x72, bmp.Kind.BYTE, 1, 190),  # image MIME type: 1 byte integer
    (0x73, bmp.Kind.BYTE, 1, 191),  # image encoding type: 1 byte integer
    (0x74, bmp.Kind.BYTE, 1, 191),  # total number of chunks: 1 byte integer
    (0x75, bmp.Kind.BYTE, 1, 191),  # index of the chunk: 1 byte integer
    (0xFA, bmp.Kind.BYTE, 1, 193),  # card reader activation: 1 byte binary
    (0xFB, bmp.Kind.BYTE, 1, 193),  # confirmation of the input with <OK>: 1 byte binary
    (0xFC, bmp.Kind.BYTE, 1, 193),  # dialog-control: 1 byte binary
    (0xFD, bmp.Kind.BYTE, 1, 193),  # display device: 1 byte binary
]


@pytest.mark.parametrize(("number", "kind", "length", "page"), SUMMARY_FORMATS)
def test_bmp_has_the_format_of_the_summary_table(
    number: int, kind: bmp.Kind, length: int, page: int
) -> None:
    spec = bmp.SPECS[number]
    assert (spec.kind, spec.length) == (kind, length), f"BMP {number:02X}, page {page}"


def test_every_bmp_of_the_summary_table_is_known() -> None:
    """Pages 190-193 list these BMPs; an unknown one would make the rest of an APDU
    unreadable. 4C is not in the summary but is defined for 04 0F on pages 117-118."""
    summary = """01 02 03 04 05 06 0B 0C 0D 0E 17 19 22 23 24 27 29 2A 2D 2E 37 3A 3B 3C 3D 49 60
                 70 71 72 73 74 75 87 88 8A 8B 8C 9A A0 A7 AA AF BA D0 D1 D2 D3 E0 E1 E2 E3
                 E4 E5 E6 E7 E8 E9 EA EB F0 F1 F2 F3 F4 F5 F6 F7 F8 F9 FA FB FC FD 4C"""
    missing = [n for n in summary.split() if int(n, 16) not in bmp.SPECS]
    assert missing == []


def test_display_image_bmps_decode() -> None:
    """2.33.1 Display Image (06 F0), page 67: 70<image-id> 72<image-mime>
    73<image-encoding> F0<display-duration> 71<image-size> 74<chunk-count>
    75<chunk-index>; here image-id 0x01020304, PNG (3, page 68), base64 (2, page 69),
    10 s, 70000 bytes in 2 chunks, chunk 0."""
    data = _hex("70 01 02 03 04  72 03  73 02  F0 0A  71 00 01 11 70  74 02  75 00")
    assert bmp.decode_all(data) == [
        (0x70, 0x01020304),
        (0x72, 3),
        (0x73, 2),
        (0xF0, 10),
        (0x71, 70000),
        (0x74, 2),
        (0x75, 0),
    ]


def test_four_byte_integers_are_big_endian_and_round_trip() -> None:
    """Page 190: BMPs 70 and 71 are "4 byte integer, big endian"."""
    assert bmp.encode_one(0x71, 70000) == _hex("71 00 01 11 70")
    assert bmp.encode_one(0x70, 0xFFFFFFFF) == _hex("70 FF FF FF FF")
    with pytest.raises(ZvtEncodeError):
        bmp.encode_one(0x70, 1 << 32)
    with pytest.raises(ZvtEncodeError):
        bmp.encode_one(0x71, -1)


def test_card_reader_and_display_bmps_decode() -> None:
    """Page 56: Abort (06 B0) [D2<card-output-direction>][FA<card-reader-activation>],
    FA 00 = activate, FF = deactivate (page 193); page 54: Read Card FC<dialog-control>;
    page 63: FB<confirmation>; page 58: Display Text [FD<display-device>], 01 = external."""
    data = _hex("D2 00 FA FF FC 01 FB 00 FD 01")
    assert bmp.decode_all(data) == [(0xD2, 0), (0xFA, 0xFF), (0xFC, 1), (0xFB, 0), (0xFD, 1)]


@pytest.mark.parametrize(
    "data",
    [
        "70 01 02 03",  # image-id: 4 bytes, 3 sent
        "71",  # image-size without value
        "72",  # image-mime without value
        "75",  # chunk-index without value
        "FA",
        "FB",
        "FC",
        "FD",
        "4C F0 F6 00 01 23",  # LLVAR says 6 bytes, 3 sent
        "4C F0",  # LLVAR length cut
    ],
)
def test_truncated_value_raises(data: str) -> None:
    with pytest.raises(ZvtDecodeError):
        bmp.decode_all(_hex(data))


# -- BMP 4C, blocked goods-groups: 04 0F, pages 117-118 -----------------------------------


def test_blocked_goods_groups_in_status_information() -> None:
    """Page 117: 4C is "LLVAR (2 byte counter [FxFy], data BCD packed)"; page 118: each
    product code is 3 bytes BCD with leading zeros, placed one after the other. With the
    result code 27 and the amount 04 of 3.1.1 (page 115) around it, the BMPs after 4C
    must still be read."""
    msg = _decode("04 0F 12  27 00  4C F0 F6 00 01 23 00 45 67  04 00 00 00 00 12 34")
    assert isinstance(msg, pm.StatusInformation)
    assert msg.result_code == 0
    assert msg.amount == 1234
    assert msg.other == ((0x4C, "000123004567"),)
    assert messages.decode(apdu.decode(messages.encode(msg).encode())) == msg


def test_blocked_goods_groups_must_be_bcd() -> None:
    """Page 117: the data of 4C is BCD packed; a nibble above 9 is not."""
    with pytest.raises(ZvtDecodeError):
        bmp.decode_all(_hex("4C F0 F3 00 01 2A"))


def test_blocked_goods_groups_encoding() -> None:
    assert bmp.encode_one(0x4C, "000123") == _hex("4C F0 F3 00 01 23")
    assert bmp.encode_one(0x4C, "") == _hex("4C F0 F0")
    for bad in ("00012", "00012A"):
        with pytest.raises(ZvtEncodeError):
            bmp.encode_one(0x4C, bad)


# -- 3.4 Set Date and Time in ECR (04 01), page 123 -----------------------------------------

# Page 123: "04 01 08 AA<date> 0C<time>"; AA is "3 byte BCD, format YYMMDD" and 0C
# "3 byte BCD, format HHMMSS" (page 190/192). Date 25.05.2018, 15:15:13.
SET_DATE_TIME = "04 01 08 AA 18 05 25 0C 15 15 13"


def test_set_date_time_decodes() -> None:
    msg = _decode(SET_DATE_TIME)
    assert msg == pm.SetDateTime(date="180525", time="151513")


def test_set_date_time_encodes_to_the_spec_layout() -> None:
    raw = messages.encode(pm.SetDateTime(date="180525", time="151513")).encode()
    assert raw == _hex(SET_DATE_TIME)


def test_set_date_time_in_any_order_reads_the_same() -> None:
    """BMPs are tagged; a PT that sends the time first still means the same."""
    assert _decode("04 01 08 0C 15 15 13 AA 18 05 25") == pm.SetDateTime("180525", "151513")


@pytest.mark.parametrize(
    "text",
    [
        "04 01 07 AA 18 05 25 0C 15 15",  # time cut short
        "04 01 04 AA 18 05 25",  # no time
        "04 01 04 0C 15 15 13",  # no date
        "04 01 00",  # nothing
        "04 01 0A AA 18 05 25 0C 15 15 13 27 00",  # a BMP the spec does not put there
        "04 01 08 AA 18 05 2F 0C 15 15 13",  # not BCD
    ],
)
def test_bad_set_date_time_raises(text: str) -> None:
    with pytest.raises(ZvtDecodeError):
        _decode(text)


def test_set_date_time_needs_both_to_encode() -> None:
    with pytest.raises(ZvtEncodeError):
        messages.encode(pm.SetDateTime(date="180525"))
    with pytest.raises(ZvtEncodeError):
        messages.encode(pm.SetDateTime(time="151513"))


# -- BMP A7, EF_ID: 3.1.2 Status-Information after Read Card, page 120 ---------------------


def test_ef_id_is_dropped_like_track_data() -> None:
    """Page 120: A7 <EF_ID> is LLVAR; page 116: bytes 5-9 of the EF_ID are the card number,
    so it is dropped on arrival like track data. What follows it is still read."""
    msg = _decode("04 0F 11  A7 F1 F2 00 00 00 00 67 25 12 34 56 78 90 12  27 00")
    assert isinstance(msg, pm.StatusInformation)
    assert msg.result_code == 0
    assert msg.other == ()
    assert 0xA7 in bmp.TRACK_BMPS
    with pytest.raises(ZvtDecodeError):
        bmp.decode_all(_hex("A7 F1 F2 00 00 00 00 67 25"))
