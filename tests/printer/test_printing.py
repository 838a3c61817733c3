"""Printing through the real driver into the simulator: what comes out, what fails."""

from __future__ import annotations

import json
import random
import socket
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from posterm.drivers.printer import Printer, PrinterCoverOpen, PrinterOffline, PrinterPaperOut
from posterm.drivers.printer import receipt as layouts
from posterm.drivers.printer.render import Renderer
from tests.support.sim import BIN, PrinterSim, start_printer

SALE = layouts.sale(
    header=("Café Beispiel", "Hauptstraße 1"),
    amount="12.50",
    currency="€",
    pt_lines=("VISA", "476173******0119", "APPROVED"),
    txn_id="TQR0001",
    footer=("Danke!",),
)


def test_euro_receipt_round_trips_through_the_simulator(psim: PrinterSim) -> None:
    Printer(psim.url, columns=42, encoding="cp858").print(SALE)
    (text,) = psim.printed()
    assert "12.50 €" in text and "Café Beispiel" in text and "Hauptstraße 1" in text
    assert "[QR: TQR0001]" in text and "CUSTOMER COPY" in text


def test_cp437_has_no_euro_but_keeps_umlauts(psim: PrinterSim) -> None:
    Printer(psim.url, columns=32, encoding="cp437").print(SALE)
    (text,) = psim.printed()
    assert "Hauptstraße 1" in text and "€" not in text


def test_chinese_receipt_round_trips_and_renders_glyphs(psim: PrinterSim) -> None:
    receipt = layouts.refund_voucher(
        header=("上海小吃店",), amount="5.00", currency="元", pt_lines=("银联卡",),
        txn_id="TCN01", sale_id="TCN00", reason="退货",
    )  # fmt: skip
    Printer(psim.url, columns=32, encoding="gb18030").print(receipt)
    (text,) = psim.printed()
    assert "上海小吃店" in text and "退货" in text and "5.00 元" in text
    image = Image.open(psim.out / "0001.png")
    assert image.width == 576
    header_band = image.crop((0, 0, image.width, 40)).convert("L")
    assert header_band.getextrema()[0] == 0  # ink where the Chinese header is


@pytest.mark.parametrize(("dots", "columns"), [(384, 32), (576, 42), (576, 48)])
def test_png_has_the_printer_width(tmp_path: Path, dots: int, columns: int) -> None:
    sim = start_printer(tmp_path, "--width-dots", str(dots))
    try:
        Printer(sim.url, columns=columns).print(SALE)
        assert Image.open(sim.out / "0001.png").width == dots
        assert max(len(line) for line in sim.printed()[0].splitlines()) <= columns
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
        with pytest.raises(PrinterPaperOut, match="before the job"):
            Printer(sim.url).print(SALE)
        sim.ctl("refill")
        Printer(sim.url).print(SALE)
        assert "[QR: TQR0001]" in sim.printed()[-1]
    finally:
        sim.stop()


def test_cover_open_and_offline_refuse_the_job(psim: PrinterSim) -> None:
    psim.ctl("cover-open")
    with pytest.raises(PrinterCoverOpen):
        Printer(psim.url).print(SALE)
    psim.ctl("cover-close")
    psim.ctl("offline")
    with pytest.raises(PrinterOffline):
        Printer(psim.url, timeout=0.5).print(SALE)
    assert psim.printed() == []


def test_near_end_still_prints(tmp_path: Path) -> None:
    sim = start_printer(tmp_path, "--near-end")
    try:
        Printer(sim.url).print(SALE)
        assert len(sim.printed()) == 1
    finally:
        sim.stop()


def test_printer_over_a_pty(tmp_path: Path) -> None:
    sim = start_printer(tmp_path, "--pty", str(tmp_path / "printer.tty"))
    try:
        printer = Printer(f"serial://{tmp_path / 'printer.tty'}?baud=115200")
        assert printer.status().ready
        printer.print(SALE)
        printer.close()
        assert "[QR: TQR0001]" in sim.printed()[0]
    finally:
        sim.stop()


def test_random_bytes_never_crash_the_simulator(psim: PrinterSim) -> None:
    host, port = psim.url.removeprefix("tcp://").split(":")
    rng = random.Random(1234)
    renderer = Renderer()
    valid = renderer.render(SALE)
    for i in range(60):
        if i % 2:
            blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
        else:
            mutated = bytearray(valid)
            for _ in range(rng.randrange(1, 20)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            blob = bytes(mutated)
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(blob)
    psim.ctl("refill")
    psim.ctl("cover-close")
    psim.ctl("online")
    Printer(psim.url).print(SALE)  # still alive and printing correctly
    assert "[QR: TQR0001]" in psim.printed()[-1]


def test_posterm_printer_cli(psim: PrinterSim, tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "posterm"), "printer", "--url", psim.url, *args],
                              capture_output=True, text=True, check=False, timeout=60)  # fmt: skip

    status = cli("--json", "status")
    assert status.returncode == 0 and json.loads(status.stdout)["ready"] is True
    assert cli("test").returncode == 0
    receipt = tmp_path / "r.json"
    receipt.write_text(json.dumps({"title": "HELLO", "body": ["one", "two"], "qr": "Q1"}))
    assert cli("receipt", str(receipt)).returncode == 0
    assert "HELLO" in psim.printed()[-1] and "[QR: Q1]" in psim.printed()[-1]
    psim.ctl("paper-out")
    assert cli("test").returncode == 1
    assert cli("status").returncode == 1
