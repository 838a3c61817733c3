"""The relay's sent-marker: a thread that commits "PUBACKed, so sent" to the journal, so
the relay thread, which drives paho's socket, never waits for an fsync'ed commit.

The relay hands over the event ids of PUBACKs it got; the marker marks each batch sent in
one journal transaction. A batch not yet committed when the process dies is simply not
marked: the relay publishes every event the host has not acknowledged again after a
restart (at-least-once), so nothing is lost and nothing is marked before its PUBACK.
"""

from __future__ import annotations

import logging
import queue
import threading

from posterm.daemon.journal.errors import JournalError
from posterm.daemon.journal.store import Journal

log = logging.getLogger("posterm.mqtt")


class SentMarker:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._queue: queue.Queue[list[str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def mark(self, event_ids: list[str]) -> None:
        """From the relay thread: these were PUBACKed; commit them as sent soon."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mqtt-sent", daemon=True)
            self._thread.start()
        self._queue.put(event_ids)

    def close(self, timeout: float = 5.0) -> None:
        """Commit what was handed over, then end the thread (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            ids = self._queue.get()
            if ids is None:
                return
            while True:  # whatever else waits goes into the same transaction
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # end after this commit
                    break
                ids.extend(more)
            try:
                self.journal.outbox_mark_sent(ids)
            except JournalError as exc:  # not marked: sent again after a restart
                log.error("mqtt: journal: marking %d event(s) sent: %s", len(ids), exc)
