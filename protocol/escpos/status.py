"""ESC/POS printer status bytes (DLE EOT n, GS r 1), as Epson TM-T20/T88 printers send them.

DLE EOT n (real-time status) answers always have bit 1 and bit 4 set and bits 0 and 7 clear
(`b & 0x93 == 0x12`); anything else is not a status byte. No answer, or a byte that is not
a status byte, makes the status UNKNOWN — never "paper OK". The answer to GS r 1 (paper
sensor status, executed in turn) has bits 4 and 7 clear, which tells it apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DLE_EOT = b"\x10\x04"
PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER = 1, 2, 3, 4
BASE = 0x12  # bits 1 and 4: fixed to 1 in every DLE EOT answer
FIXED_MASK = 0x93  # bits 0, 1, 4, 7: the fixed bits

# n=1 printer status
DRAWER_PIN3 = 0x04
OFFLINE = 0x08
WAITING_RECOVERY = 0x20
FEED_BUTTON_PRESSED = 0x40
# n=2 offline cause
COVER_OPEN = 0x04
FEEDING = 0x08
PAPER_END_STOP = 0x20
ERROR = 0x40
# n=3 error cause
AUTOCUTTER_ERROR = 0x08
UNRECOVERABLE = 0x20
AUTO_RECOVERABLE = 0x40
# n=4 roll paper sensor
NEAR_END = 0x0C
PAPER_OUT = 0x60
# GS r 1 answer (paper sensor status)
SENSOR_FIXED_MASK = 0x90  # bits 4 and 7: fixed to 0
SENSOR_NEAR_END = 0x03
SENSOR_PAPER_END = 0x0C


def query(n: int) -> bytes:
    """DLE EOT n, n = 1 (printer), 2 (offline cause), 3 (error cause), 4 (roll paper)."""
    if n not in (PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER):
        raise ValueError(f"DLE EOT n is 1..4, not {n}")
    return DLE_EOT + bytes([n])


def is_status_byte(value: int) -> bool:
    """An answer to DLE EOT n: bits 1 and 4 set, bits 0 and 7 clear."""
    return value & FIXED_MASK == BASE


def is_sensor_byte(value: int) -> bool:
    """An answer to GS r 1 (in turn): bits 4 and 7 clear."""
    return value & SENSOR_FIXED_MASK == 0


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
    if printer is None or offline is None or paper is None:
        return UNKNOWN
    if not (is_status_byte(printer) and is_status_byte(offline) and is_status_byte(paper)):
        return UNKNOWN
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


def decode_sensor(value: int) -> Paper:
    """The paper level from a GS r 1 answer (UNKNOWN if it is not one)."""
    if not is_sensor_byte(value):
        return Paper.UNKNOWN
    if value & SENSOR_PAPER_END == SENSOR_PAPER_END:
        return Paper.OUT
    if value & SENSOR_NEAR_END == SENSOR_NEAR_END:
        return Paper.NEAR_END
    return Paper.OK


def encode(*, online: bool, cover_open: bool, paper: Paper, error: bool = False) -> dict[int, int]:
    """The bytes a TM printer answers to DLE EOT 1..4 in this condition (for simulators).

    `error` is an autocutter error (recoverable with DLE ENQ)."""
    if paper == Paper.UNKNOWN:
        raise ValueError("a printer always knows its paper level")
    stopped = paper == Paper.OUT
    printer = BASE | (OFFLINE if not online or cover_open or stopped or error else 0)
    offline = BASE | (COVER_OPEN if cover_open else 0) | (PAPER_END_STOP if stopped else 0)
    offline |= ERROR if error else 0
    errors = BASE | (AUTO_RECOVERABLE if cover_open else 0)
    errors |= AUTOCUTTER_ERROR if error else 0
    roll = BASE | (PAPER_OUT if stopped else NEAR_END if paper == Paper.NEAR_END else 0)
    return {PRINTER: printer, OFFLINE_CAUSE: offline, ERROR_CAUSE: errors, PAPER: roll}


def encode_sensor(paper: Paper) -> int:
    """The answer to GS r 1 for this paper level (never sent with the paper out)."""
    if paper == Paper.UNKNOWN:
        raise ValueError("a printer always knows its paper level")
    return {Paper.OK: 0x00, Paper.NEAR_END: SENSOR_NEAR_END}.get(
        paper, SENSOR_NEAR_END | SENSOR_PAPER_END
    )
