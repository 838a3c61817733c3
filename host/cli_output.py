"""What the host's CLI prints: a result as JSON (`--json`) or as text, a failure with its
code (exit status 1); a reader that goes away (`| head`) ends it quietly (141)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from posterm.protocol.errorcodes import ErrorCode


def fail(as_json: bool, code: ErrorCode, message: str) -> int:
    if as_json:
        print(json.dumps({"ok": False, "code": code, "error": message}))
    else:
        print(f"posterm-host: {message} [{code}]", file=sys.stderr)
    return 1


def show(data: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(data))
    elif isinstance(data, list):
        for row in data:
            print("  ".join(f"{k}={v}" for k, v in row.items() if v is not None))
    else:
        print("\n".join(f"{k:12} {v}" for k, v in data.items()))


EX_PIPE = 141  # 128 + SIGPIPE: what a shell tool killed by the closed pipe would return


def quiet_on_broken_pipe(run: Callable[[], int]) -> int:
    """`run()`'s exit code; EX_PIPE, and nothing on stderr, when stdout's reader has gone.
    stdout is flushed inside the guard (also on SystemExit: `--help`), then pointed at
    /dev/null so the interpreter's own flush at exit is silent."""
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
