"""The simulated printer's state: paper, cover, online, and what a cut produces.

Faults: near end (prints, says so), paper out after N lines (mid-receipt: the rest of
the job is lost, as on a real printer), cover open, offline (answers nothing)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from posterm.hwsim.printer.paper import PaperOut
from posterm.hwsim.printer.parser import EscPosParser, Line, Page
from posterm.protocol.escpos import status as st

log = logging.getLogger("posterm.sim.printer")
CONTROLS = ("paper-out", "paper-out-after:N", "refill", "cover-open", "cover-close",
            "offline", "online", "near-end", "near-end-off", "status")  # fmt: skip


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
        self.paper = paper
        self.near_end = near_end
        self.lines_left = paper_out_after_lines
        self.paper_out = False
        self.cover_open = cover_open
        self.offline = offline
        self.page = Page()
        self.lock = threading.Lock()
        self.cuts = 0

    def parser(self) -> EscPosParser:
        return EscPosParser(self._line, self._cut, self._query)

    def feed(self, parser: EscPosParser, data: bytes) -> bytes:
        with self.lock:
            return parser.feed(data)

    # -- parser callbacks (under the lock) ------------------------------------------------
    def _printing(self) -> bool:
        return not (self.paper_out or self.cover_open or self.offline)

    def _line(self, line: Line) -> None:
        if not self._printing():
            return
        self.page.lines.append(line)
        if self.lines_left is not None:
            self.lines_left -= 1
            if self.lines_left <= 0:
                log.info("sim printer: paper out in the middle of a receipt")
                self._run_out()

    def _run_out(self) -> None:
        self.paper_out = True
        if self.page.lines:
            self.paper.write(self.page, truncated=True)
        self.page = Page()

    def _cut(self) -> None:
        if self._printing() and self.page.lines:
            self.paper.write(self.page)
            self.cuts += 1
        self.page = Page()

    def _query(self, n: int) -> bytes | None:
        if self.offline:
            return None
        paper = (
            st.Paper.OUT if self.paper_out else st.Paper.NEAR_END if self.near_end else st.Paper.OK
        )
        answers = st.encode(online=True, cover_open=self.cover_open, paper=paper)
        value = answers.get(n)
        return None if value is None else bytes([value])

    # -- control --------------------------------------------------------------------------
    def control(self, action: str) -> dict[str, Any]:
        with self.lock:
            if action == "paper-out":
                self._run_out()
            elif action == "refill":
                self.paper_out = False
                self.near_end = False
                self.lines_left = None
            elif action in ("cover-open", "cover-close"):
                self.cover_open = action == "cover-open"
            elif action in ("offline", "online"):
                self.offline = action == "offline"
            elif action in ("near-end", "near-end-off"):
                self.near_end = action == "near-end"
            elif action.startswith("paper-out-after:"):
                try:
                    self.lines_left = max(1, int(action.split(":", 1)[1]))
                except ValueError:
                    raise ValueError("paper-out-after:N takes a number of lines") from None
            elif action != "status":
                raise ValueError(f"unknown action {action!r}; known: {', '.join(CONTROLS)}")
            return {
                "paper_out": self.paper_out,
                "near_end": self.near_end,
                "cover_open": self.cover_open,
                "offline": self.offline,
                "lines_left": self.lines_left,
                "cuts": self.cuts,
            }
