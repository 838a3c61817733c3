"""Test-only crash points: `POSTERM_CRASH_AT=step[,step…]` makes postermd SIGKILL itself
at those named steps, so tests can prove the money rules across real process deaths.
`POSTERM_HANG_AT=step[,step…]` makes the thread that reaches such a step block for ever
instead (a deadlocked owner, for the watchdog's tests). `POSTERM_TERM_AT=step[,step…]`
sends postermd a SIGTERM at those steps and goes on, as systemd's stop arriving exactly
there (the graceful stop's tests).

Unset (production), every call is a set lookup that finds nothing.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

log = logging.getLogger("posterm.crash")

_STEPS = frozenset(s for s in os.environ.get("POSTERM_CRASH_AT", "").split(",") if s)
_HANGS = frozenset(s for s in os.environ.get("POSTERM_HANG_AT", "").split(",") if s)
_TERMS = frozenset(s for s in os.environ.get("POSTERM_TERM_AT", "").split(",") if s)


def crashpoint(step: str) -> None:
    """Die here, at once and without cleanup, if this step was named; or hang here; or
    ask for a graceful stop here and carry on."""
    if step in _TERMS:
        _term(step)
    if step in _STEPS:
        log.critical("crash point %s: SIGKILL", step)
        os.kill(os.getpid(), signal.SIGKILL)
    if step in _HANGS:
        log.critical(
            "hang point %s: thread %s blocks for ever", step, threading.current_thread().name
        )
        never = threading.Event()
        while True:
            never.wait(3600)


def crash_later(step: str, seconds: float) -> None:
    """Die (or get a SIGTERM) `seconds` from now if this step was named (to die in the
    middle of I/O)."""
    if step in _TERMS:
        term = threading.Timer(seconds, _term, (step,))
        term.daemon = True
        term.start()
    if step in _STEPS:
        timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGKILL))
        timer.daemon = True
        timer.start()


def _term(step: str) -> None:
    log.critical("term point %s: SIGTERM", step)
    os.kill(os.getpid(), signal.SIGTERM)
