"""What the host's CLI prints: a result as JSON (`--json`) or as text, a failure with its
code (exit status 1)."""

from __future__ import annotations

import json
import sys
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
