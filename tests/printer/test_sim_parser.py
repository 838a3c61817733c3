"""The simulator's ESC/POS parser fed what python-escpos itself sends (text with code-page
switches, styles, sizes, images in all three forms, barcodes, QR codes), split anywhere,
and random bytes: it never raises, and the next receipt after them prints whole."""

from __future__ import annotations

from escpos.printer import Dummy
from hypothesis import event, given
from hypothesis import strategies as hs
from PIL import Image

from posterm.drivers.printer import receipt as layouts
from posterm.drivers.printer.render import Renderer
from posterm.hwsim.printer.page import Line
from posterm.hwsim.printer.parser import EscPosParser
from tests.fuzz.profiles import fuzz


class Recorder:
    def __init__(self, width_dots: int = 576) -> None:
        self.lines: list[Line] = []
        self.cuts = 0
        self.sensor_queries: list[int] = []
        self.parser = EscPosParser(self.lines.append, self._cut, self._sensor, width_dots)

    def _cut(self) -> None:
        self.cuts += 1

    def _sensor(self, n: int) -> bytes | None:
        self.sensor_queries.append(n)
        return b"\x00"

    def text(self) -> list[str]:
        return [line.text for line in self.lines]


def feed(data: bytes, chunk: int = 0) -> Recorder:
    rec = Recorder()
    if chunk:
        for i in range(0, len(data), chunk):
            rec.parser.feed(data[i : i + chunk])
    else:
        rec.parser.feed(data)
    return rec


def test_python_escpos_text_with_code_page_switches_decodes() -> None:
    """GIVEN python-escpos's magic encoder, which switches ESC t mid-line for the euro
    THEN the line reads back as written."""
    dummy = Dummy()
    dummy.textln("Café € 12,50 — Grüße")
    dummy.cut()
    rec = feed(dummy.output)
    assert rec.text()[0] == "Café € 12,50 — Grüße"
    assert rec.cuts == 1


def test_styles_sizes_and_alignment_are_recorded() -> None:
    dummy = Dummy()
    dummy.set(align="right", bold=True, underline=1)
    dummy.textln("R")
    dummy.set(align="center", double_height=True, double_width=True)
    dummy.textln("BIG")
    dummy.set(custom_size=True, width=3, height=2)
    dummy.textln("3x2")
    dummy.set(normal_textsize=True, bold=False, underline=0, invert=True, font="b")
    dummy.textln("small")
    dummy.set_with_default()
    dummy.text("plain ")
    dummy.set(bold=True)
    dummy.textln("bold")
    rec = feed(dummy.output)
    r, big, wide, small, mixed = rec.lines
    assert (r.align, r.spans[0].bold, r.spans[0].underline) == ("right", True, True)
    assert (big.align, big.spans[0].width, big.spans[0].height) == ("center", 2, 2)
    assert (wide.spans[0].width, wide.spans[0].height) == (3, 2)
    assert small.spans[0].invert and small.spans[0].font_b and not small.spans[0].bold
    assert [(s.text, s.bold) for s in mixed.spans] == [("plain ", False), ("bold", True)]


def test_images_in_all_three_python_escpos_forms_become_images() -> None:
    picture = Image.new("1", (40, 30), 1)
    for x in range(10):
        picture.putpixel((x, 0), 0)
    for impl in ("bitImageRaster", "graphics", "bitImageColumn"):
        dummy = Dummy()
        dummy.image(picture, impl=impl)
        dummy.cut()
        rec = feed(dummy.output)
        images = [line for line in rec.lines if line.kind == "image"]
        assert images, impl
        raster = images[0].raster
        assert raster is not None and raster.width_bytes * 8 >= 40
        assert sum(line.raster.rows for line in images if line.raster) >= 30
        assert raster.data[0] == 0xFF  # the ten black dots at the top left
        assert rec.parser.unknown == 0


def test_barcode_qr_feed_and_cut() -> None:
    dummy = Dummy()
    dummy.barcode("4006381333931", "EAN13")
    dummy.barcode("{B012345", "CODE128", function_type="B")
    dummy.qr("https://example.invalid/t/T1", native=True, size=6)
    dummy.ln(3)
    dummy.cut()
    rec = feed(dummy.output)
    assert "[BARCODE: 4006381333931]" in rec.text() and "[BARCODE: {B012345]" in rec.text()
    qr = next(line for line in rec.lines if line.kind == "qr")
    assert (qr.content, qr.module) == ("https://example.invalid/t/T1", 6)
    assert rec.cuts == 1 and rec.parser.unknown == 0


def test_gs_r_is_answered_in_turn_and_dle_eot_is_left_to_the_receiver() -> None:
    rec = Recorder()
    out = rec.parser.feed(b"\x10\x04\x01text\n\x1dr\x01\x1dr\x31\x10\x04\x04")
    assert out == b"\x00\x00" and rec.sensor_queries == [1, 49]
    assert rec.text() == ["text"]


