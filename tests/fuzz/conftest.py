"""The fuzzers' hypothesis profiles are registered here (tests/fuzz/profiles.py), before
pytest's configuration, so `pytest tests/fuzz --hypothesis-profile=long` finds them; and
a fuzzer that stops making progress (a decoder in an endless loop) fails, not hangs."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from types import FrameType

import pytest

from tests.fuzz import profiles


class FuzzHang(BaseException):
    """Raised by the alarm: a BaseException, so hypothesis does not try to shrink (and so
    replay) the example that hung; pytest reports it as the test's failure."""


@pytest.fixture(autouse=True)
def hang_guard() -> Iterator[None]:
    limit = profiles.time_limit()
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return

    def expired(signum: int, frame: FrameType | None) -> None:
        raise FuzzHang(f"the fuzzer made no result within {limit:g} s: a hang?")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
