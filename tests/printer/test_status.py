"""Printer status: every combination through the real driver and python-escpos against the
simulator; no answer or a non-status byte is UNKNOWN, never 'paper OK'."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from escpos.printer import Network

from posterm.drivers.printer import Printer
from posterm.protocol.escpos import status as st
from tests.support.sim import PrinterSim


@pytest.mark.parametrize(
    "case",
    [
        ((), True, False, st.Paper.OK, True),
        (("near-end",), True, False, st.Paper.NEAR_END, True),
        (("paper-out",), False, False, st.Paper.OUT, False),
        (("cover-open",), False, True, st.Paper.OK, False),
        (("cover-open", "near-end"), False, True, st.Paper.NEAR_END, False),
        (("cover-open", "paper-out"), False, True, st.Paper.OUT, False),
        (("paper-out", "refill"), True, False, st.Paper.OK, True),
        (("cover-open", "cover-close"), True, False, st.Paper.OK, True),
    ],
)
def test_status_combinations(psim: PrinterSim, case: tuple) -> None:  # type: ignore[type-arg]
    actions, online, cover, paper, ready = case
    for action in actions:
        psim.ctl(action)
    printer = Printer(psim.url, timeout=2)
    status = printer.status()
    assert (status.known, status.cover_open, status.paper, status.ready) == (
        True, cover, paper, ready,
    )  # fmt: skip
    assert status.online == online
    # python-escpos reads the same bytes: its paper_status agrees where it can know.
    bare = Network(psim.url.removeprefix("tcp://").split(":")[0],
                   int(psim.url.rsplit(":", 1)[1]), timeout=2)  # fmt: skip
    bare.open()
    try:
        expected = {st.Paper.OK: 2, st.Paper.NEAR_END: 1, st.Paper.OUT: 0}[paper]
        assert bare.paper_status() == expected
        assert bool(bare.is_online()) == status.online
    finally:
        bare.close()


def test_offline_printer_is_unknown_not_ok(psim: PrinterSim) -> None:
    """GIVEN a printer that answers nothing THEN the driver says UNKNOWN, where bare
    python-escpos 3.1 would say 'paper OK' (its paper_status() is 2 on no answer)."""
    psim.ctl("offline")
    status = Printer(psim.url, timeout=0.5).status()
    assert status == st.UNKNOWN and not status.ready and status.paper == st.Paper.UNKNOWN


@pytest.fixture
def liar() -> Iterator[str]:
    """A TCP 'printer' that answers every status query with a byte that is not a status."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(64):
                conn.sendall(b"\xff" * data.count(b"\x10\x04"))

    threading.Thread(target=serve, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_invalid_status_byte_is_unknown(liar: str) -> None:
    assert Printer(liar, timeout=0.5).status() == st.UNKNOWN


def test_nothing_listening_is_unknown() -> None:
    assert Printer("tcp://127.0.0.1:1", timeout=0.5).status() == st.UNKNOWN


@pytest.mark.parametrize("value", range(256))
def test_status_decoding_checks_the_fixed_bits(value: int) -> None:
    decoded = st.decode(value, st.BASE, st.BASE)
    assert decoded.known == (value & 0x93 == 0x12)
