"""A reader that goes away (`posterm journal | head`) ends the CLI quietly, no traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

__all__ = ["EX_PIPE", "quiet_on_broken_pipe"]

EX_PIPE = 141  # 128 + SIGPIPE: what a shell tool killed by the closed pipe would return


def quiet_on_broken_pipe(run: Callable[[], int]) -> int:
    """`run()`'s exit code; EX_PIPE, and nothing on stderr, when stdout's reader has gone.

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
