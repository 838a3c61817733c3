"""An incremental ESC/POS parser for the simulated printer.

It understands what posterm and python-escpos send: text in any ESC t code table or in
Chinese mode (FS &, GB18030), styles (ESC ! E G - M, GS ! B), alignment, feeds, cuts,
QR codes (GS ( k), raster images (GS v 0, GS ( L, GS 8 L, ESC *), barcodes (GS k) and
GS r (status sent in turn); every other command of the Epson set is skipped by its length.
Real-time commands (DLE EOT, DLE ENQ) are answered on arrival by the server, so here they
are only skipped. Unknown or malformed bytes are counted and skipped, never raised.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from posterm.hwsim.printer import graphics
from posterm.hwsim.printer.page import Line, Raster, Span, wrap
from posterm.protocol.escpos.codes import CODE_TABLES, size_of

MAX_TEXT_LINE = 4096  # bytes of one line of text before the printer wraps it anyway
MAX_GRAPHICS = 1 << 20  # bytes of one image: more is taken for a malformed command
_TEXT_RUN = re.compile(rb"[^\x00-\x1f]+")

# ESC, FS and GS commands of fixed length (the command byte -> length with its prefix)
ESC_FIXED = {
    **dict.fromkeys(b"@2<imLS\x0cv", 2),
    **dict.fromkeys(b"!-3EGJMRTUVadet{r KA+%=?u", 3),
    **dict.fromkeys(b"$\\Bc", 4),
    ord("p"): 5,
    ord("W"): 10,
}
FS_FIXED = {**dict.fromkeys(b"&.", 2), **dict.fromkeys(b"!-CW", 3), **dict.fromkeys(b"Sp", 4)}
GS_FIXED = {
    ord(":"): 2,
    **dict.fromkeys(b"!BHfhwbraI|/EZT", 3),
    **dict.fromkeys(b"LW$\\P", 4),
    ord("^"): 5,
}


@dataclass
class Style:
    bold: bool = False
    underline: bool = False
    invert: bool = False
    width: int = 1
    height: int = 1
    font_b: bool = False
    align: str = "left"
    table: str = "cp437"
    chinese: bool = False


class EscPosParser:
    """Feed bytes; it calls `on_line(Line)`, `on_cut()`, and `on_sensor(n) -> bytes | None`
    for GS r n; `feed` returns the answers to send back, in turn."""

    def __init__(
        self,
        on_line: Callable[[Line], None],
        on_cut: Callable[[], None],
        on_sensor: Callable[[int], bytes | None],
        width_dots: int = 576,
    ) -> None:
        self._on_line = on_line
        self._on_cut = on_cut
        self._on_sensor = on_sensor
        self.width_dots = width_dots
        self._buf = bytearray()
        self._style = Style()
        self._pending = bytearray()  # text bytes in the current style
        self._spans: list[Span] = []
        self._line_align: str | None = None
        self._qr = b""
        self._qr_module = 3
        self._graphics: Raster | None = None
        self._swallow_feed = False  # the LF that ends an ESC * stripe
        self._replies = bytearray()
        self.unknown = 0
        self.stop_count = 0  # the device's stops this parser has caught up with

    def feed(self, data: bytes) -> bytes:
        """Parse what can be parsed; return the bytes to send back (GS r answers)."""
        self._buf += data
        pos = 0
        while pos < len(self._buf):
            used = self._step(pos)
            if used == 0:
                break  # an incomplete command: wait for more bytes
            pos += used
        del self._buf[:pos]
        out, self._replies = bytes(self._replies), bytearray()
        return out

    @property
    def mid_command(self) -> bool:
        """Whether the bytes fed so far end inside a command that waits for the rest (a
        torn job leaves the printer so: what comes next is read as that command's data)."""
        return bool(self._buf)

    def reset(self) -> None:
        """ESC @ (or DLE ENQ 2): clear the line being built and the modes."""
        self._style = Style()
        self._pending.clear()
        self._spans.clear()
        self._line_align = None

    def discard(self) -> None:
        """The printer stopped in the middle of a job: the rest of it, and any command
        it was in the middle of, is lost."""
        self._buf.clear()
        self.reset()

    # -- text ---------------------------------------------------------------------------
    def _span_style(self) -> Span:
        s = self._style
        return Span("", s.bold, s.underline, s.invert, s.width, s.height, s.font_b, s.chinese)

    def _flush(self) -> None:
        """Close the text run (a style or code table changes, the line ends): decode it in
        the table (or mode) it was sent in; what comes next has its own."""
        if not self._pending:
            return
        codec = "gb18030" if self._style.chinese else self._style.table
        text = bytes(self._pending).decode(codec, errors="replace")
        self._pending.clear()
        self._spans.append(replace(self._span_style(), text=text))

    def _emit_line(self) -> None:
        self._flush()
        align = self._line_align or self._style.align
        spans = self._spans or [self._span_style()]
        self._spans, self._line_align = [], None
        for i, part in enumerate(wrap(spans, self.width_dots)):
            self._on_line(Line(tuple(part), align=align, wrapped=i > 0))

    def _graphic(self, line: Line) -> None:
        if self._pending or self._spans:
            self._emit_line()
        self._on_line(replace(line, align=self._style.align))

    # -- dispatch -----------------------------------------------------------------------
    def _step(self, pos: int) -> int:
        b = self._buf[pos]
        if b >= 0x20:
            run = _TEXT_RUN.match(self._buf, pos)
            assert run is not None
            end = min(run.end(), pos + MAX_TEXT_LINE - len(self._pending))
            if self._line_align is None and not self._spans and not self._pending:
                self._line_align = self._style.align
            self._pending += self._buf[pos:end]
            self._swallow_feed = False
            if len(self._pending) >= MAX_TEXT_LINE:
                self._emit_line()
            return end - pos
        if b == 0x0A:
            if self._swallow_feed:
                self._swallow_feed = False
            else:
                self._emit_line()
            return 1
        if b == 0x09:
            self._pending += b"    "
            return 1
        if b == 0x10:
            return self._dle(pos)
        if b == 0x1B:
            return self._esc(pos)
        if b == 0x1C:
            return self._fs(pos)
        if b == 0x1D:
            return self._gs(pos)
        if b not in (0x0D, 0x00, 0x0C):
            self.unknown += 1
        return 1

    def _have(self, pos: int, n: int) -> bool:
        return len(self._buf) - pos >= n

    def _dle(self, pos: int) -> int:
        if not self._have(pos, 3):
            return 0
        kind = self._buf[pos + 1]
        if kind in (0x04, 0x05):
            if kind == 0x05 and self._buf[pos + 2] == 2:
                self.reset()  # DLE ENQ 2: recover, clearing the buffers
            return 3  # real-time: answered by the server on arrival
        if kind == 0x14:  # DLE DC4 fn ...: fn 8 (clear buffers) is 10 bytes long
            if self._buf[pos + 2] == 8:
                return 10 if self._have(pos, 10) else 0
            return 5 if self._have(pos, 5) else 0
        self.unknown += 1
        return 1

    # -- ESC ----------------------------------------------------------------------------
    def _esc(self, pos: int) -> int:
        buf = self._buf
        if not self._have(pos, 2):
            return 0
        cmd = buf[pos + 1]
        size = ESC_FIXED.get(cmd)
        if size is not None:
            if not self._have(pos, size):
                return 0
            self._esc_fixed(cmd, buf[pos + 2] if size > 2 else 0)
            return size
        if cmd == ord("*"):
            size = self._picture(graphics.bit_image(self._buf, pos))
            self._swallow_feed = self._swallow_feed or size > 5
            return size
        if cmd == ord("D"):  # tab positions up to NUL
            end = buf.find(b"\x00", pos + 2, pos + 35)
            if end < 0:
                return 0 if not self._have(pos, 35) else 35
            return end + 1 - pos
        if cmd == ord("("):
            return self._with_length(pos, 3, 2)
        self.unknown += 1
        return 2

    def _esc_fixed(self, cmd: int, n: int) -> None:
        s = self._style
        if cmd == ord("@"):
            self.reset()
        elif cmd in (ord("i"), ord("m")):  # the old partial cuts
            if self._pending or self._spans:
                self._emit_line()
            self._on_cut()
        elif cmd == ord("!"):
            self._flush()
            s.font_b, s.bold = bool(n & 0x01), bool(n & 0x08)
            s.height, s.width = (2 if n & 0x10 else 1), (2 if n & 0x20 else 1)
            s.underline = bool(n & 0x80)
        elif cmd in (ord("E"), ord("G")):
            self._flush()
            s.bold = bool(n & 1)
        elif cmd == ord("-"):
            self._flush()
            s.underline = n in (1, 2, 49, 50)
        elif cmd == ord("M"):
            self._flush()
            s.font_b = n in (1, 49)
        elif cmd == ord("a"):
            s.align = {
                0: "left",
                1: "center",
                2: "right",
                48: "left",
                49: "center",
                50: "right",
            }.get(n, s.align)
            if not self._spans and not self._pending:
                self._line_align = s.align  # ESC a counts at the start of a line
        elif cmd == ord("t"):
            self._flush()
            s.table = CODE_TABLES.get(n, "cp437")
        elif cmd == ord("d"):
            if self._pending or self._spans:
                self._emit_line()
                n -= 1
            for _ in range(max(n, 0)):
                self._emit_line()

    def _picture(self, result: tuple[int, Raster | None]) -> int:
        size, raster = result
        if size and raster is None:
            self.unknown += 1
        elif raster is not None:
            self._graphic(Line(kind="image", raster=raster))
        return size

    def _fs(self, pos: int) -> int:
        if not self._have(pos, 2):
            return 0
        cmd = self._buf[pos + 1]
        size = FS_FIXED.get(cmd)
        if size is not None:
            if not self._have(pos, size):
                return 0
            if cmd in (ord("&"), ord(".")):
                self._flush()
                self._style.chinese = cmd == ord("&")
            return size
        if cmd == ord("2"):  # user-defined Kanji: c1 c2 and a 24 x 24 pattern
            return 76 if self._have(pos, 76) else 0
        if cmd == ord("("):
            return self._with_length(pos, 3, 2)
        self.unknown += 1
        return 2

    # -- GS -----------------------------------------------------------------------------
    def _gs(self, pos: int) -> int:
        buf = self._buf
        if not self._have(pos, 2):
            return 0
        cmd = buf[pos + 1]
        size = GS_FIXED.get(cmd)
        if size is not None:
            if not self._have(pos, size):
                return 0
            n = buf[pos + 2] if size > 2 else 0
            if cmd == ord("!"):
                self._flush()
                self._style.width, self._style.height = size_of(n)
            elif cmd == ord("B"):
                self._flush()
                self._style.invert = bool(n & 1)
            elif cmd == ord("r"):
                answer = self._on_sensor(n)
                if answer:
                    self._replies += answer
            return size
        if cmd == ord("V"):
            return self._cut(pos)
        if cmd == ord("("):
            return self._gs_paren(pos)
        if cmd == ord("v"):
            return self._picture(graphics.raster_image(self._buf, pos))
        if cmd == ord("k"):
            return self._barcode(pos)
        if cmd == ord("8"):
            return self._gs8(pos)
        if cmd == ord("*"):  # define a downloaded bit image: x * y * 8 bytes
            if not self._have(pos, 4):
                return 0
            size = 4 + buf[pos + 2] * buf[pos + 3] * 8
            return size if self._have(pos, size) else 0
        self.unknown += 1
        return 2

    def _cut(self, pos: int) -> int:
        if not self._have(pos, 3):
            return 0
        size = 4 if self._buf[pos + 2] in (65, 66, 97, 98, 103, 104) else 3
        if not self._have(pos, size):
            return 0
        if self._pending or self._spans:
            self._emit_line()
        self._on_cut()
        return size

    def _with_length(self, pos: int, head: int, count: int) -> int:
        """A command `head` bytes long followed by a little-endian length of `count`
        bytes and that many bytes of data; returns its size (0: incomplete)."""
        if not self._have(pos, head + count):
            return 0
        length = int.from_bytes(self._buf[pos + head : pos + head + count], "little")
        if length > MAX_GRAPHICS:
            self.unknown += 1
            return head + count
        size = head + count + length
        return size if self._have(pos, size) else 0

    def _gs_paren(self, pos: int) -> int:
        size = self._with_length(pos, 3, 2)
        if size in (0, 5):
            return size
        block = bytes(self._buf[pos + 5 : pos + size])
        kind = self._buf[pos + 2]
        if kind == ord("k") and len(block) >= 2 and block[0] == 49:  # cn 49: QR code
            self._qr_command(block[1], block[2:])
        elif kind == ord("L") and len(block) >= 2:
            self._graphics_command(block[1], block[2:])
        return size

    def _qr_command(self, fn: int, args: bytes) -> None:
        if fn == 67 and args:  # module size
            self._qr_module = max(1, min(args[0], 16))
        elif fn == 80:  # store the data (after m = 48)
            self._qr = args[1:]
        elif fn == 81 and self._qr:  # print the stored symbol
            content = self._qr.decode("utf-8", errors="replace")
            self._graphic(Line(kind="qr", content=content, module=self._qr_module))

    def _graphics_command(self, fn: int, args: bytes) -> None:
        if fn == 112:  # store raster graphics
            self._graphics = graphics.stored_graphics(args) or self._graphics
        elif fn in (2, 50) and self._graphics is not None:  # print the stored graphics
            self._graphic(Line(kind="image", raster=self._graphics))
            self._graphics = None

    def _gs8(self, pos: int) -> int:
        """GS 8 L p1..p4 m fn ...: the graphics command with a 32-bit length."""
        if not self._have(pos, 3):
            return 0
        if self._buf[pos + 2] != ord("L"):
            self.unknown += 1
            return 3
        size = self._with_length(pos, 3, 4)
        if size > 7:
            block = bytes(self._buf[pos + 7 : pos + size])
            if len(block) >= 2:
                self._graphics_command(block[1], block[2:])
        return size

    def _barcode(self, pos: int) -> int:
        size, content = graphics.barcode(self._buf, pos)
        if size and content is None:
            self.unknown += 1
        elif content is not None:
            self._graphic(Line(kind="barcode", content=content))
        return size
