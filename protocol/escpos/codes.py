"""ESC/POS command bytes posterm emits and its printer simulator understands (Epson numbering)."""

from __future__ import annotations

ESC, GS, FS, DLE, LF = 0x1B, 0x1D, 0x1C, 0x10, 0x0A

INIT = b"\x1b@"  # ESC @: clear the print buffer, reset the modes
LINE_FEED = b"\n"
BOLD_ON, BOLD_OFF = b"\x1bE\x01", b"\x1bE\x00"  # ESC E n
ALIGN = {"left": b"\x1ba\x00", "center": b"\x1ba\x01", "right": b"\x1ba\x02"}  # ESC a n
CHINESE_ON, CHINESE_OFF = b"\x1c&", b"\x1c."  # FS & / FS .: Kanji (here GB18030) mode
CUT_FULL = b"\x1dV\x00"  # GS V 0
CUT_PARTIAL = b"\x1dV\x01"  # GS V 1
# GS r 1: transmit paper sensor status. Unlike DLE EOT it is executed in turn, when the
# printer reaches it in its receive buffer, and not at all once the paper has run out:
# its answer after a job means the printer has processed (printed and cut) the job.
PAPER_SENSOR_QUERY = b"\x1dr\x01"

# ESC t n: the character code tables, as the Epson TM-T88/T20 number them, and the
# Python codec for each (only tables that Python can decode are listed).
CODE_TABLES: dict[int, str] = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    13: "cp857",
    14: "cp737",
    15: "iso8859_7",
    16: "cp1252",
    17: "cp866",
    18: "cp852",
    19: "cp858",
}
CODE_PAGES: dict[str, int] = {name: n for n, name in CODE_TABLES.items()}
MAX_SIZE = 8  # GS ! magnification: 1..8 in each direction


def select_code_page(encoding: str) -> bytes:
    """ESC t n for a Python codec name (`cp437`, `cp858`, ...)."""
    if encoding not in CODE_PAGES:
        raise ValueError(f"no ESC t code table for {encoding!r}; known: {sorted(CODE_PAGES)}")
    return b"\x1bt" + bytes([CODE_PAGES[encoding]])


def feed(lines: int) -> bytes:
    """ESC d n: print and feed n lines (0..255)."""
    if not 0 <= lines <= 255:
        raise ValueError(f"feed: 0..255 lines, not {lines}")
    return b"\x1bd" + bytes([lines])


def char_size(width: int, height: int) -> bytes:
    """GS ! n: character magnification, 1..8 times in each direction."""
    if not (1 <= width <= MAX_SIZE and 1 <= height <= MAX_SIZE):
        raise ValueError(f"character size 1..8 x 1..8, not {width} x {height}")
    return b"\x1d!" + bytes([(width - 1) << 4 | (height - 1)])


def size_of(n: int) -> tuple[int, int]:
    """The (width, height) magnification of a GS ! n parameter."""
    return ((n >> 4) & 0x07) + 1, (n & 0x07) + 1


SIZE_NORMAL, SIZE_DOUBLE = char_size(1, 1), char_size(2, 2)


def _gs_k(fn: int, payload: bytes) -> bytes:
    """GS ( k pL pH cn fn payload, for the QR code (cn = 49)."""
    size = len(payload) + 2
    return b"\x1d(k" + bytes([size & 0xFF, size >> 8, 49, fn]) + payload


QR_EC_LEVELS = {"L": 48, "M": 49, "Q": 50, "H": 51}
QR_MAX_DATA = 7089  # numeric capacity of a version 40 code: nothing longer fits


def qr(content: str, *, size: int = 4, ec: str = "L") -> bytes:
    """A native QR code (GS ( k): model 2, module size, error correction, store, print."""
    data = content.encode("utf-8")
    if not data or len(data) > QR_MAX_DATA:
        raise ValueError(f"QR content: 1..{QR_MAX_DATA} bytes, not {len(data)}")
    if not 1 <= size <= 16 or ec not in QR_EC_LEVELS:
        raise ValueError("QR module size 1..16 and error correction L, M, Q or H")
    return (
        _gs_k(65, b"\x32\x00")  # fn 165: model 2
        + _gs_k(67, bytes([size]))  # fn 167: module size in dots
        + _gs_k(69, bytes([QR_EC_LEVELS[ec]]))  # fn 169: error correction level
        + _gs_k(80, b"0" + data)  # fn 180: store the data (m = 48)
        + _gs_k(81, b"0")  # fn 181: print the stored symbol
    )


def cut(feed_lines: int = 6) -> bytes:
    """Feed the paper past the cutter and cut it fully (as python-escpos's `cut()`)."""
    return feed(feed_lines) + CUT_FULL
