"""ESC/POS real-time status (DLE EOT n), as Epson TM-T20/T88 printers answer it.

Every status byte has bit 1 and bit 4 set and bits 0 and 7 clear (`b & 0x93 == 0x12`);
anything else is not a status byte. No answer, or a byte that is not a status byte, makes
the status UNKNOWN — never "paper OK".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DLE_EOT = b"\x10\x04"
PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER = 1, 2, 3, 4
BASE = 0x12
FIXED_MASK = 0x93

# n=1 printer status
OFFLINE = 0x08
# n=2 offline cause
COVER_OPEN = 0x04
FEED_BUTTON = 0x08
PAPER_END_STOP = 0x20
ERROR = 0x40
# n=3 error cause
AUTOCUTTER_ERROR = 0x08
UNRECOVERABLE = 0x20
AUTO_RECOVERABLE = 0x40
# n=4 roll paper sensor
NEAR_END = 0x0C
PAPER_OUT = 0x60


def query(n: int) -> bytes:
    if n not in (PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER):
        raise ValueError(f"DLE EOT n is 1..4, not {n}")
    return DLE_EOT + bytes([n])


def is_status_byte(value: int) -> bool:
    return value & FIXED_MASK == BASE


class Paper(StrEnum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PrinterStatus:
    known: bool
    online: bool = False
    cover_open: bool = False
    paper: Paper = Paper.UNKNOWN
    error: bool = False

    @property
    def ready(self) -> bool:
        """Known, online, cover closed, paper not out, no error (near end still prints)."""
        return (
            self.known
            and self.online
            and not self.cover_open
            and not self.error
            and self.paper in (Paper.OK, Paper.NEAR_END)
        )

    def text(self) -> str:
        if not self.known:
            return "unknown (no valid answer)"
        parts = ["online" if self.online else "offline", f"paper {self.paper}"]
        if self.cover_open:
            parts.append("cover open")
        if self.error:
            parts.append("error")
        return ", ".join(parts)


UNKNOWN = PrinterStatus(known=False)


def decode(printer: int | None, offline: int | None, paper: int | None) -> PrinterStatus:
    """The status from the answers to DLE EOT 1, 2 and 4 (None: no answer)."""
    answers = (printer, offline, paper)
    if any(a is None or not is_status_byte(a) for a in answers):
        return UNKNOWN
    assert printer is not None and offline is not None and paper is not None
    if paper & PAPER_OUT == PAPER_OUT or offline & PAPER_END_STOP:
        level = Paper.OUT
    elif paper & NEAR_END == NEAR_END:
        level = Paper.NEAR_END
    else:
        level = Paper.OK
    return PrinterStatus(
        known=True,
        online=not printer & OFFLINE,
        cover_open=bool(offline & COVER_OPEN),
        paper=level,
        error=bool(offline & ERROR),
    )


def encode(
    *, online: bool, cover_open: bool, paper: Paper, error: bool = False
) -> dict[int, int]:
    """The bytes a TM printer answers to DLE EOT 1..4 in this condition (for simulators)."""
    stopped = paper == Paper.OUT
    printer = BASE | (OFFLINE if not online or cover_open or stopped or error else 0)
    offline = BASE | (COVER_OPEN if cover_open else 0) | (PAPER_END_STOP if stopped else 0)
    offline |= ERROR if error else 0
    errors = BASE | (AUTO_RECOVERABLE if cover_open else 0)
    roll = BASE | (PAPER_OUT if stopped else NEAR_END if paper == Paper.NEAR_END else 0)
    return {PRINTER: printer, OFFLINE_CAUSE: offline, ERROR_CAUSE: errors, PAPER: roll}
