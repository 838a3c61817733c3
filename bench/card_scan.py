"""The card-data scan of the chaos soak (bench/soak.py): Luhn-valid card numbers, track-2
patterns and PIN blocks in text, files and SQLite databases. Nothing here may ever find a
match in what posterm writes or publishes."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

_DIGITS = re.compile(r"(?<![0-9])[0-9]{13,19}(?![0-9])")
_TRACK2 = re.compile(r"(?<![0-9])[0-9]{12,19}[=D][0-9]{4}", re.IGNORECASE)
_PIN_BLOCK = re.compile(r"(?<![0-9A-F])0[4-9A-C][0-9A-F]{14}(?![0-9A-F])", re.IGNORECASE)
_PIN_WORD = re.compile(r"PIN", re.IGNORECASE)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_data(text: str) -> list[str]:
    """Card data found in `text`: Luhn-valid 13-19 digit numbers whose first digit is a
    card issuer's (ISO/IEC 7812 major industry 2-6: timestamps and ids starting with 1 are
    not cards), track-2 patterns, and ISO 9564 format-0 PIN blocks within 40 characters of
    the word PIN. A masked PAN (6 + ****** + 4) is not a match."""
    found = [
        m.group() for m in _DIGITS.finditer(text) if m.group()[0] in "23456" and luhn_ok(m.group())
    ]
    found += [m.group() for m in _TRACK2.finditer(text)]
    for m in _PIN_BLOCK.finditer(text):
        near = text[max(0, m.start() - 40) : m.end() + 40]
        if _PIN_WORD.search(near):
            found.append(m.group())
    return found


def scan_files(paths: Iterable[Path]) -> list[str]:
    """`card_data` over files read as bytes (SQLite databases and their WALs too)."""
    found: list[str] = []
    for path in paths:
        if path.exists():
            found += card_data(path.read_bytes().decode("latin-1"))
    return found


def scan_db(db: Path) -> list[str]:
    """`card_data` over every cell of every table of an SQLite database (its WAL
    included), one cell at a time: a raw scan of the file would join neighbouring cells
    into false numbers (an idempotency key's digits run into the next column's)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        cells: list[str] = []
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                cells += [v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row]
        return card_data("\n".join(cells))
    finally:
        conn.close()
