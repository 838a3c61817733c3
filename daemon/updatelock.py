"""The update-inhibit lock: postermd holds an exclusive `flock` on `[system] update_lock`
(default /run/posterm/update.lock) for the whole of every payment, refund, void and print
job, from the journal's in-doubt write to the receipt's cut, and lets go when idle.

An updater takes the same lock (`flock -n FILE …` fails while money moves; `flock FILE …`
waits for the terminal to be idle, then keeps it from starting anything new). While an
updater holds it, postermd starts no new operation: clients get code `updating`.

The file must outlive postermd's restarts (an updater's lock is on the file it opened):
the unit keeps /run/posterm with `RuntimeDirectoryPreserve=yes`, or the path is elsewhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("posterm.update")


class UpdateInProgress(Exception):
    """Someone else (an updater) holds the lock: no new operation may start."""


class UpdateLock:
    """Re-entrant within postermd (the owner thread nests a receipt inside a sale);
    exclusive against other processes. Opened once at start-up; a file that cannot be
    opened is logged and the terminal runs without the lock (`state` says so)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._depth = 0
        self._what = ""
        self._guard = threading.Lock()
        self.error: str | None = None

    def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # read-only is enough for flock, and opens a file an updater (root) created
            self._fd = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o660)
        except OSError as exc:
            self.error = f"cannot open {self.path}: {exc.strerror or exc}"
            log.error("update lock: %s; updates are not held off while money moves", self.error)

    @property
    def state(self) -> str:
        """`held` (by postermd, with what for), `free`, or why there is no lock."""
        if self._fd is None:
            return f"off ({self.error})" if self.error else "off"
        return f"held ({self._what})" if self._depth else "free"

    @contextlib.contextmanager
    def held(self, what: str) -> Iterator[None]:
        """Hold the lock for `what`; UpdateInProgress if an updater has it."""
        with self._guard:
            if self._fd is not None and self._depth == 0:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise UpdateInProgress(
                        f"an update is being installed ({self.path} is held): try again after it"
                    ) from None
                self._what = what
                log.debug("update lock: held for %s", what)
            self._depth += 1
        try:
            yield
        finally:
            with self._guard:
                self._depth -= 1
                if self._fd is not None and self._depth == 0:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    log.debug("update lock: released after %s", self._what)
                    self._what = ""

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # also lets go of the lock