def test_overlong_lines_wrap_at_the_paper_edge() -> None:
    rec = Recorder(width_dots=384)  # 32 columns of Font A
    rec.parser.feed(b"x" * 40 + b"\n" + b"\x1d!\x11" + b"y" * 20 + b"\n")
    assert rec.text() == ["x" * 32, "x" * 8, "y" * 16, "y" * 4]
    assert [line.wrapped for line in rec.lines] == [False, True, False, True]


def test_chinese_mode_decodes_gb18030_and_counts_double_cells() -> None:
    data = b"\x1c&" + "合计 12.00 元".encode("gb18030") + b"\n\x1c.abc\n"
    for chunk in (0, 1, 3):
        rec = feed(data, chunk)
        assert rec.text() == ["合计 12.00 元", "abc"]
        assert rec.lines[0].dots() == (2 + 2 + 7 + 2) * 12


def test_byte_by_byte_equals_all_at_once() -> None:
    dummy = Dummy()
    dummy.set(align="center", bold=True)
    dummy.textln("Header")
    dummy.qr("T9", native=True)
    dummy.image(Image.new("1", (16, 8), 0))
    dummy.textln("Fuß €")
    dummy.cut()
    assert feed(dummy.output, 1).lines == feed(dummy.output).lines


# A sale as posterm's driver sends it: ESC @ first, code table, styles, QR code, cut.
RECEIPT = Renderer(42, "cp858").render(
    layouts.sale(
        header=("CAFÉ AM ECK", "Hauptstr. 1"),
        amount="12.50",
        currency="€",
        pt_lines=("VISA", "PAN ************0119", "APPROVED"),
        txn_id="T42",
    )
)


def test_the_receipt_prints_its_text_and_one_cut_on_a_fresh_printer() -> None:
    """The reference for the two tests below."""
    rec = feed(RECEIPT)
    text = rec.text()
    assert text[:4] == ["CAFÉ AM ECK", "Hauptstr. 1", "", "SALE"]
    assert "TOTAL" + " " * 30 + "12.50 €" in text and "[QR: T42]" in text
    assert "PAN ************0119" in text and rec.cuts == 1 and rec.parser.unknown == 0


def assert_next_receipt_prints_whole(rec: Recorder, chunk: int = 0) -> None:
    """THEN the next receipt, fed after the garbage, prints exactly as on a fresh printer
    (text, styles, alignment, QR code) and is cut once.

    Between commands, the receipt's own ESC @ is all the resynchronisation it needs: the
    garbage's half-built line, styles, code table and Chinese mode are reset. If the
    garbage ends inside a command (a prefix like GS ( k whose length field asks for more
    bytes), the printer reads what follows as that command's data, as a real TM would;
    only clearing its buffers gets it out (DLE DC4 8 or a power cycle on a real printer,
    `discard()` here, which the simulated device does when it stops)."""
    if rec.parser.mid_command:
        event("garbage ends inside a command: discard, then the receipt")
        rec.parser.discard()
    else:
        event("garbage ends between commands: the receipt's ESC @ only")
    printed, cuts = len(rec.lines), rec.cuts
    for i in range(0, len(RECEIPT), chunk or len(RECEIPT)):
        rec.parser.feed(RECEIPT[i : i + (chunk or len(RECEIPT))])
    assert rec.lines[printed:] == feed(RECEIPT).lines
    assert rec.cuts == cuts + 1


@fuzz(2)
@given(hs.lists(hs.binary(max_size=200), max_size=8))
def test_random_bytes_never_raise_and_the_next_receipt_prints_whole(chunks: list[bytes]) -> None:
    """GIVEN random bytes in random pieces THEN the parser never raises, and a receipt
    after them prints whole."""
    rec = Recorder()
    for chunk in chunks:
        rec.parser.feed(chunk)
    assert_next_receipt_prints_whole(rec)


@fuzz(2 / 3)
@given(hs.binary(max_size=400), hs.integers(1, 64))
def test_random_bytes_after_a_valid_command_prefix_never_raise_and_the_next_receipt_prints_whole(
    noise: bytes, chunk: int
) -> None:
    """GIVEN a command prefix (QR, raster, bit image, barcode, FS, DLE, GS 8 L) followed by
    random bytes, fed in pieces of `chunk` bytes THEN the parser never raises, and a
    receipt after them, in the same pieces, prints whole."""
    for prefix in (b"\x1d(k", b"\x1dv0", b"\x1b*", b"\x1dk", b"\x1c", b"\x10", b"\x1d8L"):
        rec = Recorder()
        data = prefix + noise
        for i in range(0, len(data), chunk):
            rec.parser.feed(data[i : i + chunk])
        assert_next_receipt_prints_whole(rec, chunk)
