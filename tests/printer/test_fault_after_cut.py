"""A receipt the printer has cut is printed: a cover opened (or the paper running out) in
the moment after the cut does not fail that job — it would be printed again, and the
customer would get two. The next job's check before printing stops it instead. Found by
the chaos soak. A scripted printer on a real TCP socket: ready until it has answered the
job's GS r 1 (the cut), then its cover is open."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from posterm.drivers.printer import Printer, PrinterCoverOpen, Receipt
from posterm.protocol.escpos import codes
from posterm.protocol.escpos import status as st
from posterm.protocol.escpos.realtime import RealtimeScanner

RECEIPT = Receipt(
    title="SALE", items=(("Coffee", "2.50 EUR"),), total=("TOTAL", "2.50 EUR"), copy="customer"
)


class CoverOpensAfterTheCut:
    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.cut = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        scanner, seen = RealtimeScanner(), b""
        with conn:
            while data := conn.recv(4096):
                for kind, n in scanner.feed(data):
                    if kind == "status":
                        answers = st.encode(
                            online=True, cover_open=self.cut.is_set(), paper=st.Paper.OK
                        )
                        conn.sendall(bytes([answers[n]]))
                seen = (seen + data)[-8:]
                if codes.PAPER_SENSOR_QUERY in seen and not self.cut.is_set():
                    conn.sendall(bytes([st.encode_sensor(st.Paper.OK)]))  # cut, in turn
                    self.cut.set()  # ... and then the cover is opened
                    seen = b""


@pytest.fixture
def printer() -> Iterator[Printer]:
    fake = CoverOpensAfterTheCut()
    p = Printer(f"tcp://127.0.0.1:{fake.port}", timeout=2)
    yield p
    p.close()
    fake.server.close()


def test_a_cover_opened_right_after_the_cut_does_not_fail_the_printed_job(
    printer: Printer,
) -> None:
    printer.print(RECEIPT)  # printed and cut: no exception, so no second copy
    assert printer.last_status.cover_open
    with pytest.raises(PrinterCoverOpen, match="before the job"):
        printer.print(RECEIPT)  # the next job meets the open cover
