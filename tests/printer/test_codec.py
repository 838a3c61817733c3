"""The shared ESC/POS codec (protocol/escpos) checked against outside references: the byte
values of the Epson ESC/POS reference and python-escpos's own constants and code — not
only against itself, since the driver and the simulator would share any mistake."""

from __future__ import annotations

import json
from pathlib import Path

import escpos
import pytest
from escpos import constants as ec
from escpos.escpos import Escpos
from escpos.printer import Dummy
from hypothesis import given
from hypothesis import strategies as hs

from posterm.protocol.escpos import codes
from posterm.protocol.escpos import status as st
from posterm.protocol.escpos.realtime import RealtimeScanner

# Epson ESC/POS reference, DLE EOT n: bit 1 and bit 4 fixed to 1, bits 0 and 7 to 0.
# n=1 bit 3 offline; n=2 bit 2 cover open, bit 5 paper-end stop, bit 6 error;
# n=3 bit 3 autocutter error; n=4 bits 2+3 near end, bits 5+6 paper end.
EPSON_EXAMPLES = [
    # (n=1, n=2, n=4) answers -> (online, cover open, paper, error)
    ((0x12, 0x12, 0x12), (True, False, st.Paper.OK, False)),
    ((0x16, 0x12, 0x12), (True, False, st.Paper.OK, False)),  # drawer pin 3 high
    ((0x12, 0x12, 0x1E), (True, False, st.Paper.NEAR_END, False)),
    ((0x1A, 0x32, 0x72), (False, False, st.Paper.OUT, False)),
    ((0x1A, 0x32, 0x7E), (False, False, st.Paper.OUT, False)),  # near end and end
    ((0x1A, 0x16, 0x12), (False, True, st.Paper.OK, False)),
    ((0x1A, 0x52, 0x12), (False, False, st.Paper.OK, True)),
]


class Canned(Escpos):
    """python-escpos's own status code, fed the bytes a printer would answer."""

    def __init__(self, answer: bytes) -> None:
        super().__init__()
        self.answer = answer
        self.sent = b""

    def _raw(self, msg: bytes) -> None:
        self.sent += msg

    def _read(self) -> bytes:
        return self.answer


def test_dle_eot_queries_are_the_epson_and_python_escpos_bytes() -> None:
    assert [st.query(n) for n in (1, 2, 3, 4)] == [bytes([0x10, 0x04, n]) for n in (1, 2, 3, 4)]
    assert st.query(st.PRINTER) == ec.RT_STATUS_ONLINE
    assert st.query(st.PAPER) == ec.RT_STATUS_PAPER


def test_status_bits_match_python_escpos_masks() -> None:
    assert st.BASE == ec.RT_MASK_PAPER == 0x12
    assert st.BASE | st.NEAR_END == ec.RT_MASK_LOWPAPER
    assert st.BASE | st.PAPER_OUT == ec.RT_MASK_NOPAPER
    assert st.OFFLINE == ec.RT_MASK_ONLINE


@pytest.mark.parametrize(("answers", "expected"), EPSON_EXAMPLES)
def test_epson_reference_examples_decode(answers: tuple[int, int, int], expected: tuple) -> None:  # type: ignore[type-arg]
    status = st.decode(*answers)
    assert (status.online, status.cover_open, status.paper, status.error) == expected
    assert status.known


@pytest.mark.parametrize("value", range(256))
def test_paper_level_agrees_with_python_escpos_for_every_status_byte(value: int) -> None:
    """GIVEN any byte as the answer to DLE EOT 4 THEN, where it is a status byte, our level
    is python-escpos's paper_status(); where it is not, ours is UNKNOWN (never OK)."""
    ours = st.decode(st.BASE, st.BASE, value)
    theirs = Canned(bytes([value])).paper_status()
    if st.is_status_byte(value):
        assert {st.Paper.OUT: 0, st.Paper.NEAR_END: 1, st.Paper.OK: 2}[ours.paper] == theirs
    else:
        assert ours == st.UNKNOWN and not ours.ready


def test_no_answer_is_unknown_where_python_escpos_says_paper_ok() -> None:
    assert Canned(b"").paper_status() == 2  # python-escpos 3.1: "paper adequate"
    assert st.decode(None, None, None) == st.UNKNOWN
    assert st.decode(st.BASE, st.BASE, None) == st.UNKNOWN


@pytest.mark.parametrize("value", range(256))
def test_online_bit_agrees_with_python_escpos(value: int) -> None:
    if st.is_status_byte(value):
        assert st.decode(value, st.BASE, st.BASE).online == Canned(bytes([value])).is_online()


def test_status_and_sensor_answers_never_look_alike() -> None:
    """GS r 1 answers have bits 4 and 7 clear, DLE EOT answers bit 4 set: never both."""
    for value in range(256):
        assert not (st.is_status_byte(value) and st.is_sensor_byte(value))
    # Epson GS r 1: bits 0-1 near end (03), bits 2-3 paper end (0C)
    assert [st.decode_sensor(v) for v in (0x00, 0x03, 0x0C, 0x0F, 0x12)] == [
        st.Paper.OK,
        st.Paper.NEAR_END,
        st.Paper.OUT,
        st.Paper.OUT,
        st.Paper.UNKNOWN,
    ]


