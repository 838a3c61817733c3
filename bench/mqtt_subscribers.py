"""The subscriber side of bench/bench_mqtt_clients.py, one process per run: resume a
persistent session (MQTT 3.1.1, clean session false, as posterm-host's) with one client
library, print `ready` once connected, and take `count` messages, each handed over as the
host's paho callback does (`inbox.put((topic, bytes(payload)))`); print one JSON line: the
messages taken, the wall seconds and the CPU seconds of this process (every thread) from
the CONNECT (MODE backlog: the session's queue) or the first message (MODE live: a stream
published once this process is ready) to the last.

Run (by the bench): python bench/mqtt_subscribers.py LIBRARY PORT CLIENT_ID COUNT CONFIG MODE
LIBRARY is one of LIBRARIES; CONFIG a posterm-host config file (paho is built by the host's
own `make_client` from it); MODE one of MODES.
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

LIBRARIES = ("paho", "paho-stock", "gmqtt", "amqtt")
MODES = ("backlog", "live")
TIMEOUT_S = 300.0  # a run that has not had every message by then is broken
IDLE_S = 10.0  # nor one that had nothing for this long after its first message


class DrainError(Exception):
    """A subscriber run that could not take its messages."""


def cpu_s() -> float:
    """CPU seconds (user + system) of this process, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Inbox:
    """What the host's `_on_message` does with a message, and a count of them."""

    def __init__(self, count: int) -> None:
        self.queue: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()  # as the host's
        self.count = count
        self.taken = 0
        self.done = threading.Event()
        self.first = (0.0, 0.0)  # (perf_counter, cpu_s) at the first message
        self.end = (0.0, 0.0)  # and at the last
        self.last_at = 0.0

    def put(self, topic: str, payload: bytes | bytearray) -> None:
        self.queue.put((topic, bytes(payload)))
        self.taken += 1
        self.last_at = time.perf_counter()
        if self.taken == 1:
            self.first = (self.last_at, cpu_s())
        if self.taken == self.count:
            self.end = (time.perf_counter(), cpu_s())
            self.done.set()

    def ready(self) -> None:
        """Connected: the bench may start a live stream."""
        print("ready", flush=True)

    def wait(self) -> None:
        """Until every message is in; DrainError when they stop coming or take too long."""
        start = time.perf_counter()
        while not self.done.wait(0.2):
            now = time.perf_counter()
            if now - start > TIMEOUT_S or (self.taken and now - self.last_at > IDLE_S):
                raise DrainError(f"{self.taken} of {self.count} messages")


def drain_paho(port: int, client_id: str, inbox: Inbox, config_path: str) -> None:
    """posterm-host's client: `make_client` from its config (paho with buffered reads,
    host/mqtt_reads.py), its network thread."""
    from posterm.host.config import load  # noqa: PLC0415
    from posterm.host.mqtt_client import make_client  # noqa: PLC0415

    drain_paho_client(make_client(load(config_path), client_id, clean=False), port, inbox)


def drain_paho_stock(port: int, client_id: str, inbox: Inbox, config_path: str) -> None:
    """paho-mqtt as it comes (no buffered reads), otherwise as the host's: the baseline of
    posterm's buffered reads."""
    import paho.mqtt.client as mqtt  # noqa: PLC0415
    from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=False,
        protocol=mqtt.MQTTv311,
    )
    drain_paho_client(client, port, inbox)


def drain_paho_client(client: Any, port: int, inbox: Inbox) -> None:
    """A paho client as the host runs it: its in-flight window, its network thread."""
    from posterm.host.service import ACK_WINDOW  # noqa: PLC0415

    client.max_inflight_messages_set(ACK_WINDOW)

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        inbox.put(message.topic, message.payload)

    client.on_message = on_message
    client.on_connect = lambda *args: inbox.ready()
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    try:
        inbox.wait()
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
        inbox.ready()
        try:
            await asyncio.to_thread(inbox.wait)
        finally:
            await client.disconnect()

    asyncio.run(run())


def drain_amqtt(port: int, client_id: str, inbox: Inbox, config_path: str) -> None:
    """amqtt's client (the demo broker's package): `deliver_message` in a loop."""
    from amqtt.client import MQTTClient  # noqa: PLC0415

    async def run() -> None:
        client = MQTTClient(client_id=client_id, config={"auto_reconnect": False})
        await client.connect(f"mqtt://127.0.0.1:{port}/", cleansession=False)
        inbox.ready()
        try:
            while inbox.taken < inbox.count:
                try:
                    message = await client.deliver_message(IDLE_S if inbox.taken else TIMEOUT_S)
                except TimeoutError:
                    message = None
                if message is None:
                    raise DrainError(f"{inbox.taken} of {inbox.count} messages")
                inbox.put(message.topic, bytes(message.data or b""))
        finally:
            await client.disconnect()

    asyncio.run(run())


DRAINS: dict[str, Callable[[int, str, Inbox, str], None]] = {
    "paho": drain_paho,
    "paho-stock": drain_paho_stock,
    "gmqtt": drain_gmqtt,
    "amqtt": drain_amqtt,
}


def main(argv: list[str]) -> int:
    if (
        len(argv) != 6
        or argv[0] not in DRAINS
        or not argv[1].isdigit()
        or not argv[3].isdigit()
        or argv[5] not in MODES
    ):
        print(__doc__, file=sys.stderr)
        return 2
    library, port, client_id, count, config_path, mode = argv
    drain = DRAINS[library]
    inbox = Inbox(int(count))
    cpu0, wall0 = cpu_s(), time.perf_counter()
    try:
        drain(int(port), client_id, inbox, config_path)
    except DrainError as exc:
        print(f"{library}: {exc}", file=sys.stderr)
        return 1
    if mode == "live":
        wall0, cpu0 = inbox.first
    wall, cpu = inbox.end[0] - wall0, inbox.end[1] - cpu0
    print(json.dumps({"messages": inbox.taken, "seconds": wall, "cpu_s": cpu}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
