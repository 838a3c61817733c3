"""Printer model profiles: python-escpos's capabilities database (escpos-printer-db) read as
data, and the two generic profiles posterm adds to it (a 58 mm printer with a cutter, a
Chinese-mode printer) in the database's own format.

A profile gives the columns (font A), the code-page table (ESC t numbers), whether the
printer cuts and whether it prints QR codes natively. The database is read with `json`
(the file python-escpos ships), not through `escpos.capabilities`, which would parse it
with YAML (a second on a Pi), pickle it into a fresh /tmp directory and import Pillow.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from posterm.drivers.printer.errors import PrinterConfigError

MIN_COLUMNS = 24  # a receipt's two-column lines need room
DEFAULT = "default"  # the database's generic profile: 80 mm, 42 columns, cutter, QR
GB18030 = "gb18030"  # Chinese mode (FS & ... FS .): not a code page of the database
# posterm's additions, in escpos-printer-db's format ("gb18030": a feature of our own)
ADDITIONS: dict[str, dict[str, Any]] = {
    "posterm-58mm": {
        "name": "Generic 58 mm with cutter",
        "vendor": "posterm",
        "notes": "A 58 mm (384 dots) ESC/POS printer with a cutter and native QR codes.",
        "fonts": {"0": {"name": "Font A", "columns": 32}, "1": {"name": "Font B", "columns": 42}},
        "media": {"dpi": 203, "width": {"mm": 48, "pixels": 384}},
        "codePages": {"0": "CP437", "19": "CP858"},
        "features": {"paperFullCut": True, "paperPartCut": True, "qrCode": True},
        "colors": {"0": "black"},
    },
    "posterm-gb18030-80mm": {
        "name": "Generic 80 mm, Chinese (GB18030)",
        "vendor": "posterm",
        "notes": "An 80 mm (576 dots) ESC/POS printer with the GB18030 font in Chinese mode"
        " (FS &), a cutter and native QR codes.",
        "fonts": {"0": {"name": "Font A", "columns": 48}, "1": {"name": "Font B", "columns": 64}},
        "media": {"dpi": 203, "width": {"mm": 72, "pixels": 576}},
        "codePages": {"0": "CP437"},
        "features": {"paperFullCut": True, "paperPartCut": True, "qrCode": True, GB18030: True},
        "colors": {"0": "black"},
    },
}


class ProfileMismatch(PrinterConfigError):
    """The profile cannot print as configured; `key` is the config key that asks for it."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Profile:
    """What posterm takes from a printer's profile."""

    name: str
    columns: int  # font A
    code_pages: dict[str, int]  # Python codec name -> ESC t n, e.g. {"cp858": 19}
    cut: bool  # a full or partial cutter
    qr: bool  # GS ( k QR codes
    gb18030: bool  # Chinese mode in GB18030
    data: dict[str, Any]  # the database's entry, for python-escpos's Profile

    def check(self, encoding: str, columns: int | None = None) -> None:
        """`ProfileMismatch` naming the profile when it cannot print as asked."""
        if not self.cut:
            raise ProfileMismatch(
                f"printer: profile {self.name!r} has no cutter; posterm ends every receipt"
                " with a cut (choose a profile with one)",
                "profile",
            )
        if encoding == GB18030:
            if not self.gb18030:
                raise ProfileMismatch(
                    f"printer: profile {self.name!r} cannot print GB18030 (Chinese mode);"
                    f" profiles that can: {', '.join(n for n in names() if load(n).gb18030)}",
                    "encoding",
                )
        elif encoding not in self.code_pages:
            raise ProfileMismatch(
                f"printer: profile {self.name!r} has no code page {encoding}"
                f" (it has {', '.join(sorted(self.code_pages)) or 'none Python knows'})",
                "encoding",
            )
        width = self.columns if columns is None else columns
        if not MIN_COLUMNS <= width <= self.columns:
            raise ProfileMismatch(
                f"printer: profile {self.name!r} prints {self.columns} columns; posterm lays"
                f" receipts out on {MIN_COLUMNS} up to that many, not {width}",
                "columns" if columns is not None else "profile",
            )


@cache
def _database() -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(
            resources.files("escpos").joinpath("capabilities.json").read_text("utf-8")
        )
    except (OSError, ValueError, ModuleNotFoundError) as exc:
        raise PrinterConfigError(f"printer: python-escpos's profile database: {exc}") from exc
    return data


def encodings() -> dict[str, Any]:
    """The database's encodings (name -> how Python encodes it)."""
    enc: dict[str, Any] = _database()["encodings"]
    return enc


def names() -> list[str]:
    """Every profile posterm knows: the database's, then posterm's additions."""
    return [*sorted(_database()["profiles"]), *ADDITIONS]


@cache
def load(name: str) -> Profile:
    """The profile called `name`; `PrinterConfigError` listing the known names otherwise."""
    data = ADDITIONS.get(name) or _database()["profiles"].get(name)
    if data is None:
        close = [n for n in names() if _squash(name) in _squash(n)] or names()
        raise PrinterConfigError(f"printer: no printer profile {name!r}; known: {', '.join(close)}")
    features = data.get("features", {})
    code_pages: dict[str, int] = {}
    for number, page in data.get("codePages", {}).items():
        codec = encodings().get(page, {}).get("python_encode")
        if codec:  # the last number wins, as in python-escpos's get_code_pages()
            code_pages[codec] = int(number)
    return Profile(
        name=name,
        columns=int(data["fonts"]["0"]["columns"]),
        code_pages=code_pages,
        cut=bool(features.get("paperFullCut") or features.get("paperPartCut")),
        qr=bool(features.get("qrCode")),
        gb18030=bool(features.get(GB18030)),
        data=data,
    )


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())
