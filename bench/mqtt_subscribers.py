"""The subscriber side of bench/bench_mqtt_clients.py, one process per run: resume a
persistent session (MQTT 3.1.1, clean session false, as posterm-host's) with one client
library and take `count` messages, each handed over as the host's paho callback does
(`inbox.put((topic, bytes(payload)))`); print one JSON line: the messages taken, the wall
seconds and the CPU seconds of this process (every thread) from the CONNECT to the last.

Run (by the bench): python bench/mqtt_subscribers.py LIBRARY PORT CLIENT_ID COUNT CONFIG
LIBRARY is one of LIBRARIES; CONFIG a posterm-host config file (paho is built by the host's
own `make_client` from it).
"""

from __future__ import annotations

import asyncio
import json
import queue
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIBRARIES = ("paho", "gmqtt", "amqtt")
TIMEOUT_S = 300.0  # a run that has not had every message by then is broken


class DrainError(Exception):
    """A subscriber run that could not take its messages."""


def cpu_s() -> float:
    """CPU seconds (user + system) of this process, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Inbox:
    """What the host's `_on_message` does with a message, and a count of them."""

    def __init__(self, count: int) -> None:
        self.queue: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.count = count
        self.taken = 0
        self.done = threading.Event()
        self.end = (0.0, 0.0)  # (perf_counter, cpu_s) at the last message

    def put(self, topic: str, payload: bytes) -> None:
        self.queue.put((topic, bytes(payload)))
        self.taken += 1
        if self.taken == self.count:
            self.end = (time.perf_counter(), cpu_s())
            self.done.set()


def drain_paho(port: int, client_id: str, inbox: Inbox, config_path: str) -> None:
    """posterm-host's client: `make_client` from its config, its network thread."""
    from posterm.host.config import load  # noqa: PLC0415
    from posterm.host.service import ACK_WINDOW, make_client  # noqa: PLC0415

    client = make_client(load(config_path), client_id, clean=False)
    client.max_inflight_messages_set(ACK_WINDOW)

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        inbox.put(message.topic, message.payload)

    client.on_message = on_message
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    try:
        if not inbox.done.wait(TIMEOUT_S):
            raise DrainError(f"paho: {inbox.taken} of {inbox.count} messages")
    finally:
        client.disconnect()
        client.loop_stop()


def drain_gmqtt(port: int, client_id: str, inbox: Inbox, config_path: str) -> None:
    """gmqtt (asyncio) on its own event loop in this thread."""
    import gmqtt  # noqa: PLC0415

    async def run() -> None:
        client = gmqtt.Client(client_id, clean_session=False)

        def on_message(client: Any, topic: str, payload: bytes, qos: int, props: Any) -> int:
            inbox.put(topic, payload)
            return 0

        client.on_message = on_message
        await client.connect("127.0.0.1", port, keepalive=30, version=gmqtt.constants.MQTTv311)
        try:
            await asyncio.wait_for(asyncio.to_thread(inbox.done.wait), TIMEOUT_S)
        finally:
            await client.disconnect()

    asyncio.run(run())


def drain_amqtt(port: int, client_id: str, inbox: Inbox, config_path: str) -> None:
    """amqtt's client (the demo broker's package): `deliver_message` in a loop."""
    from amqtt.client import MQTTClient  # noqa: PLC0415

    async def run() -> None:
        client = MQTTClient(client_id=client_id, config={"auto_reconnect": False})
        await client.connect(f"mqtt://127.0.0.1:{port}/", cleansession=False)
        try:
            while inbox.taken < inbox.count:
                message = await client.deliver_message(TIMEOUT_S)
                if message is None:
                    raise DrainError(f"amqtt: {inbox.taken} of {inbox.count} messages")
                inbox.put(message.topic, bytes(message.data or b""))
        finally:
            await client.disconnect()

    asyncio.run(run())


DRAINS: dict[str, Callable[[int, str, Inbox, str], None]] = {
    "paho": drain_paho,
    "gmqtt": drain_gmqtt,
    "amqtt": drain_amqtt,
}


def main(argv: list[str]) -> int:
    if len(argv) != 5 or argv[0] not in DRAINS or not argv[1].isdigit() or not argv[3].isdigit():
        print(__doc__, file=sys.stderr)
        return 2
    library, port, client_id, count, config_path = argv
    drain = DRAINS[library]
    inbox = Inbox(int(count))
    cpu0, wall0 = cpu_s(), time.perf_counter()
    try:
        drain(int(port), client_id, inbox, config_path)
    except DrainError as exc:
        print(f"drain: {exc}", file=sys.stderr)
        return 1
    wall, cpu = inbox.end[0] - wall0, inbox.end[1] - cpu0
    print(json.dumps({"messages": inbox.taken, "seconds": wall, "cpu_s": cpu}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
