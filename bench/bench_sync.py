"""The outbox relay: a drain of 50,000 queued events to Mosquitto on loopback, until the
last PUBACK (every event marked sent in the journal), against a bare paho QoS 1 publish
loop with the same in-flight window on the same broker in the same run.

The relay is the real `Relay` on a real journal (a copy of one file with the 50,000 events
emitted before the clock starts), without a `Terminal`: a stand-in answers the little the
relay reads of it (`status()` for telemetry, `mode` and `owner` for commands, which no one
sends here). No host is subscribed: the broker PUBACKs and drops.

The baseline is as fair as it gets: the same paho 2 client settings as `Link` (callback API
v2, MQTT 3.1.1, clean_session false, `max_inflight_messages_set(window)`, unlimited queue),
driven the same way (one thread calling `loop(STEP_SECONDS)` and publishing while fewer
than `window` are unacknowledged), the same topic and the same payload bytes — only the
journal (read, marking sent) and the relay's bookkeeping are missing. Both clocks run
from CONNACK to the last PUBACK. Five interleaved rounds per window (bench/runs.py), each
run several seconds of work; the ratio is the median of the rounds' own ratios, with its
spread.

Run: .venv/bin/python bench/bench_sync.py
"""

from __future__ import annotations

import json
import logging
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import figure  # noqa: E402
from bench.runs import Sample, interleave  # noqa: E402
from posterm.daemon.config import MqttSection  # noqa: E402
from posterm.daemon.journal.store import Journal  # noqa: E402
from posterm.daemon.sync import relay as relay_module  # noqa: E402
from posterm.daemon.sync.relay import Relay  # noqa: E402
from posterm.protocol.mqtt import topics  # noqa: E402
from tests.support.broker import Broker  # noqa: E402
from tests.support.standin import StandInTerminal  # noqa: E402

EVENTS = 50_000  # >= 5 s of work per run, the bare loop included
WINDOWS = (20, 100)  # 20 is the default `mqtt.inflight`
ROUNDS = 5  # per arm and window, interleaved
TID = "bench-pos"
TARGET_RATE, TARGET_RATIO = 1_000.0, 0.7


def sale_data(n: int) -> dict[str, Any]:
    """What a `sale.approved` carries (Terminal.event_data of a real sale)."""
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
        "masked_pan": "544433******1234",
        "batch_no": 7,
    }


def make_journal(path: Path) -> list[bytes]:
    """A journal with EVENTS events in its outbox; the payloads the relay will send."""
    journal = Journal(path, TID)
    try:
        for first in range(1, EVENTS + 1, 500):
            with journal.transaction() as tx:
                for n in range(first, min(first + 500, EVENTS + 1)):
                    tx.emit("sale.approved", sale_data(n))
        envelopes = journal.outbox(limit=EVENTS)
    finally:
        journal.close()  # the last connection: WAL checkpointed into the file
    assert len(envelopes) == EVENTS
    return [json.dumps(e, separators=(",", ":"), ensure_ascii=False).encode() for e in envelopes]


def relay_drain(template: Path, work: Path, broker: Broker, window: int) -> Sample:
    """The real relay's drain, CONNACK to the last event marked sent."""
    path = work / f"journal-{time.monotonic_ns()}.db"
    shutil.copyfile(template, path)
    journal = Journal(path, TID)
    clock: dict[str, float] = {}
    marked = [0]
    done = threading.Event()
    mark_sent = journal.outbox_mark_sent

    def counting_mark_sent(event_ids: Any) -> None:  # the relay calls it after PUBACKs
        ids = list(event_ids)
        mark_sent(ids)
        marked[0] += len(ids)
        if marked[0] >= EVENTS and not done.is_set():
            clock["end"] = time.perf_counter()
            done.set()

    def on_link(up: bool) -> None:  # called by the relay on CONNACK
        if up and "start" not in clock:
            clock["start"] = time.perf_counter()

    journal.outbox_mark_sent = counting_mark_sent  # type: ignore[method-assign]
    relay = Relay(
        MqttSection(url=broker.url, inflight=window),
        journal,
        StandInTerminal(TID),
        host_key=None,
        version="bench",  # type: ignore[arg-type]
        on_link=on_link,
    )
    try:
        relay.start()
        if not done.wait(600):
            raise AssertionError(f"relay drained only {marked[0]} of {EVENTS} events")
    finally:
        relay.stop()
    unsent = journal._all("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")[0][0]
    journal.close()
    path.unlink()
    assert unsent == 0, f"{unsent} events not marked sent"
    return Sample(EVENTS, clock["end"] - clock["start"])


