"""The card-number guard: nothing the journal writes may hold track data, a full card
number in operator text, or a PAN masked less than first 6 / last 4 (money rule 7)."""

from __future__ import annotations

import re
from typing import Any

from posterm.daemon.journal.errors import JournalError

# A PT's masked PAN: at most the first 6 and the last 4 digits, at least 3 digits hidden
# (with 1 or 2 hidden, the Luhn check digit gives the PAN back).
MASKED_PAN = re.compile(r"[0-9]{0,6}\*{3,}[0-9]{0,4}")
# Track data: a PAN, a field separator (= track 2, D in ZVT's BCD, ^ track 1), YYMM.
TRACK = re.compile(r"(?<![0-9])[1-9][0-9]{11,18}[=D^][0-9]{4}")
# A full PAN in operator text: 13-19 digits, maybe grouped by single spaces or dashes.
PAN_RUN = re.compile(r"(?<![0-9])[1-9](?:[ -]?[0-9]){12,18}(?![0-9])")


def check_masked_pan(pan: str | None) -> None:
    """Rule 7: only a masked PAN (at most first 6 / last 4 digits) is ever written."""
    if pan is None:
        return
    if not isinstance(pan, str) or len(pan) > 19 or not MASKED_PAN.fullmatch(pan):
        raise JournalError(
            "refusing to store a PAN that is not masked to at most first 6 / last 4 digits"
        )


def check_no_card_data(where: str, value: Any, *, operator_text: bool = False) -> None:
    """Refuse track data anywhere in `value`; in operator text, also a full PAN."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("masked_pan", "pan"):
                check_masked_pan(item)
            else:
                check_no_card_data(where, item, operator_text=operator_text)
    elif isinstance(value, list | tuple):
        for item in value:
            check_no_card_data(where, item, operator_text=operator_text)
    elif isinstance(value, str):
        if TRACK.search(value):
            raise JournalError(f"refusing to store track data in {where}")
        if operator_text and any(_luhn(m.group()) for m in PAN_RUN.finditer(value)):
            raise JournalError(f"refusing to store a card number in {where}")


def _luhn(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2)
    return total % 10 == 0
