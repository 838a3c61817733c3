"""The enrolment code as a QR code a terminal window can show: two modules a character
(the Unicode half blocks ▀ ▄ █), light modules drawn in ink with a 4-module quiet zone, as
`qrencode -t UTF8` does (a dark terminal then shows dark modules on a light field); plain
ASCII, two characters a module, where the output cannot take Unicode. A phone camera or a
USB scanner plugged into the Pi reads it."""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET = 4  # modules of light border, as ISO/IEC 18004 asks
HALVES = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}


def matrix(text: str) -> list[list[bool]]:
    """The QR modules of `text` (True: dark), with the quiet zone."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET)
    code.add_data(text)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def render(text: str, *, unicode: bool = True) -> str:
    """The lines of the QR code of `text`, light modules in ink."""
    rows = [[not dark for dark in row] for row in matrix(text)]
    if not unicode:
        return "\n".join("".join("##" if ink else "  " for ink in row) for row in rows)
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    return "\n".join(
        "".join(HALVES[top, bottom] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(rows[::2], rows[1::2], strict=True)
    )


def fits(encoding: str | None) -> bool:
    """Can an output in `encoding` show the half blocks?"""
    try:
        "".join(HALVES.values()).encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True
