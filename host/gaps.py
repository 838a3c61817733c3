"""The host's resend requests: a terminal whose stored events have a gap in their `seq`
is asked to `resend` from the first missing one. Owned by the ingest loop's thread
(host/service.py).

With several processes on one database (`[mqtt] share_group`) a gap may be another
process's batch, not yet committed: it is asked back only when it is still there in the
database `grace` seconds later, checked for every due terminal in one query. A request
goes again every RESEND_AFTER_S while its gap stays."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from posterm.host.store import Ingested, Store, StoreError
from posterm.protocol.mqtt import commands, topics

log = logging.getLogger("posterm.host")

RESEND_AFTER_S = 5.0  # a gap still open this long after the last request: ask again
GAP_GRACE_S = 1.0  # shared: a gap still there this long is asked back (not another's batch)


class Gaps:
    def __init__(self, store: Store, publish: Callable[[str, str], None], *, shared: bool):
        self.store = store
        self.publish = publish  # (topic, payload): a QoS 1 publish on the host's client
        self.grace = GAP_GRACE_S if shared else 0.0
        self.open: dict[str, tuple[int, float]] = {}  # tid -> (first missing seq, seen since)
        self._asked: dict[str, tuple[int, float]] = {}  # tid -> (seq asked from, when)

    def seen(self, done: Ingested) -> None:
        """A committed batch's terminals: their gaps as they are now."""
        now = time.monotonic()
        for tid in done.new:
            gap = done.gaps.get(tid)
            if gap is None:
                self.open.pop(tid, None)
            elif self.open.get(tid, (None, 0.0))[0] != gap:
                self.open[tid] = (gap, now)

    def ask(self) -> None:
        """Ask `resend` for each gap seen `grace` ago and still there in the database
        (shared: another process may have committed the missing events meanwhile); again
        every RESEND_AFTER_S while it stays."""
        now = time.monotonic()
        due = [(tid, gap) for tid, (gap, since) in self.open.items() if now - since >= self.grace]
        if self.grace and due:  # one query for all of them (issue 23), not one each
            try:
                current = self.store.gaps([tid for tid, _ in due])
            except StoreError:
                return  # the store is failing: the next batch will say
            still = []
            for tid, gap in due:
                now_gap = current.get(tid)
                if now_gap is None:
                    del self.open[tid]
                elif now_gap != gap:
                    self.open[tid] = (now_gap, now)
                else:
                    still.append((tid, gap))
            due = still
        for tid, gap in due:
            asked = self._asked.get(tid)
            if asked is not None and asked[0] == gap and now - asked[1] < RESEND_AFTER_S:
                continue
            self._asked[tid] = (gap, now)
            log.warning("host: %s: seq %d missing, asking for a resend", tid, gap)
            envelope = commands.build(tid, "resend", {"from_seq": gap})
            self.publish(topics.terminal(tid, "cmd"), json.dumps(envelope))
