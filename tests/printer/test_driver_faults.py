"""The driver against printers that misbehave: a write that blocks, a job never cut, a
printer that goes away and comes back, devices that are not there, bad configuration.
Every call comes back with a `PrinterError` within its time limits, never hangs."""

from __future__ import annotations

import os
import socket
import threading
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from posterm.drivers.printer import (
    Printer,
    PrinterConfigError,
    PrinterGone,
    PrinterOffline,
    PrinterTimeout,
)
from posterm.drivers.printer import receipt as layouts
from posterm.protocol.escpos import status as st
from tests.support.sim import start_printer

RECEIPT = layouts.sale(
    header=("Shop",), amount="1.00", currency="EUR", pt_lines=("OK",), txn_id="T1"
)
READY = bytes([st.BASE, st.BASE, st.BASE])


def fake_printer(answer_jobs: bool, read_after_status: bool) -> Iterator[str]:
    """A TCP 'printer' that answers DLE EOT as ready; it then either keeps reading but
    never answers GS r (a job that is never cut), or stops reading (a blocked write)."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(9)
            conn.sendall(READY)
            while read_after_status and not stop.is_set():
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(READY * data.count(st.query(1)))
                if answer_jobs and b"\x1dr\x01" in data:
                    conn.sendall(b"\x00")
            stop.wait(60)

    threading.Thread(target=serve, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    server.close()


@pytest.fixture
def never_cuts() -> Iterator[str]:
    yield from fake_printer(answer_jobs=False, read_after_status=True)


@pytest.fixture
def stops_reading() -> Iterator[str]:
    yield from fake_printer(answer_jobs=False, read_after_status=False)


def test_a_job_that_is_never_cut_times_out(never_cuts: str) -> None:
    """GIVEN a printer that says it is fine but never reaches the job's end (GS r 1 is
    not answered) THEN print() fails once job_timeout has passed, polling status meanwhile."""
    printer = Printer(never_cuts, timeout=1, job_timeout=1.5)
    with pytest.raises(PrinterTimeout, match=r"not cut within 1\.5 s"):
        printer.print(RECEIPT)
    assert printer.last_status.ready  # the polls said fine: only the cut was missing


def test_a_write_the_printer_never_takes_times_out(stops_reading: str) -> None:
    """GIVEN a printer that stops reading (its buffer full for good) THEN the write fails
    with PrinterTimeout instead of blocking for ever."""
    printer = Printer(stops_reading, timeout=1)
    with pytest.raises(PrinterTimeout, match="write timed out"):
        printer.print_bytes(b"\x1b@" + b"x" * (32 << 20) + b"\x1dV\x00")


def test_a_serial_write_the_printer_never_takes_times_out(tmp_path: Path) -> None:
    """GIVEN a serial printer (a pty) that answers one status and then stops reading
    THEN the serial write times out (python-escpos's Serial would block for ever)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    link = tmp_path / "stuck.tty"
    link.symlink_to(os.ttyname(slave))

    def answer_once() -> None:
        os.read(master, 9)
        os.write(master, READY)

    threading.Thread(target=answer_once, daemon=True).start()
    try:
        printer = Printer(f"serial://{link}?baud=230400", timeout=0.5)
        with pytest.raises(PrinterTimeout, match="write timed out"):
            printer.print_bytes(b"x" * 100_000)  # more than any pty buffers (20-68 KiB)
        printer.close()
    finally:
        os.close(master)
        os.close(slave)


def test_a_serial_printer_that_never_answers_is_unknown(tmp_path: Path) -> None:
    master, slave = os.openpty()
    link = tmp_path / "silent.tty"
    link.symlink_to(os.ttyname(slave))
    try:
        printer = Printer(f"serial://{link}?baud=9600", timeout=0.5)
        assert printer.status() == st.UNKNOWN
        with pytest.raises(PrinterOffline, match="no valid status answer before the job"):
            printer.print(RECEIPT)
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.slow
def test_the_printer_goes_away_and_comes_back(tmp_path: Path) -> None:
    """GIVEN a printer that was printing WHEN it disappears THEN print() fails with
    PrinterGone, and WHEN it is back on the same address the same Printer prints again."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    sim = start_printer(tmp_path / "a")
    printer = Printer(sim.url, timeout=2)
    printer.print(RECEIPT)
    port = sim.url.rsplit(":", 1)[1]
    sim.stop()
    with pytest.raises((PrinterGone, PrinterOffline)):
        printer.print(RECEIPT)
    assert printer.status() == st.UNKNOWN
    again = start_printer(tmp_path / "b", "--listen", f"tcp://127.0.0.1:{port}")
    try:
        printer.print(RECEIPT)
        assert len(again.printed()) == 1
    finally:
        printer.close()
        again.stop()


@pytest.mark.slow
def test_a_status_query_that_cannot_reach_the_printer_leaves_the_status_unknown(
    tmp_path: Path,
) -> None:
    """GIVEN a printer that printed (its last status: ready), then closed, then gone
    WHEN the next job's status query before the job cannot reach it
    THEN the job fails with PrinterGone and `last_status` is unknown, not the stale ready
    (the terminal shows it, and no longer asks a status of its own before a job)."""
    sim = start_printer(tmp_path)
    printer = Printer(sim.url, timeout=2)
    try:
        printer.print(RECEIPT)
        assert printer.last_status.ready
        printer.close()
        sim.stop()
        with pytest.raises(PrinterGone):
            printer.print(RECEIPT)
        assert printer.last_status == st.UNKNOWN
    finally:
        printer.close()
        if sim.proc.poll() is None:
            sim.stop()


@pytest.mark.parametrize(
    "url",
    [
        "serial:///dev/posterm-no-such-port?baud=9600",
        pytest.param("usb://04b8:0e15", marks=pytest.mark.slow),  # pyusb runs ldconfig
    ],
)
def test_a_device_that_is_not_there_is_gone(url: str) -> None:
    with pytest.raises(PrinterGone, match="cannot open"):
        Printer(url, timeout=0.5).print(RECEIPT)
    assert Printer(url, timeout=0.5).status() == st.UNKNOWN


@pytest.mark.parametrize(
    "url",
    [
        "http://printer:9100",
        "tcp://",
        "tcp://host:0",
        "tcp://host:99999",
        "tcp://host:9100/path",
        "serial://ttyS0",
        "serial:///dev/ttyS0?baud=12345",
        "serial:///dev/ttyS0?parity=E",
        "usb://04b8",
        "usb://xyz:0e15",
        "",
    ],
)
def test_bad_urls_are_refused_before_anything_is_opened(url: str) -> None:
    with pytest.raises(PrinterConfigError, match="printer url"):
        Printer(url)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"columns": 43},  # the default profile prints 42
        {"columns": 20},
        {"profile": "TM-T20"},
        {"profile": "ZJ-5870"},  # no cutter
        {"encoding": "gb18030"},  # not in the default profile
        {"encoding": "utf-8"},
        {"timeout": 0},
        {"timeout": -1},
        {"job_timeout": 0},
        {"timeout": 601},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(PrinterConfigError):
        Printer("tcp://127.0.0.1:9100", **kwargs)  # type: ignore[arg-type]
