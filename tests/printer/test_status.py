"""Printer status: every combination through the real driver and python-escpos against the
simulator process; no answer or a non-status byte is UNKNOWN, never 'paper OK'."""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Iterator

import pytest
from escpos.printer import Network

from posterm.drivers.printer import Printer
from posterm.protocol.escpos import status as st
from tests.support.sim import PrinterSim

PAPER = {"ok": (), "near-end": ("near-end",), "out": ("paper-out",)}
LEVEL = {"ok": st.Paper.OK, "near-end": st.Paper.NEAR_END, "out": st.Paper.OUT}
CASES = list(itertools.product(PAPER, [False, True], [False, True]))


def bare(url: str) -> Network:
    host, port = url.removeprefix("tcp://").rsplit(":", 1)
    printer = Network(host, int(port), timeout=5)
    printer.open()
    return printer


@pytest.mark.parametrize(("paper", "cover", "error"), CASES)
@pytest.mark.slow
def test_every_status_combination(psim: PrinterSim, paper: str, cover: bool, error: bool) -> None:
    """GIVEN the simulator in one of 12 conditions WHEN the driver and python-escpos ask
    THEN the driver decodes exactly that, and python-escpos reads the same bytes alike."""
    for action in (
        *PAPER[paper],
        *(("cover-open",) if cover else ()),
        *(("cutter-error",) if error else ()),
    ):
        psim.ctl(action)
    printer = Printer(psim.url, timeout=2)
    try:
        status = printer.status()
    finally:
        printer.close()
    ready = paper != "out" and not cover and not error
    assert status.known
    assert (status.paper, status.cover_open, status.error) == (LEVEL[paper], cover, error)
    assert (status.online, status.ready) == (ready, ready)
    raw = bare(psim.url)
    try:
        assert raw.paper_status() == {"ok": 2, "near-end": 1, "out": 0}[paper]
        assert raw.is_online() == ready
    finally:
        raw.close()


@pytest.mark.slow
def test_refill_cover_close_and_recover_make_it_ready_again(psim: PrinterSim) -> None:
    for action in ("paper-out", "cover-open", "cutter-error"):
        psim.ctl(action)
    printer = Printer(psim.url, timeout=2)
    assert not printer.status().ready
    for action in ("refill", "cover-close", "recover"):
        psim.ctl(action)
    assert printer.status().ready
    printer.close()


@pytest.mark.slow
def test_dle_enq_recovers_from_the_cutter_error(psim: PrinterSim) -> None:
    """GIVEN an autocutter error WHEN the host sends DLE ENQ 1 THEN the error is cleared."""
    psim.ctl("cutter-error")
    assert psim.ctl("status")["cutter_error"]
    raw = bare(psim.url)
    try:
        raw._raw(b"\x10\x05\x01")
        assert raw.query_status(b"\x10\x04\x02")[0] & st.ERROR == 0
    finally:
        raw.close()
    assert not psim.ctl("status")["cutter_error"]


@pytest.mark.slow
def test_offline_printer_is_unknown_not_ok(psim: PrinterSim) -> None:
    """GIVEN a printer that answers nothing THEN the driver says UNKNOWN, where bare
    python-escpos 3.1 would say 'paper OK' (its paper_status() is 2 on no answer)."""
    psim.ctl("offline")
    printer = Printer(psim.url, timeout=0.5)
    status = printer.status()
    printer.close()
    assert status == st.UNKNOWN and not status.ready and status.paper == st.Paper.UNKNOWN
    assert printer.last_status == st.UNKNOWN


@pytest.fixture
def liar() -> Iterator[str]:
    """A TCP 'printer' that answers every status query with a byte that is not a status."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(64):
                    conn.sendall(b"\xff" * data.count(b"\x10\x04"))

    threading.Thread(target=serve, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_invalid_status_byte_is_unknown(liar: str) -> None:
    assert Printer(liar, timeout=0.5).status() == st.UNKNOWN


def test_nothing_listening_is_unknown() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # a port that was free a moment ago, now closed
    assert Printer(f"tcp://127.0.0.1:{port}", timeout=0.5).status() == st.UNKNOWN


@pytest.mark.parametrize("value", range(256))
def test_status_decoding_checks_the_fixed_bits(value: int) -> None:
    decoded = st.decode(value, st.BASE, st.BASE)
    assert decoded.known == (value & 0x93 == 0x12)
