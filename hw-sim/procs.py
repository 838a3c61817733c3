"""Ending a simulator (or postermd) started as a child process: politely, then for sure."""

from __future__ import annotations

import signal
import subprocess
from typing import Any


def stop(proc: subprocess.Popen[Any], grace: float = 10.0) -> None:
    """SIGTERM, and SIGKILL if it has not ended within `grace` seconds; then reaped."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
