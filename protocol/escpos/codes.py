"""ESC/POS command bytes posterm emits and its printer simulator understands."""

from __future__ import annotations

ESC, GS, FS, DLE, LF = 0x1B, 0x1D, 0x1C, 0x10, 0x0A

INIT = b"\x1b@"
LINE_FEED = b"\n"
BOLD_ON, BOLD_OFF = b"\x1bE\x01", b"\x1bE\x00"
ALIGN = {"left": b"\x1ba\x00", "center": b"\x1ba\x01", "right": b"\x1ba\x02"}
SIZE_NORMAL, SIZE_DOUBLE = b"\x1d!\x00", b"\x1d!\x11"
CHINESE_ON, CHINESE_OFF = b"\x1c&", b"\x1c."
# ESC t n code tables (Epson numbering)
CODE_PAGES = {"cp437": 0, "cp858": 19}
CUT_FULL = b"\x1dV\x00"
CUT_PARTIAL_FEED = b"\x1dVB\x00"


def select_code_page(encoding: str) -> bytes:
    return b"\x1bt" + bytes([CODE_PAGES[encoding]])


def feed(lines: int) -> bytes:
    return b"\x1bd" + bytes([max(0, min(lines, 255))])
