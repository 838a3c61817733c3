"""A `Receipt` rendered to ESC/POS bytes for a printer's width and character set.

Latin text goes out in CP437 or CP858 (ESC t selects the table; CP858 prints the euro
sign), Chinese in GB18030 inside the printer's Chinese mode (FS & ... FS .), where every
double-byte character takes two columns. Characters the table lacks print as "?", control
characters as spaces (receipt text can never become a command).
"""

from __future__ import annotations

from posterm.drivers.printer.errors import PrinterConfigError
from posterm.drivers.printer.receipt import Receipt
from posterm.protocol.escpos import codes

ENCODINGS = ("cp437", "cp858", "gb18030")
COLUMNS = (32, 42, 48)  # 58 mm paper; 80 mm paper on a 512- or 576-dot printer
_CONTROLS = {i: " " for i in [*range(0x20), 0x7F]}


class Renderer:
    def __init__(self, columns: int = 42, encoding: str = "cp858") -> None:
        if columns not in COLUMNS:
            raise PrinterConfigError(f"printer: columns is one of {COLUMNS}, not {columns!r}")
        if encoding not in ENCODINGS:
            raise PrinterConfigError(f"printer: encoding is one of {ENCODINGS}, not {encoding!r}")
        self.columns = columns
        self.encoding = encoding
        self.wide = encoding == "gb18030"

    # -- text measured as the printer prints it --------------------------------------------
    def encode(self, text: str) -> bytes:
        return text.translate(_CONTROLS).encode(self.encoding, errors="replace")

    def width(self, text: str) -> int:
        """Columns on paper: in Chinese mode a multi-byte character is two columns wide,
        in a single-byte code table every character is one."""
        if not self.wide:
            return len(text)
        return sum(1 if ord(ch) < 0x80 else 2 for ch in text)

    def fit(self, text: str, columns: int) -> list[str]:
        """`text` cut into lines of at most `columns` columns, at a space where it can."""
        lines: list[str] = []
        while self.width(text) > columns:
            used, cut = 0, 0
            for i, ch in enumerate(text):
                used += self.width(ch)
                if used > columns:
                    cut = max(i, 1)  # at least one character a line
                    break
            space = text.rfind(" ", 0, cut + 1)
            if space > 0:
                lines.append(text[:space].rstrip())
                text = text[space + 1 :]
            else:
                lines.append(text[:cut])
                text = text[cut:]
        lines.append(text)
        return lines

    def two_columns(self, left: str, right: str) -> list[str]:
        """Label on the left, amount flush right; the label wraps if both do not fit."""
        cols = self.columns
        gap = cols - self.width(left) - self.width(right)
        if gap >= 1:
            return [left + " " * gap + right]
        rights = [" " * (cols - self.width(part)) + part for part in self.fit(right, cols)]
        return [*self.fit(left, cols), *rights]

    # -- the receipt ----------------------------------------------------------------------
    def render(self, receipt: Receipt) -> bytes:
        cols = self.columns
        out = bytearray(codes.INIT)
        out += codes.CHINESE_ON if self.wide else codes.select_code_page(self.encoding)

        def lines(*texts: str, width: int = cols) -> None:
            for text in texts:
                for part in self.fit(text, width):
                    out.extend(self.encode(part))
                    out.extend(codes.LINE_FEED)

        banner = f"** {receipt.banner} **" if receipt.banner else ""
        if banner:
            out += codes.ALIGN["center"] + codes.SIZE_DOUBLE + codes.BOLD_ON
            lines(banner, width=cols // 2)
            out += codes.SIZE_NORMAL + codes.BOLD_OFF
        out += codes.ALIGN["center"]
        if receipt.header:
            out += codes.BOLD_ON
            lines(receipt.header[0])
            out += codes.BOLD_OFF
            lines(*receipt.header[1:])
        lines("")
        out += codes.BOLD_ON + codes.SIZE_DOUBLE
        lines(receipt.title, width=cols // 2)
        out += codes.SIZE_NORMAL + codes.BOLD_OFF + codes.ALIGN["left"]
        rule = "-" * cols
        lines(rule)
        for label, amount in receipt.items:
            lines(*self.two_columns(label, amount))
        if receipt.total is not None:
            out += codes.BOLD_ON
            lines(*self.two_columns(*receipt.total))
            out += codes.BOLD_OFF
        lines(*receipt.notes)
        if receipt.body:
            lines(rule, *receipt.body)
        if receipt.signature:
            lines("", "", "X" + "_" * (cols - 1), "Customer signature")
        lines(rule)
        out += codes.ALIGN["center"]
        lines(*receipt.footer)
        lines(f"{receipt.copy.upper()} COPY")
        if banner:
            lines(banner)
        if self.wide:
            out += codes.CHINESE_OFF
        if receipt.qr:
            out += codes.qr(receipt.qr, size=4) + codes.LINE_FEED
        out += codes.ALIGN["left"] + codes.cut()
        return bytes(out)
