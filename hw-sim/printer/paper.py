"""What comes out of the simulated printer: each cut becomes NNNN.txt and NNNN.png, plus
a line in index.jsonl. A receipt cut short by the paper running out is written too,
marked truncated."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from posterm.hwsim.printer.parser import Line, Page

CELL_W, CELL_H = 12, 24  # Font A on an Epson TM: 12 x 24 dots
QR_HEIGHT = 8 * CELL_H
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
LATIN_FONTS = ("DejaVuSansMono.ttf", "LiberationMono-Regular.ttf")
CJK_FONTS = (
    "wqy-microhei.ttc",
    "wqy-zenhei.ttc",
    "NotoSansCJK-Regular.ttc",
    "droidsansfallback.ttf",
)


def _find(names: tuple[str, ...]) -> Path | None:
    for base in FONT_DIRS:
        if base.is_dir():
            for name in names:
                found = next(base.rglob(name), None)
                if found is not None:
                    return found
    return None


class Fonts:
    def __init__(self) -> None:
        latin = _find(LATIN_FONTS)
        cjk = _find(CJK_FONTS)
        self.latin = ImageFont.truetype(str(latin), 20) if latin else ImageFont.load_default()
        self.latin_big = ImageFont.truetype(str(latin), 40) if latin else self.latin
        self.cjk = ImageFont.truetype(str(cjk), 22) if cjk else None
        self.cjk_big = ImageFont.truetype(str(cjk), 44) if cjk else None

    def for_char(
        self, ch: str, double: bool
    ) -> ImageFont.ImageFont | ImageFont.FreeTypeFont | None:
        if ord(ch) > 0x2E7F:
            return self.cjk_big if double else self.cjk
        return self.latin_big if double else self.latin


class PaperOut:
    """Writes pages; thread-safe (one printer, several connections)."""

    def __init__(self, out: Path, width_dots: int = 576) -> None:
        self.out = out
        self.width = width_dots
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._fonts = Fonts()
        existing = sorted(self.out.glob("[0-9][0-9][0-9][0-9].txt"))
        self._n = int(existing[-1].stem) if existing else 0

    def write(self, page: Page, *, truncated: bool = False) -> int:
        with self._lock:
            self._n += 1
            n = self._n
            text = page.text() + ("\n[PAPER OUT: receipt truncated]" if truncated else "")
            (self.out / f"{n:04d}.txt").write_text(text + "\n", encoding="utf-8")
            self._png(page, self.out / f"{n:04d}.png")
            entry = {
                "n": n,
                "txt": f"{n:04d}.txt",
                "png": f"{n:04d}.png",
                "lines": len(page.lines),
                "truncated": truncated,
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            }
            with (self.out / "index.jsonl").open("a", encoding="utf-8") as index:
                index.write(json.dumps(entry) + "\n")
            return n

    def _png(self, page: Page, path: Path) -> None:
        heights = [self._height(line) for line in page.lines]
        image = Image.new("1", (self.width, max(CELL_H, sum(heights) + CELL_H)), 1)
        draw = ImageDraw.Draw(image)
        y = CELL_H // 2
        for line, height in zip(page.lines, heights, strict=True):
            if line.kind == "image" and line.image is not None:
                self._raster(image, line, y)
            elif line.kind == "qr":
                self._qr(image, line, y)
            else:
                self._text(draw, line, y)
            y += height
        image.save(path)

    def _height(self, line: Line) -> int:
        if line.kind == "image" and line.image is not None:
            return line.image[1]
        if line.kind == "qr":
            return QR_HEIGHT + CELL_H // 2
        return CELL_H * (2 if line.double else 1)

    def _text(self, draw: ImageDraw.ImageDraw, line: Line, y: int) -> None:
        scale = 2 if line.double else 1
        cells = [2 if ord(ch) > 0x2E7F else 1 for ch in line.text]
        total = sum(cells) * CELL_W * scale
        x = {"center": (self.width - total) // 2, "right": self.width - total}.get(line.align, 0)
        x = max(0, x)
        for ch, cell in zip(line.text, cells, strict=True):
            font = self._fonts.for_char(ch, line.double)
            w = cell * CELL_W * scale
            if font is None:  # no CJK font installed: a box where the glyph would be
                draw.rectangle([x + 2, y + 2, x + w - 3, y + CELL_H * scale - 3], outline=0)
            else:
                draw.text((x, y), ch, font=font, fill=0)
                if line.bold:
                    draw.text((x + 1, y), ch, font=font, fill=0)
            x += w

    def _qr(self, image: Image.Image, line: Line, y: int) -> None:
        """The QR code as the printer would print it (scannable), centred."""
        content = line.text.removeprefix("[QR: ").removesuffix("]")
        code = qrcode.QRCode(border=1, box_size=4)
        code.add_data(content)
        picture = code.make_image().get_image().convert("1")
        side = min(picture.width, QR_HEIGHT)
        picture = picture.resize((side, side))
        image.paste(picture, ((self.width - side) // 2, y))

    def _raster(self, image: Image.Image, line: Line, y: int) -> None:
        assert line.image is not None
        xb, height, data = line.image
        if xb == 0 or height == 0:
            return
        bitmap = Image.frombytes("1", (xb * 8, height), data)
        inverted = Image.eval(bitmap.convert("L"), lambda v: 255 - v).convert("1")
        image.paste(inverted.crop((0, 0, min(xb * 8, self.width), height)), (0, y))
