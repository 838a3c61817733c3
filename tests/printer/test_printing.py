"""Printing through the real driver into the simulator process: what comes out, what fails,
and that `print()` returns only once the printer has cut the receipt."""

from __future__ import annotations

import json
import os
import random
import socket
from pathlib import Path

import pytest
from PIL import Image

from posterm.drivers.printer import (
    Printer,
    PrinterCoverOpen,
    PrinterOffline,
    PrinterPaperOut,
)
from posterm.drivers.printer import receipt as layouts
from posterm.drivers.printer.render import Renderer
from tests.support.broker import wait_for
from tests.support.sim import PrinterSim, start_printer

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

SALE = layouts.sale(
    header=("Café Beispiel", "Hauptstraße 1"),
    amount="12.50",
    currency="€",
    pt_lines=tuple(f"PT line {i:02d}  VISA 476173******0119" for i in range(12)),
    txn_id="TQR0001",
    footer=("Danke!",),
)
CHINESE = layouts.refund_voucher(
    header=("上海小吃店",),
    amount="5.00",
    currency="元",
    pt_lines=("银联卡",),
    txn_id="TCN01",
    sale_id="TCN00",
    reason="退货",
)


ZH = "posterm-gb18030-80mm"  # a Chinese-mode profile (drivers/printer/profile.py)


