"""Printer profiles (python-escpos's escpos-printer-db and posterm's additions) and the
receipt rendered through python-escpos's command layer: byte for byte what python-escpos's
own `Dummy` printer sends for the same commands, for three profiles (a generic 80 mm, a
58 mm of 32 columns, a Chinese one in GB18030); columns, cutter and QR from the profile."""

from __future__ import annotations

import pytest
from escpos.printer import Dummy

from posterm.drivers.printer import PrinterConfigError, Receipt, Renderer
from posterm.drivers.printer import profile as profiles
from posterm.drivers.printer.commands import escpos_profile
from posterm.protocol.escpos import codes

LATIN = Receipt(
    title="SALE",
    items=(("Kaffee", "2.50 €"),),
    total=("TOTAL", "2.50 €"),
    qr="T1",
)
CHINESE = Receipt(
    title="销售", items=(("小笼包", "12.00 元"),), total=("合计", "12.00 元"), qr="T2"
)


def row(left: str, right: str, columns: int, wide: bool = False) -> str:
    used = sum(2 if wide and ord(ch) > 0x7F else 1 for ch in left + right)
    return left + " " * (columns - used) + right


def expected(profile: str, receipt: Receipt, encoding: str) -> bytes:
    """The same receipt written with python-escpos's API on its `Dummy` printer."""
    printer = profiles.load(profile)
    cols, wide = printer.columns, encoding == "gb18030"
    dummy = Dummy(profile=escpos_profile(printer))

    def line(text: str) -> None:
        if wide:
            dummy._raw(text.encode("gb18030") + b"\n")
        else:
            dummy.textln(text)

    dummy.hw("INIT")
    if wide:
        dummy._raw(codes.CHINESE_ON)
    else:
        dummy.charcode(encoding.upper())
    dummy.set(align="center")
    line("")
    dummy.set(custom_size=True, width=2, height=2, bold=True)
    line(receipt.title)
    dummy.set(custom_size=True, width=1, height=1, bold=False, align="left")
    line("-" * cols)
    line(row(*receipt.items[0], cols, wide))
    dummy.set(bold=True)
    assert receipt.total is not None
    line(row(*receipt.total, cols, wide))
    dummy.set(bold=False)
    line("-" * cols)
    dummy.set(align="center")
    line("CUSTOMER COPY")
    if wide:
        dummy._raw(codes.CHINESE_OFF)
    dummy.qr(receipt.qr, size=4, native=True)
    dummy.textln()
    dummy.set(align="left")
    dummy.cut()
    return bytes(dummy.output)


@pytest.mark.parametrize(
    ("profile", "receipt", "encoding", "columns"),
    [
        ("default", LATIN, "cp858", 42),  # python-escpos's generic 80 mm
        ("posterm-58mm", LATIN, "cp437", 32),  # 58 mm paper, 32 columns
        ("posterm-gb18030-80mm", CHINESE, "gb18030", 48),  # Chinese mode
    ],
)
def test_three_profiles_render_byte_for_byte_what_python_escpos_sends(
    profile: str, receipt: Receipt, encoding: str, columns: int
) -> None:
    """GIVEN a profile WHEN a receipt is rendered with no columns given THEN the columns
    are the profile's and the bytes are exactly python-escpos's for the same commands."""
    renderer = Renderer(encoding=encoding, profile=profile)
    assert renderer.columns == columns
    data = renderer.render(receipt)
    assert data == expected(profile, receipt, encoding)
    assert data.startswith(b"\x1b@") and data.endswith(b"\x1bd\x06\x1dV\x00")


def test_a_profile_without_qr_codes_or_full_cut_gets_text_and_a_partial_cut() -> None:
    """GIVEN Epson's TM-U220B (no QR codes, partial cutter only, CP437 only) WHEN a
    receipt with a QR code renders THEN no GS ( k, the content as text, GS V 1."""
    data = Renderer(encoding="cp437", profile="TM-U220B").render(LATIN)
    assert b"\x1d(k" not in data and b"T1\n" in data
    assert data.endswith(b"\x1bd\x06" + codes.CUT_PARTIAL)
    assert b"\x1bt\x00" in data  # its CP437 table


def test_code_page_numbers_come_from_the_profile() -> None:
    """GIVEN Star's TSP600, whose CP858 is table 4 (Epson's is 19) THEN ESC t 4."""
    data = Renderer(encoding="cp858", profile="TSP600").render(LATIN)
    assert data.startswith(b"\x1b@\x1bt\x04") and "2.50 €".encode("cp858") in data


@pytest.mark.parametrize(
    ("profile", "encoding", "columns", "message"),
    [
        ("TM-T20", "cp858", None, "no printer profile 'TM-T20'; known: TM-T20II, TM-T20II-42col"),
        ("ZJ-5870", "cp437", None, "profile 'ZJ-5870' has no cutter"),
        ("TM-T88V", "gb18030", None, "'TM-T88V' cannot print GB18030"),
        ("TM-T88II", "cp858", None, "'TM-T88II' has no code page cp858"),
        ("TM-T88V", "cp858", 48, "'TM-T88V' prints 42 columns"),
    ],
)
def test_a_profile_that_cannot_print_as_asked_is_refused_by_name(
    profile: str, encoding: str, columns: int | None, message: str
) -> None:
    with pytest.raises(PrinterConfigError, match=message):
        Renderer(columns, encoding, profile)


def test_every_profile_of_the_database_is_known_with_its_columns() -> None:
    """python-escpos's database is read as data: every profile, font A's columns."""
    names = profiles.names()
    assert {"default", "TM-T20II", "TM-T88V", "posterm-58mm", "posterm-gb18030-80mm"} <= set(names)
    assert (profiles.load("TM-T20II").columns, profiles.load("TM-T88V").columns) == (48, 42)
    assert profiles.load("TM-T20II").code_pages["cp858"] == 19
