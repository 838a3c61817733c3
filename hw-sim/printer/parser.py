"""An incremental ESC/POS parser for the simulated printer: text, styles, alignment,
sizes, code pages, Chinese mode, feeds, cuts, QR codes (GS ( k), raster images (GS v 0)
and real-time status queries (DLE EOT). Unknown or malformed bytes are skipped, never
raised: whatever arrives, the parser keeps going."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

CODE_TABLES = {0: "cp437", 2: "cp850", 16: "cp1252", 17: "cp866", 19: "cp858"}
MAX_TEXT_LINE = 4096


@dataclass
class Line:
    text: str
    bold: bool = False
    double: bool = False
    align: str = "left"
    kind: str = "text"  # text | qr | image
    image: tuple[int, int, bytes] | None = None  # (width bytes, height, data)


@dataclass
class Page:
    lines: list[Line] = field(default_factory=list)

    def text(self) -> str:
        """The printed lines; the blank feed before the cut is not text."""
        lines = [line.text for line in self.lines]
        while lines and not lines[-1].strip():
            lines.pop()
        return "\n".join(lines)


@dataclass
class _Style:
    bold: bool = False
    double: bool = False
    align: str = "left"
    table: str = "cp437"
    chinese: bool = False


class EscPosParser:
    """Feed bytes; it calls `on_line(Line)`, `on_cut()`, and `on_query(n) -> bytes | None`
    for DLE EOT n (the answer, if any, goes back to the host)."""

    def __init__(
        self,
        on_line: Callable[[Line], None],
        on_cut: Callable[[], None],
        on_query: Callable[[int], bytes | None],
    ) -> None:
        self._on_line = on_line
        self._on_cut = on_cut
        self._on_query = on_query
        self._buf = bytearray()
        self._text = bytearray()
        self._style = _Style()
        self._qr = b""
        self.replies = bytearray()
        self.unknown = 0

    def feed(self, data: bytes) -> bytes:
        """Parse what can be parsed; return the bytes to send back (status answers)."""
        self._buf += data
        while self._buf:
            used = self._step()
            if used == 0:
                break  # incomplete command: wait for more bytes
            del self._buf[:used]
        out, self.replies = bytes(self.replies), bytearray()
        return out

    # -- text ---------------------------------------------------------------------------
    def _encoding(self) -> str:
        return "gb18030" if self._style.chinese else self._style.table

    def _emit_line(self) -> None:
        text = bytes(self._text).decode(self._encoding(), errors="replace")
        self._text.clear()
        s = self._style
        self._on_line(Line(text, bold=s.bold, double=s.double, align=s.align))

    def _step(self) -> int:
        buf = self._buf
        b = buf[0]
        if b == 0x0A:
            self._emit_line()
            return 1
        if b == 0x0D:
            return 1
        if b == 0x09:
            self._text += b"    "
            return 1
        if b == 0x10:
            return self._dle()
        if b == 0x1B:
            return self._esc()
        if b == 0x1C:
            return self._fs()
        if b == 0x1D:
            return self._gs()
        if b < 0x20:
            self.unknown += 1
            return 1
        self._text.append(b)
        if len(self._text) > MAX_TEXT_LINE:
            self._emit_line()
        return 1

    def _need(self, n: int) -> bool:
        return len(self._buf) >= n

    # -- DLE ----------------------------------------------------------------------------
    def _dle(self) -> int:
        if not self._need(2):
            return 0
        if self._buf[1] == 0x04:
            if not self._need(3):
                return 0
            answer = self._on_query(self._buf[2])
            if answer:
                self.replies += answer
            return 3
        if self._buf[1] == 0x14:  # real-time request: DLE DC4 fn a b
            return 5 if self._need(5) else 0
        self.unknown += 1
        return 1

    # -- ESC ----------------------------------------------------------------------------
    def _esc(self) -> int:
        if not self._need(2):
            return 0
        cmd = self._buf[1]
        if cmd == ord("@"):
            self._style = _Style()
            self._text.clear()
            return 2
        if cmd in b"2<im":
            return 2
        if cmd in b"!EGa-tdJM3 VRrU=e":
            if not self._need(3):
                return 0
            n = self._buf[2]
            s = self._style
            if cmd == ord("!"):
                s.bold, s.double = bool(n & 0x08), bool(n & 0x30)
            elif cmd == ord("E"):
                s.bold = bool(n & 1)
            elif cmd == ord("a"):
                s.align = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center",
                           50: "right"}.get(n, "left")  # fmt: skip
            elif cmd == ord("t"):
                s.table = CODE_TABLES.get(n, "cp437")
            elif cmd == ord("d"):
                if self._text:
                    self._emit_line()
                for _ in range(n):
                    self._emit_line()
            return 3
        if cmd in b"p":
            return 5 if self._need(5) else 0
        if cmd in b"$\\c":
            return 4 if self._need(4) else 0
        self.unknown += 1
        return 2

    # -- FS -----------------------------------------------------------------------------
    def _fs(self) -> int:
        if not self._need(2):
            return 0
        cmd = self._buf[1]
        if cmd == ord("&"):
            self._style.chinese = True
            return 2
        if cmd == ord("."):
            self._style.chinese = False
            return 2
        if cmd in b"!C-W":
            return 3 if self._need(3) else 0
        if cmd == ord("p"):
            return 4 if self._need(4) else 0
        self.unknown += 1
        return 2

    # -- GS -----------------------------------------------------------------------------
    def _gs(self) -> int:
        if not self._need(2):
            return 0
        cmd = self._buf[1]
        if cmd == ord("!"):
            if not self._need(3):
                return 0
            self._style.double = bool(self._buf[2] & 0x77)
            return 3
        if cmd == ord("V"):
            if not self._need(3):
                return 0
            size = 4 if self._buf[2] in (65, 66, 97, 98, 103, 104) else 3
            if not self._need(size):
                return 0
            if self._text:
                self._emit_line()
            self._on_cut()
            return size
        if cmd == ord("("):
            return self._gs_paren()
        if cmd == ord("v"):
            return self._raster()
        if cmd in b"BHfhwabrILW/":
            if cmd in b"LW":
                return 4 if self._need(4) else 0
            if cmd == ord("r") and self._need(3):
                answer = self._on_query(1)  # GS r: transmit status, answered in order
                if answer:
                    self.replies += answer
            return 3 if self._need(3) else 0
        if cmd == ord("k"):
            return self._barcode()
        self.unknown += 1
        return 2

    def _gs_paren(self) -> int:
        if not self._need(5):
            return 0
        size = 5 + self._buf[3] + 256 * self._buf[4]
        if not self._need(size):
            return 0
        fn_block = bytes(self._buf[5:size])
        if self._buf[2] == ord("k") and len(fn_block) >= 2 and fn_block[0] == 0x31:
            fn = fn_block[1]
            if fn == 0x50 and len(fn_block) >= 3:  # store QR data (after m = 48)
                self._qr = fn_block[3:]
            elif fn == 0x51:  # print the stored QR code
                if self._text:
                    self._emit_line()
                content = self._qr.decode("utf-8", errors="replace")
                self._on_line(Line(f"[QR: {content}]", align=self._style.align, kind="qr"))
        return size

    def _raster(self) -> int:
        if not self._need(8):
            return 0
        if self._buf[2] != ord("0"):
            self.unknown += 1
            return 3
        xb = self._buf[4] + 256 * self._buf[5]
        yd = self._buf[6] + 256 * self._buf[7]
        size = 8 + xb * yd
        if not self._need(size):
            return 0
        if self._text:
            self._emit_line()
        data = bytes(self._buf[8:size])
        self._on_line(Line(f"[IMAGE {xb * 8}x{yd}]", kind="image", image=(xb, yd, data)))
        return size

    def _barcode(self) -> int:
        if not self._need(3):
            return 0
        m = self._buf[2]
        if m <= 6:
            end = self._buf.find(b"\x00", 3)
            return end + 1 if end >= 0 else 0
        if not self._need(4):
            return 0
        size = 4 + self._buf[3]
        return size if self._need(size) else 0
