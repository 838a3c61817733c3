"""The relay's journal writer: a thread that commits "PUBACKed, so sent" and "the host
acknowledged it" to the journal, so the relay thread, which drives paho's socket, never
waits for an fsync'ed commit.

The relay hands over the event ids of PUBACKs it got and of the host's acks; the marker
commits each kind in one journal transaction per batch (whatever waits when it wakes up),
marks before acks. A batch not yet committed when the process dies is simply not written:
the relay publishes every event the host has not acknowledged again after a restart
(at-least-once, the host drops duplicates by `event_id`), so nothing is lost, nothing is
marked before its PUBACK and nothing leaves the outbox before the host's ack.
"""

from __future__ import annotations

import logging
import queue
import threading

from posterm.daemon.crash import crashpoint
from posterm.daemon.journal.errors import JournalError
from posterm.daemon.journal.store import Journal

log = logging.getLogger("posterm.mqtt")

SENT, ACKED = "sent", "acked"


class SentMarker:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._queue: queue.Queue[tuple[str, list[str]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def mark(self, event_ids: list[str]) -> None:
        """From the relay thread: these were PUBACKed; commit them as sent soon."""
        self._put(SENT, event_ids)

    def ack(self, event_ids: list[str]) -> None:
        """From the relay thread: the host acknowledged these; commit that soon."""
        self._put(ACKED, event_ids)

    def _put(self, kind: str, event_ids: list[str]) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mqtt-sent", daemon=True)
            self._thread.start()
        self._queue.put((kind, event_ids))

    def close(self, timeout: float = 5.0) -> None:
        """Commit what was handed over, then end the thread (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch: dict[str, list[str]] = {SENT: [], ACKED: []}
            batch[first[0]].extend(first[1])
            while True:  # whatever else waits goes into the same transactions
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # end after these commits
                    break
                batch[more[0]].extend(more[1])
            try:
                if batch[SENT]:
                    self._write_sent(batch[SENT])
                if batch[ACKED]:
                    self._write_acked(batch[ACKED])
            except Exception:  # a bug: this batch is lost (sent again), the thread is not
                log.exception("mqtt: committing %d mark(s) failed", sum(map(len, batch.values())))

    def _write_sent(self, ids: list[str]) -> None:
        try:
            self.journal.outbox_mark_sent(ids)
        except JournalError as exc:  # not marked: sent again after a restart
            log.error("mqtt: journal: marking %d event(s) sent: %s", len(ids), exc)

    def _write_acked(self, ids: list[str]) -> None:
        crashpoint("journal.ack")  # the host's acks taken over, their commit not made
        try:
            done = self.journal.outbox_ack(ids)
        except JournalError as exc:  # not acknowledged: sent again, the host re-acks
            log.error("mqtt: journal: %d acknowledgement(s) from the host: %s", len(ids), exc)
            return
        log.debug("mqtt: host acknowledged %d event(s)", done)
