"""Many terminals played from one process, for posterm-host's tests and its bench: a few
paho connections each publishing for many terminal ids, as postermd's relay would: a
retained birth status, telemetry, events with a gapless seq per terminal kept in an outbox
until the host's `ack` names them, `resend` commands answered, and what stays unacked
published again after `resend_after_s` (the relay's 30 s).

paho's threads only queue what arrives; one worker thread of the fleet answers commands and
resends, the caller's thread publishes new events."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from posterm.host.mqtt_reads import BufferedClient
from posterm.protocol.mqtt import topics
from posterm.protocol.mqtt.events import envelope


def sale_data(n: int) -> dict[str, Any]:
    """What a `sale.approved` carries (as bench_sync's)."""
    cents = 100 + (n * 37) % 9_900
    return {
        "txn_id": f"T{n:010d}",
        "kind": "sale",
        "state": "approved",
        "amount": f"{cents // 100}.{cents % 100:02d}",
        "currency": "EUR",
        "receipt_no": n % 10_000,
        "trace": n % 1_000_000,
        "card_name": "Mastercard",
        "masked_pan": "520000******1234",
    }


def fault_data(note: object = "test") -> dict[str, Any]:
    """A `fault.raised` / `fault.cleared` event's data."""
    return {"state": "pt_down", "reason": f"no answer ({note})"}


def receipt_data(receipt_id: int, txn_id: str = "T1", **more: Any) -> dict[str, Any]:
    """A `receipt.*` event's data."""
    return {
        "receipt_id": receipt_id,
        "txn_id": txn_id,
        "copy": "customer",
        "mark": "original",
        **more,
    }


def batch_data(batch_no: int = 1) -> dict[str, Any]:
    """A `batch.closed` event's data: an empty day."""
    return {
        "txn_id": f"E{batch_no}",
        "batch_no": batch_no,
        "currency": "EUR",
        "sales": "0.00",
        "refunds": "0.00",
        "voids": "0.00",
        "net": "0.00",
    }


def txn_data(
    txn_id: str, kind: str = "sale", state: str = "approved", amount: str = "1.00", **more: Any
) -> dict[str, Any]:
    """The data of a payment event as postermd sends it (protocol/mqtt/wire.py's TxnData):
    what a test needs of it, and the fields every such event has."""
    return {
        "txn_id": txn_id,
        "kind": kind,
        "state": state,
        "amount": amount,
        "currency": "EUR",
        **more,
    }


class Fleet:
    def __init__(
        self,
        port: int,
        tids: list[str],
        *,
        connections: int = 4,
        resend_after_s: float | None = None,
        name: str = "fleet",
    ) -> None:
        self.tids = tids
        self.resend_after_s = resend_after_s
        self.lock = threading.Lock()
        self.seq = dict.fromkeys(tids, 0)
        # tid -> event_id -> (seq, payload, last published at)
        self.outbox: dict[str, dict[str, tuple[int, bytes, float]]] = {t: {} for t in tids}
        self.published = 0  # new events
        self.acked = 0  # events acked for the first time
        self.republished = 0
        self.resends_asked = 0
        self.acked_ids: set[str] = set()
        self.on_ack: Callable[[int], None] | None = None  # newly acked count, in paho's thread
        self._work: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._clients: list[mqtt.Client] = []
        self._client_of: dict[str, mqtt.Client] = {}
        self._last: dict[int, mqtt.MQTTMessageInfo] = {}  # per connection: its last publish
        ready = []
        for i in range(connections):
            mine = tids[i::connections]
            # posterm-host's paho (buffered reads): the fleet shares the benchmarks' cores
            # with the host it loads, the less it takes of them the more the host's figures
            # are the host's
            client = BufferedClient(
                callback_api_version=CallbackAPIVersion.VERSION2,
                client_id=f"{name}-{i}",
                clean_session=True,
                protocol=mqtt.MQTTv311,
            )
            client.max_inflight_messages_set(1000)
            subscribed = threading.Event()
            client.user_data_set((mine, subscribed))
            client.on_connect = self._on_connect
            client.on_subscribe = lambda c, u, mid, codes, p: u[1].set()
            client.on_message = self._on_message
            client.connect("127.0.0.1", port, keepalive=30)
            client.loop_start()
            ready.append(subscribed)
            self._clients.append(client)
            for tid in mine:
                self._client_of[tid] = client
        for event in ready:
            if not event.wait(30):
                raise AssertionError("the fleet's subscriptions were not acknowledged")
        self._worker = threading.Thread(target=self._work_loop, name="fleet", daemon=True)
        self._worker.start()

    # -- paho's threads: queue only ---------------------------------------------------------
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        mine = userdata[0]
        subs = [(topics.terminal(t, leaf), 1) for t in mine for leaf in ("ack", "cmd")]
        for i in range(0, len(subs), 200):
            client.subscribe(subs[i : i + 200])

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        tid, leaf = topics.split(message.topic)
        data = json.loads(message.payload)
        if leaf == "ack":
            fresh = 0
            with self.lock:
                box = self.outbox[tid]
                for event_id in data["event_ids"]:
                    if box.pop(event_id, None) is not None:
                        fresh += 1
                        self.acked_ids.add(event_id)
                self.acked += fresh
            if fresh and self.on_ack is not None:
                self.on_ack(fresh)
        elif leaf == "cmd" and data.get("name") == "resend":
            self._work.put(("resend", (tid, int(data["args"]["from_seq"]))))

    # -- the fleet's worker: resends --------------------------------------------------------
    def _work_loop(self) -> None:
        while not self._stop.is_set():
            try:
                kind, arg = self._work.get(timeout=0.2)
            except queue.Empty:
                self._resend_stale()
                continue
            if kind == "resend":
                tid, from_seq = arg
                self.resends_asked += 1
                self._republish(tid, lambda seq, at, first=from_seq: seq >= first)
            self._resend_stale()

    def _resend_stale(self) -> None:
        if self.resend_after_s is None:
            return
        old = time.monotonic() - self.resend_after_s
        for tid in self.tids:
            self._republish(tid, lambda seq, at: at < old)

    def _republish(self, tid: str, which: Callable[[int, float], bool]) -> None:
        with self.lock:
            box = self.outbox[tid]
            again = sorted(
                (seq, event_id, payload)
                for event_id, (seq, payload, at) in box.items()
                if which(seq, at)
            )
            now = time.monotonic()
            for seq, event_id, payload in again:
                box[event_id] = (seq, payload, now)
        for _, _, payload in again:
            self._client_of[tid].publish(topics.terminal(tid, "events"), payload, qos=1)
        self.republished += len(again)

    # -- the caller's thread ----------------------------------------------------------------
    def birth(self, session: int = 1) -> None:
        for tid in self.tids:
            status = {
                "online": True,
                "session": session,
                "boot_id": "fleet",
                "version": "0",
                "ts": "2026-11-29T00:00:00.000Z",
            }
            self._client_of[tid].publish(
                topics.terminal(tid, "status"), json.dumps(status), qos=1, retain=True
            )

    def telemetry(self, **more: Any) -> None:
        for tid in self.tids:
            self.telemetry_of(tid, **more)

    def telemetry_of(self, tid: str, **more: Any) -> None:
        """One telemetry message; `more` adds or replaces its keys (mode="pt_down", …)."""
        with self.lock:
            depth = len(self.outbox[tid])
        tele = {
            "mode": "ready",
            "printer": "ready, paper ok",
            "outbox_depth": depth,
            "pending_receipts": 0,
            "in_doubt": 0,
            "version": "0",
            **more,
        }
        self._client_of[tid].publish(topics.terminal(tid, "telemetry"), json.dumps(tele))

    def emit(self, tid: str, count: int = 1) -> None:
        """`count` new events of one terminal, the next seqs."""
        for _ in range(count):
            with self.lock:
                self.seq[tid] += 1
                seq = self.seq[tid]
                env = envelope(tid, seq, "sale.approved", sale_data(seq))
                payload = json.dumps(env).encode()
                self.outbox[tid][env["event_id"]] = (seq, payload, time.monotonic())
                self.published += 1
            client = self._client_of[tid]
            info = client.publish(topics.terminal(tid, "events"), payload, qos=1)
            with self.lock:
                self._last[id(client)] = info

    def flush(self, timeout: float = 60) -> None:
        """Wait for the broker's PUBACK of each connection's last event (it acks in order)."""
        with self.lock:
            last = list(self._last.values())
        for info in last:
            info.wait_for_publish(timeout)

    def unacked(self) -> int:
        with self.lock:
            return self.published - self.acked

    def close(self) -> None:
        self._stop.set()
        self._worker.join(5)
        for client in self._clients:
            client.loop_stop()
            client.disconnect()