@pytest.mark.parametrize("cover", [False, True])
@pytest.mark.parametrize("paper", [st.Paper.OK, st.Paper.NEAR_END, st.Paper.OUT])
@pytest.mark.parametrize("error", [False, True])
def test_encoded_status_decodes_back_and_has_the_fixed_bits(
    cover: bool, paper: st.Paper, error: bool
) -> None:
    answers = st.encode(online=True, cover_open=cover, paper=paper, error=error)
    assert all(st.is_status_byte(b) for b in answers.values())
    decoded = st.decode(answers[1], answers[2], answers[4])
    assert (decoded.cover_open, decoded.paper, decoded.error) == (cover, paper, error)
    assert decoded.online == (not cover and paper != st.Paper.OUT and not error)
    assert bool(answers[3] & st.AUTOCUTTER_ERROR) == error
    assert st.decode_sensor(st.encode_sensor(paper)) == paper


def test_code_tables_are_the_epson_numbers_python_escpos_knows() -> None:
    """ESC t n: every table we use has the number and codec of python-escpos's TM-T88V
    profile (capabilities from escpos-printer-db)."""
    caps = json.loads((Path(escpos.__file__).parent / "capabilities.json").read_text())
    pages = caps["profiles"]["TM-T88V"]["codePages"]
    for n, codec in codes.CODE_TABLES.items():
        name = pages[str(n)]
        assert caps["encodings"][name].get("python_encode", name.lower()) == codec
    assert codes.select_code_page("cp437") == ec.CODEPAGE_CHANGE + b"\x00"
    assert codes.select_code_page("cp858") == ec.CODEPAGE_CHANGE + bytes([19])
    assert "€".encode("cp858") == b"\xd5"


@pytest.mark.parametrize("content", ["TQR0001", "T" * 200, "Zahlung über 12,50 €", "0123456789"])
@pytest.mark.parametrize("size", [1, 4, 16])
def test_qr_is_byte_for_byte_what_python_escpos_sends(content: str, size: int) -> None:
    dummy = Dummy()
    dummy.qr(content, native=True, size=size)
    assert codes.qr(content, size=size) == dummy.output


def test_qr_error_correction_levels_match_python_escpos() -> None:
    for level, value in (
        ("L", ec.QR_ECLEVEL_L),
        ("M", ec.QR_ECLEVEL_M),
        ("Q", ec.QR_ECLEVEL_Q),
        ("H", ec.QR_ECLEVEL_H),
    ):
        dummy = Dummy()
        dummy.qr("X1", native=True, ec=value, size=3)
        assert codes.qr("X1", size=3, ec=level) == dummy.output


def test_commands_are_python_escpos_constants() -> None:
    assert codes.INIT == ec.HW_INIT
    assert ec.TXT_STYLE["bold"][True] == codes.BOLD_ON
    assert ec.TXT_STYLE["bold"][False] == codes.BOLD_OFF
    assert ec.TXT_STYLE["align"] == codes.ALIGN
    assert codes.CUT_FULL == ec.PAPER_FULL_CUT
    assert codes.CUT_PARTIAL == ec.PAPER_PART_CUT
    dummy = Dummy()
    dummy.cut()
    assert codes.cut() == dummy.output  # feed 6 lines, full cut
    assert bytes([0x1C, 0x26]) == codes.CHINESE_ON and bytes([0x1C, 0x2E]) == codes.CHINESE_OFF
    assert bytes([0x1D, 0x72, 0x01]) == codes.PAPER_SENSOR_QUERY


@pytest.mark.parametrize("width", range(1, 9))
@pytest.mark.parametrize("height", range(1, 9))
def test_character_size_is_python_escpos_custom_size(width: int, height: int) -> None:
    dummy = Dummy()
    dummy.set(custom_size=True, width=width, height=height)
    assert codes.char_size(width, height) == dummy.output
    assert codes.size_of(dummy.output[-1]) == (width, height)


@pytest.mark.parametrize(
    "bad",
    [
        lambda: codes.select_code_page("utf-8"),
        lambda: codes.feed(-1),
        lambda: codes.feed(256),
        lambda: codes.char_size(0, 1),
        lambda: codes.char_size(1, 9),
        lambda: codes.qr(""),
        lambda: codes.qr("x" * 7090),
        lambda: codes.qr("x", size=17),
        lambda: codes.qr("x", ec="Z"),
        lambda: st.query(0),
        lambda: st.query(5),
        lambda: st.encode(online=True, cover_open=False, paper=st.Paper.UNKNOWN),
    ],
)
def test_bad_arguments_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        bad()  # type: ignore[operator]


def test_realtime_commands_are_found_at_any_split() -> None:
    stream = b"abc\x10\x04\x01\x1dv0\x00\x01\x00\x03\x00\x10\x04\x04\x10\x05\x02\x10\x04\x09xy"
    expected = [("status", 1), ("status", 4), ("request", 2)]
    for cut in range(len(stream) + 1):
        scanner = RealtimeScanner()
        assert scanner.feed(stream[:cut]) + scanner.feed(stream[cut:]) == expected


@given(hs.binary(max_size=300), hs.lists(hs.integers(0, 300), max_size=6))
def test_realtime_scan_does_not_depend_on_chunking(data: bytes, cuts: list[int]) -> None:
    whole = RealtimeScanner().feed(data)
    scanner = RealtimeScanner()
    found, last = [], 0
    for cut in sorted(min(c, len(data)) for c in cuts):
        found += scanner.feed(data[last:cut])
        last = cut
    found += scanner.feed(data[last:])
    assert found == whole
    assert len(whole) <= data.count(b"\x10")
