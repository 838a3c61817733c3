"""The simulated printer's state: paper, cover, errors, and what a cut produces.

Faults: near end (prints, says so), paper out after N lines (mid-receipt: the printer
stops and the rest of the job is lost, as the issue asks), cover open, an autocutter
error (cleared by `recover` or DLE ENQ 1/2), offline (answers nothing, prints nothing).
While the printer is stopped, print data that arrives is lost and GS r is not answered.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from posterm.hwsim.printer.page import Line, Page
from posterm.hwsim.printer.parser import EscPosParser
from posterm.protocol.escpos import status as st

if TYPE_CHECKING:  # paper needs Pillow and qrcode (the `sim` extra); only its caller imports it
    from posterm.hwsim.printer.paper import PaperOut

log = logging.getLogger("posterm.sim.printer")
CONTROLS = (
    "paper-out",
    "paper-out-after:N",
    "refill",
    "cover-open",
    "cover-close",
    "offline",
    "online",
    "near-end",
    "near-end-off",
    "cutter-error",
    "recover",
    "status",
)
SWITCHES = {
    "cover-open": ("cover_open", True),
    "cover-close": ("cover_open", False),
    "offline": ("offline", True),
    "online": ("offline", False),
    "near-end": ("near_end", True),
    "near-end-off": ("near_end", False),
    "cutter-error": ("cutter_error", True),
    "recover": ("cutter_error", False),
}


class SimPrinter:
    def __init__(
        self,
        paper: PaperOut,
        *,
        near_end: bool = False,
        paper_out_after_lines: int | None = None,
        cover_open: bool = False,
        offline: bool = False,
    ) -> None:
        if paper_out_after_lines is not None and paper_out_after_lines < 1:
            raise ValueError("paper out after N lines: N >= 1")
        self.paper = paper
        self.near_end = near_end
        self.lines_left = paper_out_after_lines
        self.paper_out = False
        self.cover_open = cover_open
        self.cutter_error = False
        self.offline = offline
        self.page = Page()
        self.lock = threading.Lock()
        self.cuts = 0
        self.lost_bytes = 0
        self.stops = 0  # times the printer stopped: a job it was in is lost
        self.status_requests = 0  # DLE EOT n received (a driver's status query asks 3)

    def parser(self) -> EscPosParser:
        return EscPosParser(self._line, self._cut, self._sensor, self.paper.width)

    def stopped(self) -> bool:
        """Not printing: paper out, cover open, cutter error or switched off."""
        return self.paper_out or self.cover_open or self.cutter_error or self.offline

    def lose(self, count: int) -> None:
        """Bytes the stopped printer will never print."""
        with self.lock:
            self.lost_bytes += count

    def feed(self, parser: EscPosParser, data: bytes) -> bytes:
        """Print data, processed in turn; returns the answers to GS r."""
        with self.lock:
            if self.stopped():
                self.lost_bytes += len(data)
                return b""
            if parser.stop_count != self.stops:
                parser.discard()  # whatever it was in the middle of when the printer stopped
                parser.stop_count = self.stops
            return parser.feed(data)

    def realtime(self, n: int) -> bytes | None:
        """The answer to DLE EOT n, on arrival (None: a switched-off printer is silent)."""
        with self.lock:
            self.status_requests += 1
            if self.offline:
                return None
            answers = st.encode(
                online=True,
                cover_open=self.cover_open,
                paper=self._paper(),
                error=self.cutter_error,
            )
            return bytes([answers[n]]) if n in answers else None

    def request(self, n: int) -> None:
        """DLE ENQ 1 / 2: recover from a recoverable (autocutter) error."""
        with self.lock:
            if not self.offline and n in (1, 2) and self.cutter_error:
                log.info("sim printer: recovered from the cutter error (DLE ENQ %d)", n)
                self.cutter_error = False

    def _paper(self) -> st.Paper:
        if self.paper_out:
            return st.Paper.OUT
        return st.Paper.NEAR_END if self.near_end else st.Paper.OK

    # -- parser callbacks (under the lock) ------------------------------------------------
    def _line(self, line: Line) -> None:
        if self.stopped():
            return
        self.page.lines.append(line)
        if self.lines_left is not None:
            self.lines_left -= 1
            if self.lines_left <= 0:
                log.info("sim printer: paper out in the middle of a receipt")
                self._run_out()

    def _run_out(self) -> None:
        # The cut-short page is on disk before the sensor says "paper out": whoever sees
        # the paper out (a host polling DLE EOT) can already read what was printed.
        self.lines_left = None
        if self.page.lines:
            self.paper.write(self.page, truncated=True)
        self.page = Page()
        self.stops += 1
        self.paper_out = True

    def _cut(self) -> None:
        if self.stopped():
            return
        if self.page.lines:
            self.paper.write(self.page)
            self.cuts += 1
        self.page = Page()

    def _sensor(self, n: int) -> bytes | None:
        if self.stopped():
            return None
        if n in (1, 49):
            return bytes([st.encode_sensor(self._paper())])
        if n in (2, 50):
            return b"\x00"  # drawer kick-out connector pin 3 low
        return None

    # -- control --------------------------------------------------------------------------
    def control(self, action: str) -> dict[str, Any]:
        """Change the printer as a person would (paper, cover, power); returns its state."""
        with self.lock:
            if action == "paper-out":
                self._run_out()
            elif action == "refill":
                self.paper_out, self.near_end, self.lines_left = False, False, None
            elif action.startswith("paper-out-after:"):
                count = action.split(":", 1)[1]
                if not count.isdigit() or int(count) < 1:
                    raise ValueError("paper-out-after:N takes a number of lines >= 1")
                self.lines_left = int(count)
            elif action in SWITCHES:
                name, value = SWITCHES[action]
                if value and not getattr(self, name) and name != "near_end":
                    self.stops += 1  # the printer stops: a job it was in is lost
                setattr(self, name, value)
            elif action != "status":
                raise ValueError(f"unknown action {action!r}; known: {', '.join(CONTROLS)}")
            return self.state()

    def state(self) -> dict[str, Any]:
        return {
            "paper_out": self.paper_out,
            "near_end": self.near_end,
            "cover_open": self.cover_open,
            "cutter_error": self.cutter_error,
            "offline": self.offline,
            "lines_left": self.lines_left,
            "cuts": self.cuts,
            "lost_bytes": self.lost_bytes,
            "status_requests": self.status_requests,
        }
