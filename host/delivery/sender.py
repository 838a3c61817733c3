"""The one sender: a loop (a thread of `posterm-host run`, or the whole of `run --role
sender`) that claims due rows of every outbox with a lease (several host processes on one
database never send the same row at once), sends them outside any transaction through
their channel, then records sent / try again after the back-off / failed.

Delivery is at least once: if the host dies after the other side accepted a row and
before it was marked sent, the row goes again once its lease runs out (or at once, when
the same process name starts again); each row's id goes with it (webhooks'
`Posterm-Delivery`, the e-mail's Message-ID, the SMS gateway's Idempotency-Key) so the
other side can drop the copy."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from posterm.host.crash import crashpoint
from posterm.host.db import DatabaseError, Row
from posterm.host.delivery import queue
from posterm.host.delivery.backoff import delay
from posterm.host.delivery.outbox import ChannelError, Outbox
from posterm.host.store import Store
from posterm.protocol.mqtt.events import rfc3339

log = logging.getLogger("posterm.host.delivery")
RENEW_EVERY = 4  # a claim's lease is renewed each time a quarter of it has passed
# ingest first: while events arrived within BUSY_S (stored by this process's ingest, or
# committed to the SQLite file by another process: `run --role sender` beside `--role
# ingest`), the sender pauses PAUSE_S before each row, so a burst is stored at full speed
# and its deliveries drain behind (at most 1 / PAUSE_S a second while ingest stays busy)
BUSY_S, PAUSE_S = 0.5, 0.05
IDLE_S = 0.5  # nothing due: look again after this (or when woken)

Result = tuple[Row, ChannelError | None]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Sender:
    def __init__(
        self,
        store: Store,
        outboxes: Sequence[Outbox],
        clock: Callable[[], datetime] = utc_now,
        owner: str = "",
    ) -> None:
        """`owner`: this process's name (`{host id}-{instance}`), unique among the running
        host processes, as their MQTT client ids are."""
        self.store, self.outboxes, self.clock, self.owner = store, tuple(outboxes), clock, owner
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.ingest_at = 0.0  # time.monotonic() of the last batch this process ingested
        self._thread: threading.Thread | None = None
        self._held: set[str] = set()  # the ids of the rows the current claim still holds
        self._renewed = clock()  # when the current claim's lease was last renewed

    def start(self) -> None:
        """Rows an earlier life of this process had claimed are due again; the loop on a
        thread of its own."""
        if not self.outboxes:
            return
        self.release()
        self._thread = threading.Thread(target=self.loop, name="delivery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(30)

    def release(self) -> None:
        now = rfc3339(self.clock())
        for outbox in self.outboxes:
            with self.store.db.tx() as tx:
                taken_back = queue.release(tx, outbox.table, self.owner, now)
            if taken_back:
                log.warning(
                    "%s: %d delivery(ies) this process was sending when it stopped"
                    " are sent again (the other side may get one twice)",
                    outbox.name,
                    taken_back,
                )

    def loop(self) -> None:
        """Until `stopping`: every outbox's due rows, then a pause unless some were due."""
        while not self.stopping.is_set():
            try:
                for outbox in self.outboxes:
                    outbox.tick(self.clock())
                tried = self.run_due()
            except DatabaseError as exc:
                log.warning("delivery: the queue failed: %s", exc)
                tried = 0
            except Exception:  # a bug: logged, and the queue is tried again, never dropped
                log.exception("delivery: a round failed; trying again")
                tried = 0
            if not tried:
                self.wake.wait(IDLE_S)
                self.wake.clear()

    def run_due(self) -> int:
        """Send what is due now in every outbox; how many rows were tried."""
        return sum(self._run(outbox) for outbox in self.outboxes if not self.stopping.is_set())

    def _run(self, outbox: Outbox) -> int:
        """One claim of `outbox`, each channel over one session; the claim's lease is
        renewed while it sends, so another process never takes rows this one is still
        sending; what was tried is recorded even when a round breaks off."""
        more = outbox.due()
        if more is None:
            return 0
        now = self.clock()
        lease = rfc3339(now + timedelta(seconds=outbox.lease_s))
        with self.store.db.tx() as tx:
            mine = queue.claim(
                tx,
                outbox.table,
                rfc3339(now),
                lease,
                outbox.batch,
                owner=self.owner,
                skip_locked=self.store.db.dialect == "postgresql",
                where=more[0],
                args=more[1],
            )
        if not mine:
            return 0
        self._held = {str(r[outbox.table.key]) for r in mine}
        self._renewed = now
        results: list[Result] = []
        try:
            channels: dict[str, list[Row]] = {}
            for row in mine:
                channels.setdefault(outbox.channel(row), []).append(row)
            for name, rows in channels.items():
                self._send(outbox, name, rows, results)
            if results:
                crashpoint(f"{outbox.name}.sent")  # handed over, not yet recorded as sent
        finally:
            self._record(outbox, results)
        return len(mine)

    def _ingest_busy(self) -> bool:
        """Events stored within BUSY_S: by this process (its hooks set `ingest_at`), or by
        another into the same file (asked only when this process's ingest is quiet: the
        question takes the connection's lock, which its ingest holds while it writes)."""
        now = time.monotonic()
        if now - self.ingest_at < BUSY_S:
            return True
        if self.store.db.others_wrote():
            self.ingest_at = now
            return True
        return False

    def _still_mine(self, outbox: Outbox, row: Row) -> bool:
        """Renew the claim's lease when a quarter of it has passed since the last time;
        whether the row is still this claim's (not taken by another process after a lapse)."""
        now = self.clock()
        if (now - self._renewed).total_seconds() >= outbox.lease_s / RENEW_EVERY:
            with self.store.db.tx() as tx:
                until = rfc3339(now + timedelta(seconds=outbox.lease_s))
                self._held = queue.renew(tx, outbox.table, str(row["claim"]), until)
            self._renewed = now
        return str(row[outbox.table.key]) in self._held

    def _send(self, outbox: Outbox, channel: str, rows: list[Row], out: list[Result]) -> None:
        """Send `rows` over one session of the channel, appending each one's outcome to
        `out` (rows another process took meanwhile are left out: theirs to record)."""
        key = outbox.table.key
        done: set[str] = set()
        try:
            with outbox.session(channel) as session:
                for row in rows:
                    if self.stopping.is_set():
                        break
                    if self._ingest_busy():
                        self.stopping.wait(PAUSE_S)
                    if not self._still_mine(outbox, row):
                        done.add(str(row[key]))
                        continue
                    try:
                        session.send(row)
                        out.append((row, None))
                    except ChannelError as exc:
                        out.append((row, exc))
                    done.add(str(row[key]))
        except ChannelError as exc:  # the session itself: everything not sent waits
            out += [(r, exc) for r in rows if str(r[key]) not in done]

    def _record(self, outbox: Outbox, results: list[Result]) -> None:
        if not results:
            return
        now, table = self.clock(), outbox.table
        delivered = [str(row[table.key]) for row, error in results if error is None]
        with self.store.db.tx() as tx:
            if delivered:
                queue.sent(tx, table, str(results[0][0]["claim"]), delivered, rfc3339(now))
            for row, error in results:
                if error is None:
                    continue
                row_id, attempts = str(row[table.key]), int(row["attempts"]) + 1
                retries = outbox.retries(row)
                if error.temporary and attempts < retries.max_attempts:
                    wait = delay(attempts, retries.first_retry_s, retries.max_retry_s)
                    queue.retry(
                        tx,
                        table,
                        row_id,
                        str(row["claim"]),
                        why=str(error),
                        at=rfc3339(now + timedelta(seconds=wait)),
                    )
                else:
                    log.error(
                        "%s: %s failed after %d attempt(s), given up: %s",
                        outbox.name,
                        row_id,
                        attempts,
                        error,
                    )
                    queue.failed(tx, table, row_id, str(row["claim"]), str(error))
        if delivered:
            crashpoint(f"{outbox.name}.recorded")
            outbox.recorded(len(delivered))
            log.info("%s: %d sent", outbox.name, len(delivered))
        for row, error in results:
            if error is not None and error.temporary and int(row["attempts"]) == 0:
                log.warning("%s: %s: %s (retrying)", outbox.name, row[table.key], error)
