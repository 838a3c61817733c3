"""A stand-in for postermd's `Terminal`, as the MQTT relay reads it (telemetry's
`status()`, commands' `mode` and `owner`): for the relay's tests and bench/bench_sync.py,
which run a `Relay` on a journal without the rest of postermd (no command is sent there)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

from posterm.daemon.states import Mode


class StandInTerminal:
    def __init__(self, tid: str) -> None:
        self.tid = tid
        self.mode = SimpleNamespace(mode=Mode.READY, reason="ready")
        self.owner = SimpleNamespace(submit=self._submit)

    def _submit(self, fn: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn())
        return future

    def status(self) -> dict[str, Any]:
        return {
            "terminal": self.tid,
            "state": str(Mode.READY),
            "reason": "ready",
            "selling": True,
            "printer": "ready, paper ok",
            "pending_receipts": 0,
            "in_doubt": 0,
            "awaiting_approval": [],
        }