def index(sim: PrinterSim) -> list[dict[str, object]]:
    lines = (sim.out / "index.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_euro_receipt_round_trips_through_the_simulator(psim: PrinterSim) -> None:
    printer = Printer(psim.url, columns=42, encoding="cp858")
    printer.print(SALE)
    printer.close()
    (text,) = psim.printed()
    assert "12.50 €" in text and "Café Beispiel" in text and "Hauptstraße 1" in text
    assert "[QR: TQR0001]" in text and "CUSTOMER COPY" in text
    (entry,) = index(psim)
    assert entry["truncated"] is False and entry["overflow"] == 0


def test_cp437_has_no_euro_but_keeps_umlauts(psim: PrinterSim) -> None:
    Printer(psim.url, columns=32, encoding="cp437").print(SALE)
    (text,) = psim.printed()
    assert "Hauptstraße 1" in text and "€" not in text


def test_chinese_receipt_round_trips_and_renders_glyphs(psim: PrinterSim) -> None:
    Printer(psim.url, columns=32, encoding="gb18030", profile=ZH).print(CHINESE)
    (text,) = psim.printed()
    assert "上海小吃店" in text and "退货" in text and "5.00 元" in text
    image = Image.open(psim.out / "0001.png").convert("L")
    assert image.width == 576
    header = image.crop((0, 0, image.width, 40))
    assert header.getextrema()[0] == 0  # ink where the Chinese header is


def test_without_a_cjk_font_chinese_prints_as_boxes_of_the_same_width(tmp_path: Path) -> None:
    """GIVEN a machine without fonts THEN the text is still right and the PNG as wide."""
    os.environ["POSTERM_SIM_FONT_DIRS"] = str(tmp_path / "no-fonts")
    try:
        sim = start_printer(tmp_path, "--width-dots", "384")
    finally:
        del os.environ["POSTERM_SIM_FONT_DIRS"]
    try:
        Printer(sim.url, columns=32, encoding="gb18030", profile=ZH).print(CHINESE)
        assert "上海小吃店" in sim.printed()[0]
        image = Image.open(sim.out / "0001.png").convert("L")
        assert image.width == 384 and image.crop((0, 0, 384, 40)).getextrema()[0] == 0
    finally:
        sim.stop()


@pytest.mark.parametrize(
    ("dots", "profile", "columns", "encoding"),
    [
        (384, "posterm-58mm", 32, "cp858"),
        (512, "default", 42, "cp858"),
        (576, "TM-T20II", 48, "cp858"),
        (576, ZH, 48, "gb18030"),
    ],
)
def test_png_has_the_printer_width(
    tmp_path: Path, dots: int, profile: str, columns: int, encoding: str
) -> None:
    """GIVEN a printer of each paper width and its profile (the columns come from it)
    WHEN a sale prints THEN the PNG is as wide as the paper, every line as wide as the
    profile's columns, nothing overflows."""
    sim = start_printer(tmp_path, "--width-dots", str(dots))
    try:
        Printer(sim.url, profile=profile, encoding=encoding).print(SALE)
        image = Image.open(sim.out / "0001.png")
        assert image.width == dots and image.height > 400
        assert max(len(line) for line in sim.printed()[0].splitlines()) == columns
        assert index(sim)[0]["overflow"] == 0 and index(sim)[0]["width_dots"] == dots
    finally:
        sim.stop()


def test_paper_out_mid_receipt_fails_and_shows_the_truncated_receipt(tmp_path: Path) -> None:
    sim = start_printer(tmp_path, "--paper-out-after-lines", "5")
    try:
        with pytest.raises(PrinterPaperOut, match="during the job"):
            Printer(sim.url).print(SALE)
        (text,) = sim.printed()
        assert text.rstrip().endswith("[PAPER OUT: receipt truncated]")
        assert "[QR: TQR0001]" not in text and len(text.splitlines()) == 6
        assert index(sim)[0]["truncated"] is True
        with pytest.raises(PrinterPaperOut, match="before the job"):
            Printer(sim.url).print(SALE)
        sim.ctl("refill")
        Printer(sim.url).print(SALE)
        assert "[QR: TQR0001]" in sim.printed()[-1] and len(sim.printed()) == 2
    finally:
        sim.stop()


def test_a_slow_printer_is_done_only_when_it_has_cut(tmp_path: Path) -> None:
    """GIVEN a printer that prints slower than the bytes arrive (its DLE EOT answers come
    while it is still printing) WHEN print() returns THEN the receipt is already cut."""
    sim = start_printer(tmp_path, "--bytes-per-second", "1500")  # ~1 s a receipt: polled
    try:
        printer = Printer(sim.url)
        printer.print(SALE)
        assert len(sim.printed()) == 1 and "[QR: TQR0001]" in sim.printed()[0]
        printer.print(layouts.duplicate(SALE))
        assert len(sim.printed()) == 2 and printer.status().ready
        printer.close()
    finally:
        sim.stop()


def test_paper_out_while_a_slow_printer_prints_fails_the_job(tmp_path: Path) -> None:
    """GIVEN a slow printer whose paper runs out after the job's bytes were all sent and
    a DLE EOT after them would still say 'paper OK' THEN print() fails all the same."""
    sim = start_printer(tmp_path, "--bytes-per-second", "2000", "--paper-out-after-lines", "22")
    try:
        printer = Printer(sim.url)
        with pytest.raises(PrinterPaperOut, match="during the job"):
            printer.print(SALE)
        assert sim.printed()[0].rstrip().endswith("[PAPER OUT: receipt truncated]")
        # the printer stopped in the middle of a command: after the refill the next job
        # prints whole, not swallowed by what was left of the lost one
        sim.ctl("refill")
        printer.print(layouts.recovered(SALE))
        again = sim.printed()[1]
        assert again.startswith("** RECOVERED **") and "[QR: TQR0001]" in again
        printer.close()
    finally:
        sim.stop()


def test_cover_open_cutter_error_and_offline_refuse_the_job(psim: PrinterSim) -> None:
    psim.ctl("cover-open")
    with pytest.raises(PrinterCoverOpen, match="before the job"):
        Printer(psim.url).print(SALE)
    psim.ctl("cover-close")
    psim.ctl("cutter-error")
    with pytest.raises(PrinterOffline, match="error before the job"):
        Printer(psim.url).print(SALE)
    psim.ctl("recover")
    psim.ctl("offline")
    with pytest.raises(PrinterOffline, match="no valid status answer"):
        Printer(psim.url, timeout=0.5).print(SALE)
    assert psim.printed() == []


def test_near_end_still_prints(tmp_path: Path) -> None:
    sim = start_printer(tmp_path, "--near-end")
    try:
        printer = Printer(sim.url)
        printer.print(SALE)
        assert len(sim.printed()) == 1 and printer.last_status.paper == "near_end"
    finally:
        sim.stop()


def test_printer_over_a_pty(tmp_path: Path) -> None:
    sim = start_printer(tmp_path, "--pty", str(tmp_path / "printer.tty"))
    try:
        printer = Printer(f"serial://{tmp_path / 'printer.tty'}?baud=115200")
        assert printer.status().ready
        printer.print(SALE)
        printer.print(layouts.duplicate(SALE))
        printer.close()
        first, second = sim.printed()
        assert "[QR: TQR0001]" in first and second.startswith("** DUPLICATE **")
    finally:
        sim.stop()


def _blast(url: str, blobs: list[bytes]) -> None:
    host, port = url.removeprefix("tcp://").split(":")
    for blob in blobs:
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(blob)


def test_random_bytes_never_crash_the_simulator(psim: PrinterSim) -> None:
    """GIVEN random and mutated ESC/POS over TCP THEN the simulator keeps printing right."""
    rng = random.Random(1234)
    valid = Renderer().render(SALE)
    blobs = []
    for i in range(60):
        if i % 2:
            blobs.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))))
        else:
            mutated = bytearray(valid)
            for _ in range(rng.randrange(1, 20)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            blobs.append(bytes(mutated))
    _blast(psim.url, blobs)
    for action in ("refill", "cover-close", "recover", "online"):
        psim.ctl(action)
    # still alive and printing correctly, once it has worked through the 60 pages of
    # garbage: on a loaded machine that takes longer than a status answer may (2 s), so
    # wait until one comes (the simulator answers in the order the bytes came)
    printer = Printer(psim.url, timeout=20, job_timeout=60)
    wait_for(lambda: printer.status().known, "the simulator through the garbage", timeout=120)
    printer.print(SALE)
    assert "[QR: TQR0001]" in psim.printed()[-1]
    assert psim.proc.poll() is None


def test_random_bytes_into_the_pty(tmp_path: Path) -> None:
    link = tmp_path / "printer.tty"
    sim = start_printer(tmp_path, "--pty", str(link))
    try:
        rng = random.Random(99)
        fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
        try:
            for _ in range(20):
                os.write(fd, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000))))
            # one parser serves the pty, as one printer does: finish whatever command the
            # noise started (the longest takes 1 MiB of data); NUL is ignored as text
            filler = b"\x00" * (1 << 20) + b"\n\x1b@"
            for i in range(0, len(filler), 4096):
                os.write(fd, filler[i : i + 4096])
        finally:
            os.close(fd)
        for action in ("refill", "cover-close", "recover", "online"):
            sim.ctl(action)
        Printer(f"serial://{link}?baud=115200").print(SALE)
        assert "[QR: TQR0001]" in sim.printed()[-1] and sim.proc.poll() is None
    finally:
        sim.stop()
