"""A `Receipt` rendered to ESC/POS bytes for a printer profile, through python-escpos.

The layout (what goes on which line, wrapping, amounts flush right) is posterm's; the
commands are python-escpos's (`Escpos.set`, `text` through its code-page encoder, `qr`,
`cut`), built in memory (commands.Job) for the printer's profile (profile.py): its
columns, its ESC t numbers, its cutter, its QR support. Latin text goes out in CP437 or
CP858 (CP858 prints the euro sign), Chinese in GB18030 inside the printer's Chinese mode
(FS & ... FS .), where every double-byte character takes two columns (python-escpos
sends GB18030 bytes for Chinese text too). Characters the table lacks print as "?",
control characters as spaces (receipt text can never become a command). A profile
without QR codes gets the code's content as text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from posterm.drivers.printer import profile as profiles
from posterm.drivers.printer.errors import PrinterConfigError
from posterm.drivers.printer.receipt import Receipt
from posterm.protocol.escpos import codes

if TYPE_CHECKING:
    from posterm.drivers.printer.commands import Job

ENCODINGS = ("cp437", "cp858", profiles.GB18030)
QR_MODULE_DOTS = 4
_CONTROLS = {i: " " for i in [*range(0x20), 0x7F]}


class Renderer:
    def __init__(
        self,
        columns: int | None = None,
        encoding: str = "cp858",
        profile: str = profiles.DEFAULT,
    ) -> None:
        """`columns`: fewer than the profile's, or None for the profile's own."""
        if encoding not in ENCODINGS:
            raise PrinterConfigError(f"printer: encoding is one of {ENCODINGS}, not {encoding!r}")
        self.profile = profiles.load(profile)
        self.profile.check(encoding, columns)
        self.columns = self.profile.columns if columns is None else columns
        self.encoding = encoding
        self.wide = encoding == profiles.GB18030

    # -- text measured as the printer prints it --------------------------------------------
    def clean(self, text: str) -> str:
        return text.translate(_CONTROLS)

    def encode(self, text: str) -> bytes:
        return self.clean(text).encode(self.encoding, errors="replace")

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
    def _job(self) -> Job:
        # python-escpos (and the Pillow it imports) is loaded with the first receipt
        from posterm.drivers.printer.commands import Job  # noqa: PLC0415

        job = Job(self.profile)
        job.hw("INIT")
        if self.wide:
            job._raw(codes.CHINESE_ON)
        else:
            job.charcode(self.encoding.upper())  # ESC t n of the profile; its encoder
        return job

    def render(self, receipt: Receipt) -> bytes:
        cols = self.columns
        job = self._job()

        def lines(*texts: str, width: int = cols) -> None:
            for text in texts:
                for part in self.fit(self.clean(text), width):
                    if self.wide:  # GB18030, as python-escpos sends Chinese text
                        job._raw(part.encode(self.encoding, errors="replace") + codes.LINE_FEED)
                    else:
                        job.text(part + "\n")

        def style(*, bold: bool, size: int, align: str | None = None) -> None:
            job.set(custom_size=True, width=size, height=size, bold=bold, align=align)

        banner = f"** {receipt.banner} **" if receipt.banner else ""
        if banner:
            style(bold=True, size=2, align="center")
            lines(banner, width=cols // 2)
            style(bold=False, size=1)
        job.set(align="center")
        if receipt.header:
            job.set(bold=True)
            lines(receipt.header[0])
            job.set(bold=False)
            lines(*receipt.header[1:])
        lines("")
        style(bold=True, size=2)
        lines(receipt.title, width=cols // 2)
        style(bold=False, size=1, align="left")
        rule = "-" * cols
        lines(rule)
        for label, amount in receipt.items:
            lines(*self.two_columns(label, amount))
        if receipt.total is not None:
            job.set(bold=True)
            lines(*self.two_columns(*receipt.total))
            job.set(bold=False)
        lines(*receipt.notes)
        if receipt.body:
            lines(rule, *receipt.body)
        if receipt.signature:
            lines("", "", "X" + "_" * (cols - 1), "Customer signature")
        lines(rule)
        job.set(align="center")
        lines(*receipt.footer)
        lines(f"{receipt.copy.upper()} COPY")
        if banner:
            lines(banner)
        if receipt.qr and not self.profile.qr:
            lines(receipt.qr)  # no QR codes on this printer: the content as text
        if self.wide:
            job._raw(codes.CHINESE_OFF)
        if receipt.qr and self.profile.qr:
            job.qr(receipt.qr, size=QR_MODULE_DOTS, native=True)
            job.text("\n")
        job.set(align="left")
        job.cut()
        return bytes(job.output)