def bare_drain(payloads: list[bytes], broker: Broker, window: int) -> Sample:
    """A bare paho QoS 1 loop's drain, CONNACK to the last PUBACK."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id="bench-bare",
        clean_session=False,
        protocol=mqtt.MQTTv311,
    )
    client.max_inflight_messages_set(window)
    client.max_queued_messages_set(0)
    connected = [False]
    inflight: set[int] = set()
    acked = [0]

    def on_connect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        connected[0] = not reason.is_failure

    def on_publish(c: Any, u: Any, mid: int, reason: Any, props: Any) -> None:
        if mid in inflight:
            inflight.discard(mid)
            acked[0] += 1

    client.on_connect = on_connect
    client.on_publish = on_publish
    client.connect("127.0.0.1", broker.port, keepalive=60)
    deadline = time.monotonic() + 10
    while not connected[0]:
        client.loop(relay_module.STEP_SECONDS)
        assert time.monotonic() < deadline, "no CONNACK"
    start = time.perf_counter()
    topic = topics.terminal(TID, "events")
    sent = 0
    while acked[0] < len(payloads):
        while sent < len(payloads) and len(inflight) < window:
            info = client.publish(topic, payloads[sent], qos=1)
            assert info.rc == mqtt.MQTT_ERR_SUCCESS, info.rc
            inflight.add(int(info.mid))
            sent += 1
        client.loop(relay_module.STEP_SECONDS)
    elapsed = time.perf_counter() - start
    client.disconnect()
    client.loop(0.1)
    return Sample(len(payloads), elapsed)


def drain() -> None:
    # the relay's clean stop calls paho's loop() once after DISCONNECT, and paho logs that
    # at ERROR ("Client is not connected"); harmless, but it would garble the table
    logging.getLogger("posterm.mqtt.paho").setLevel(logging.CRITICAL)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        template = work / "template.db"
        payloads = make_journal(template)
        broker = Broker(work / "broker")
        broker.tmp.mkdir()
        broker.start()
        try:
            bare_drain(payloads[:2_000], broker, WINDOWS[0])  # warm up the broker
            for window in WINDOWS:
                print(f"sync: window {window}, {ROUNDS} interleaved rounds")
                result = interleave(
                    {
                        "relay": lambda w=window: relay_drain(template, work, broker, w),
                        "bare": lambda w=window: bare_drain(payloads, broker, w),
                    },
                    rounds=ROUNDS,
                )
                rows.append((window, result))
        finally:
            broker.stop()
    size = statistics.median(len(p) for p in payloads)
    print(
        f"sync: drain of {EVENTS:,} queued sale.approved events ({size:.0f} B each) to "
        f"Mosquitto on loopback, CONNACK to the last PUBACK, {ROUNDS} interleaved rounds"
    )
    print(f"sync: {'window':>6} {'relay ev/s':>28} {'bare ev/s':>28} {'ratio':>24}")
    for window, result in rows:
        relay, bare = result.rate("relay"), result.rate("bare")
        ratio = result.ratio("relay", "bare")
        print(f"sync: {window:>6} {relay!s:>28} {bare!s:>28} {ratio!s:>24}")
    window, result = rows[0]
    ours, ratio = result.rate("relay").median, result.ratio("relay", "bare")
    figure(
        f"sync: outbox drain (window {window})",
        ours,
        "events/s",
        baseline=result.rate("bare").median,
        baseline_name="bare paho publish loop",
        target=f">= {TARGET_RATE:,.0f}/s, ratio >= {TARGET_RATIO}",
        spread=ratio,
    )
    print(
        f"sync: target >= {TARGET_RATE:,.0f} events/s at the default window {window} -> "
        f"{'MET' if ours >= TARGET_RATE else 'NOT MET'} ({ours:,.0f}/s)"
    )
    print(
        f"sync: target >= {TARGET_RATIO} of the bare loop (median of {ratio.rounds} rounds' "
        f"ratios) -> {'MET' if ratio.median >= TARGET_RATIO else 'NOT MET'} ({ratio})"
    )


if __name__ == "__main__":
    drain()
