"""postermd's logging: the configured level really holds, and card data never reaches a log.

python-escpos calls `logging.basicConfig()` when it is imported, which used to turn the
daemon's own `basicConfig` into a no-op (level stuck at WARNING). `configure` replaces the
root handlers (`force=True`).

Money rule 7: every line goes through `mask`, after formatting, exception text included.
- track 1 (`%B<PAN>^NAME^…?`) and track 2 (`;<PAN>=YYMM…?`, also bare `<PAN>=…` and the
  EMV form `<PAN>D<YYMM>…`) are replaced wholesale by `[track data]`;
- a run of 13-19 digits (single spaces or dashes allowed between digits, as people type
  card numbers) keeps its first 6 and last 4 digits, like the PT's masked PAN
  (`476173******0119`, separators dropped);
- a longer run (20+ digits) cannot be told apart from a PAN with digits around it: it
  becomes `[N digits]`.
Shorter numbers (amounts, receipt and trace numbers, `2026-11-29 12:32:43,123` timestamps,
txn ids) stay readable. A 13+ digit timestamp-like number (`20261129123243`) is masked like a
PAN: the log cannot know it is not one.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

TRACK1 = re.compile(r"%?B\d{12,19}\^[^^\r\n]{0,26}(?:\^[^?\s]*\??)?")
TRACK2 = re.compile(r";?(?<!\d)\d{12,19}(?:=[0-9=]*|D\d{4}[0-9A-F]*)\??")
DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,}(?!\d)")
PAN_MAX = 19
TRACK_MASK = "[track data]"


class LogSetupError(ValueError):
    """The logging configuration cannot be applied (an unknown level)."""


def _mask_run(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if len(digits) > PAN_MAX:
        return f"[{len(digits)} digits]"
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def mask(text: str) -> str:
    """`text` with track data and card-number-like digit runs masked (see the module)."""
    text = TRACK1.sub(TRACK_MASK, text)
    text = TRACK2.sub(TRACK_MASK, text)
    return DIGIT_RUN.sub(_mask_run, text)


class MaskingFormatter(logging.Formatter):
    """A Formatter whose every finished line (message, exception, stack) is masked."""

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def configure(level: str, stream: TextIO | None = None) -> None:
    """Log to `stream` (stderr: the journal of systemd) at `level`, through the masker,
    replacing whatever handlers a library installed on import."""
    try:
        numeric = LEVELS[level.lower()]
    except KeyError:
        raise LogSetupError(f"unknown log level {level!r}; one of {', '.join(LEVELS)}") from None
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(MaskingFormatter(FORMAT))
    logging.basicConfig(level=numeric, handlers=[handler], force=True)
    logging.captureWarnings(True)
