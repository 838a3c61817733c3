"""The relay's marker thread (daemon/sync/marker.py), in process: a commit that fails for
a reason nobody foresaw loses that batch's marks (the events go again: the host drops
duplicates), never the thread that commits every later one."""

from __future__ import annotations

import threading
from typing import cast

from posterm.daemon.journal.store import Journal
from posterm.daemon.sync.marker import SentMarker


class FlakyJournal:
    """Marks sent after a first call that fails with a bug's exception."""

    def __init__(self) -> None:
        self.sent: list[list[str]] = []
        self.acked: list[list[str]] = []
        self.failed = threading.Event()

    def outbox_mark_sent(self, ids: list[str]) -> None:
        if not self.failed.is_set():
            self.failed.set()
            raise RuntimeError("a bug")
        self.sent.append(ids)

    def outbox_ack(self, ids: list[str]) -> int:
        self.acked.append(ids)
        return len(ids)


def test_a_failed_commit_leaves_the_marker_committing_later_marks() -> None:
    journal = FlakyJournal()
    marker = SentMarker(cast(Journal, journal))
    marker.mark(["e1"])
    assert journal.failed.wait(5)
    marker.mark(["e2"])
    marker.ack(["e2"])
    marker.close()
    assert journal.sent == [["e2"]] and journal.acked == [["e2"]]
