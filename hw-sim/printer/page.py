"""What the simulated printer puts on paper: lines of styled text spans, QR codes, images."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

CELL_W, CELL_H = 12, 24  # Font A on an Epson TM: 12 x 24 dots
FONT_B_W, FONT_B_H = 9, 17  # Font B


@dataclass(frozen=True)
class Span:
    """A run of text printed in one style."""

    text: str
    bold: bool = False
    underline: bool = False
    invert: bool = False
    width: int = 1  # magnification, 1..8
    height: int = 1
    font_b: bool = False
    wide: bool = False  # Chinese mode: every multi-byte character is a double cell

    def cells(self, ch: str) -> int:
        return 2 if self.wide and ord(ch) >= 0x80 else 1

    def dots(self) -> int:
        """Its width on paper, in dots."""
        cell = FONT_B_W if self.font_b else CELL_W
        return sum(self.cells(ch) for ch in self.text) * cell * self.width

    def dots_high(self) -> int:
        return (FONT_B_H if self.font_b else CELL_H) * self.height


@dataclass(frozen=True)
class Raster:
    """A monochrome bitmap: `width_bytes` * 8 dots wide, 1 = black, rows top down."""

    width_bytes: int
    rows: int
    data: bytes
    scale_x: int = 1
    scale_y: int = 1


@dataclass(frozen=True)
class Line:
    spans: tuple[Span, ...] = ()
    align: str = "left"
    kind: str = "text"  # text | qr | image | barcode
    content: str = ""  # what a QR code or barcode holds
    module: int = 3  # QR module size in dots
    raster: Raster | None = None
    wrapped: bool = False  # the printer continued a line too wide for the paper here

    @property
    def text(self) -> str:
        if self.kind == "qr":
            return f"[QR: {self.content}]"
        if self.kind == "barcode":
            return f"[BARCODE: {self.content}]"
        if self.kind == "image" and self.raster is not None:
            r = self.raster
            return f"[IMAGE {r.width_bytes * 8 * r.scale_x}x{r.rows * r.scale_y}]"
        return "".join(span.text for span in self.spans)

    def dots(self) -> int:
        return sum(span.dots() for span in self.spans)

    def height(self) -> int:
        """Its height on paper, in dots (a QR code's depends on its content: see paper)."""
        if self.kind == "image" and self.raster is not None:
            return self.raster.rows * self.raster.scale_y
        if self.kind == "barcode":
            return 3 * CELL_H
        return max((span.dots_high() for span in self.spans), default=CELL_H)


@dataclass
class Page:
    """The paper since the last cut."""

    lines: list[Line] = field(default_factory=list)

    @property
    def overflow(self) -> int:
        """Continuation lines of text that was wider than the paper."""
        return sum(line.wrapped for line in self.lines)

    def text(self) -> str:
        """The printed lines; the blank feed before the cut is not text."""
        lines = [line.text for line in self.lines]
        while lines and not lines[-1].strip():
            lines.pop()
        return "\n".join(lines)


def wrap(spans: list[Span], width_dots: int) -> list[list[Span]]:
    """A line wider than the paper continues on the next line, as on a real printer."""
    if sum(span.dots() for span in spans) <= width_dots:
        return [spans]
    lines: list[list[Span]] = [[]]
    used = 0
    for span in spans:
        run = ""
        for ch in span.text:
            w = replace(span, text=ch).dots()
            if used + w > width_dots and used:
                if run:
                    lines[-1].append(replace(span, text=run))
                lines.append([])
                run, used = "", 0
            run += ch
            used += w
        if run:
            lines[-1].append(replace(span, text=run))
    return lines
