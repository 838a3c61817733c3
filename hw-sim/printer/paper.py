"""What comes out of the simulated printer: NNNN.txt, NNNN.png and index.jsonl per cut.

The PNG is the paper at the printer's dot width. A receipt cut short by the paper running
out is written too, marked truncated. Drawing the PNG is most of the simulator's time per
receipt (tens of ms, before it answers the job's GS r); `png=False` (`--no-png`) writes the
text only, for benchmarks that measure the terminal and not the simulator's drawing."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from posterm.hwsim.printer.page import CELL_H, CELL_W, FONT_B_H, FONT_B_W, Line, Page, Span

# where fonts are looked for; POSTERM_SIM_FONT_DIRS (colon-separated) replaces the list
FONT_DIRS = tuple(
    Path(d)
    for d in os.environ.get(
        "POSTERM_SIM_FONT_DIRS", "/usr/share/fonts:/usr/local/share/fonts"
    ).split(":")
    if d
)
LATIN_FONTS = ("DejaVuSansMono.ttf", "LiberationMono-Regular.ttf", "FreeMono.ttf")
# Debian: fonts-wqy-microhei, fonts-wqy-zenhei, fonts-noto-cjk, fonts-droid-fallback
CJK_FONTS = (
    "wqy-microhei.ttc",
    "wqy-zenhei.ttc",
    "NotoSansCJK-Regular.ttc",
    "DroidSansFallbackFull.ttf",
    "DroidSansFallback.ttf",
)
Font = ImageFont.ImageFont | ImageFont.FreeTypeFont


@cache
def _find(names: tuple[str, ...]) -> Path | None:
    for base in FONT_DIRS:
        if base.is_dir():
            for name in names:
                found = next(base.rglob(name), None)
                if found is not None:
                    return found
    return None


@cache
def _font(cjk: bool, font_b: bool) -> Font | None:
    """The font for a cell of Font A (12 x 24) or B (9 x 17); None: no CJK font here."""
    path = _find(CJK_FONTS if cjk else LATIN_FONTS)
    high = FONT_B_H if font_b else CELL_H
    if path is None:
        return None if cjk else ImageFont.load_default()
    # a monospaced Latin font is 0.6 em wide: 20 px fills a 12-dot cell; CJK fills 2 cells
    return ImageFont.truetype(str(path), high - 2 if cjk else round(high * 5 / 6))


@lru_cache(maxsize=64)
def _qr_image(content: str, module: int) -> Image.Image:
    code = qrcode.QRCode(border=0, box_size=module)
    code.add_data(content)
    return code.make_image().get_image().convert("L")


def cjk_font_available() -> bool:
    return _find(CJK_FONTS) is not None


class PaperOut:
    """Writes pages; thread-safe (one printer, several connections)."""

    def __init__(self, out: Path, width_dots: int = 576, *, png: bool = True) -> None:
        self.out = out
        self.width = width_dots
        self.png = png
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        existing = sorted(self.out.glob("[0-9][0-9][0-9][0-9].txt"))
        self._n = int(existing[-1].stem) if existing else 0

    def write(self, page: Page, *, truncated: bool = False) -> int:
        with self._lock:
            self._n += 1
            n = self._n
            text = page.text() + ("\n[PAPER OUT: receipt truncated]" if truncated else "")
            (self.out / f"{n:04d}.txt").write_text(text + "\n", encoding="utf-8")
            if self.png:
                self._png(page, self.out / f"{n:04d}.png")
            entry = {
                "n": n,
                "txt": f"{n:04d}.txt",
                "png": f"{n:04d}.png" if self.png else None,
                "lines": len(page.lines),
                "width_dots": self.width,
                "overflow": page.overflow,
                "truncated": truncated,
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            }
            with (self.out / "index.jsonl").open("a", encoding="utf-8") as index:
                index.write(json.dumps(entry) + "\n")
            return n

    # -- drawing --------------------------------------------------------------------------
    def _png(self, page: Page, path: Path) -> None:
        margin = CELL_H // 2
        height = sum(self._height(line) for line in page.lines) + 2 * margin
        image = Image.new("L", (self.width, height), 255)
        y = margin
        for line in page.lines:
            if line.kind == "text":
                self._text(image, line, y)
            elif line.kind == "qr":
                self._qr(image, line, y)
            elif line.kind == "image":
                self._raster(image, line, y)
            else:
                self._text(image, Line((Span(line.text),), align="center"), y + CELL_H)
            y += self._height(line)
        # thermal paper has no grey: threshold, do not dither
        image.convert("1", dither=Image.Dither.NONE).save(path)

    def _height(self, line: Line) -> int:
        if line.kind == "qr":
            return _qr_image(line.content, line.module).height + CELL_H
        return line.height()

    def _x(self, align: str, dots: int) -> int:
        free = self.width - dots
        return max(0, {"center": free // 2, "right": free}.get(align, 0))

    def _text(self, image: Image.Image, line: Line, y: int) -> None:
        x = self._x(line.align, line.dots())
        base = y + line.height()
        for span in line.spans:
            width, high = span.dots(), span.dots_high()
            if width:
                cell = self._span_image(span)
                if cell.size != (width, high):
                    cell = cell.resize((width, high))
                image.paste(0, (x, base - high), Image.eval(cell, lambda v: 255 - v))
            x += width

    def _span_image(self, span: Span) -> Image.Image:
        """The span at magnification 1, black on white."""
        cell_w = FONT_B_W if span.font_b else CELL_W
        high = FONT_B_H if span.font_b else CELL_H
        cells = [span.cells(ch) for ch in span.text]
        picture = Image.new("L", (sum(cells) * cell_w, high), 0 if span.invert else 255)
        draw = ImageDraw.Draw(picture)
        ink = 255 if span.invert else 0
        x = 0
        for ch, n in zip(span.text, cells, strict=True):
            font = _font(n == 2, span.font_b)
            if font is None:  # no CJK font installed: a box where the glyph would be
                draw.rectangle([x + 2, 2, x + n * cell_w - 3, high - 3], outline=ink)
            else:
                for dx in (0, 1) if span.bold else (0,):
                    draw.text((x + dx, 1), ch, font=font, fill=ink)
            x += n * cell_w
        if span.underline:
            draw.line([0, high - 2, picture.width, high - 2], fill=ink, width=2)
        return picture

    def _qr(self, image: Image.Image, line: Line, y: int) -> None:
        """The QR code as the printer prints it (scannable), at its module size."""
        picture = _qr_image(line.content, line.module)
        if picture.width > self.width:  # a real printer would not print it at all
            picture = picture.resize((self.width, self.width))
        image.paste(picture, (self._x(line.align, picture.width), y + CELL_H // 2))

    def _raster(self, image: Image.Image, line: Line, y: int) -> None:
        raster = line.raster
        assert raster is not None
        bitmap = Image.frombytes("1", (raster.width_bytes * 8, raster.rows), raster.data)
        picture = Image.eval(bitmap.convert("L"), lambda v: 255 - v)  # 1 bits are ink
        if raster.scale_x > 1 or raster.scale_y > 1:
            picture = picture.resize(
                (picture.width * raster.scale_x, picture.height * raster.scale_y)
            )
        picture = picture.crop((0, 0, min(picture.width, self.width), picture.height))
        image.paste(picture, (self._x(line.align, picture.width), y))
