"""What both command lines (`posterm`, `posterm-host`) print for people, and their exit
codes: tables and `label: value` lines, never a Python repr, a dict or `k=v` dumps.

Exit codes (sysexits.h where one fits): 0 done; 1 refused or failed (a declined card, an
operation the terminal or host refused, no reply); 64 (EX_USAGE) the command line itself
is wrong; 65 (EX_DATAERR) its input is wrong (a bad amount, an unknown or ambiguous
transaction). Each CLI's own codes (3: no postermd; 2: unusable config) are in its docs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn

from posterm.protocol.errorcodes import ErrorCode

EX_OK = 0
EX_FAILED = 1
EX_USAGE = 64
EX_DATAERR = 65
EX_PIPE = 141  # 128 + SIGPIPE: what a shell tool killed by the closed pipe would return

# refusals that say the input was wrong (65), not that the operation was refused (1)
INPUT_CODES = frozenset(
    {
        ErrorCode.BAD_AMOUNT,
        ErrorCode.BAD_REQUEST,
        ErrorCode.UNKNOWN_TXN,
        ErrorCode.AMBIGUOUS_TXN,
        ErrorCode.UNKNOWN_TERMINAL,
        ErrorCode.UNKNOWN_ALERT,
    }
)


def exit_code(code: object) -> int:
    """The exit code of a refusal with this error code."""
    return EX_DATAERR if code in INPUT_CODES else EX_FAILED


class Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors exit 64 (EX_USAGE), not argparse's 2; its
    subparsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, f"{self.prog}: error: {message}\n")


def cell(value: Any) -> str:
    """One value as a person reads it: '-' for nothing, yes/no, lists joined by commas,
    a mapping as `name value` pairs."""
    if value is None or value in ("", [], {}):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{label(k)} {cell(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value)
    return str(value)


def label(key: object) -> str:
    """A field's name as words: `pending_receipts` -> `pending receipts`."""
    return str(key).replace("_", " ")


def table(rows: Iterable[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """Rows as aligned columns under their titles; `columns` is (key, TITLE) pairs."""
    lines = [[title for _, title in columns]]
    lines += [[cell(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def fields(data: Mapping[str, Any], skip: Iterable[str] = ()) -> str:
    """A record as `label: value` lines, aligned; a nested mapping as its own lines,
    indented."""
    shown = {k: v for k, v in data.items() if k not in set(skip)}
    width = max((len(label(k)) for k in shown), default=0) + 1
    out = []
    for key, value in shown.items():
        if isinstance(value, Mapping) and value:
            out.append(f"{label(key) + ':'}")
            out += ["  " + line for line in fields(value).splitlines()]
        else:
            out.append(f"{label(key) + ':':{width}} {cell(value)}")
    return "\n".join(out)


def last4(masked_pan: str | None) -> str | None:
    """A masked card number's last four digits as `…1234` (None when there is no card)."""
    if not masked_pan:
        return None
    tail = masked_pan[-4:]
    return f"..{tail}" if tail.isdigit() else None


def quiet_on_broken_pipe(run: Callable[[], int]) -> int:
    """`run()`'s exit code; EX_PIPE, and nothing on stderr, when stdout's reader has gone
    (`posterm journal | head`): no traceback.

    stdout is flushed here (also on SystemExit, e.g. `--help`) so the error surfaces inside
    the guard, then pointed at /dev/null so the interpreter's own flush at exit is silent.
    """
    try:
        try:
            return run()
        finally:
            sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EX_PIPE
