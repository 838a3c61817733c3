"""A `Receipt` rendered to ESC/POS bytes for a printer's width and character set.

Latin text goes out in CP437 or CP858 (ESC t selects the table; CP858 prints the euro
sign), Chinese in GB18030 inside the printer's Chinese mode (FS & … FS .), where a Han
character takes two columns. The QR code and the cut come from python-escpos.
"""

from __future__ import annotations

import unicodedata

from escpos.printer import Dummy

from posterm.drivers.printer.receipt import Receipt
from posterm.protocol.escpos import codes

ENCODINGS = ("cp437", "cp858", "gb18030")


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def fit(text: str, columns: int) -> list[str]:
    """Wrap `text` into lines of at most `columns` display columns."""
    lines, line, used = [], "", 0
    for ch in text:
        w = width(ch)
        if used + w > columns:
            lines.append(line)
            line, used = "", 0
        line += ch
        used += w
    lines.append(line)
    return lines


def two_columns(left: str, right: str, columns: int) -> list[str]:
    gap = columns - width(left) - width(right)
    if gap >= 1:
        return [left + " " * gap + right]
    return [*fit(left, columns), " " * max(0, columns - width(right)) + right]


class Renderer:
    def __init__(self, columns: int = 42, encoding: str = "cp858") -> None:
        if columns not in (32, 42, 48):
            raise ValueError("columns: 32, 42 or 48")
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding: one of {ENCODINGS}")
        self.columns = columns
        self.encoding = encoding

    def _encode(self, text: str) -> bytes:
        return text.encode(self.encoding, errors="replace")

    def render(self, receipt: Receipt) -> bytes:
        cols = self.columns
        out = bytearray(codes.INIT)
        if self.encoding == "gb18030":
            out += codes.CHINESE_ON
        else:
            out += codes.select_code_page(self.encoding)

        def line(text: str = "") -> None:
            out.extend(self._encode(text) + codes.LINE_FEED)

        if receipt.banner:
            out += codes.ALIGN["center"] + codes.SIZE_DOUBLE + codes.BOLD_ON
            for part in fit(f"** {receipt.banner} **", cols // 2):
                line(part)
            out += codes.SIZE_NORMAL + codes.BOLD_OFF
        out += codes.ALIGN["center"]
        for i, text in enumerate(receipt.header):
            if i == 0:
                out += codes.BOLD_ON
            for part in fit(text, cols):
                line(part)
            if i == 0:
                out += codes.BOLD_OFF
        line()
        out += codes.BOLD_ON + codes.SIZE_DOUBLE
        line(receipt.title)
        out += codes.SIZE_NORMAL + codes.BOLD_OFF + codes.ALIGN["left"]
        line("-" * cols)
        for label, amount in receipt.items:
            for part in two_columns(label, amount, cols):
                line(part)
        if receipt.total is not None:
            out += codes.BOLD_ON
            for part in two_columns(*receipt.total, cols):
                line(part)
            out += codes.BOLD_OFF
        for note in receipt.notes:
            for part in fit(note, cols):
                line(part)
        if receipt.body:
            line("-" * cols)
            for text in receipt.body:
                for part in fit(text, cols):
                    line(part)
        if receipt.signature:
            line()
            line()
            line("X" + "_" * (cols - 1))
            line("Customer signature")
        line("-" * cols)
        out += codes.ALIGN["center"]
        for text in receipt.footer:
            for part in fit(text, cols):
                line(part)
        line(f"{receipt.copy.upper()} COPY")
        if receipt.banner:
            line(f"** {receipt.banner} **")
        if self.encoding == "gb18030":
            out += codes.CHINESE_OFF
        tail = Dummy()
        if receipt.qr:
            tail.qr(receipt.qr, native=True, size=4)
            tail._raw(codes.LINE_FEED)
        tail.cut()
        out += tail.output
        return bytes(out)
