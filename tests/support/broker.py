"""A real Mosquitto for the tests (Debian's package; `.ci/run` installs it), and a test
host: a paho client that records what terminals publish and acknowledges events."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from posterm.protocol.mqtt import commands, topics

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def accepts(proc: subprocess.Popen[Any] | None, port: int, log: Path) -> bool:
    """Whether a server process listens on 127.0.0.1:`port`; its log if it exited."""
    if proc is not None and proc.poll() is not None:
        raise AssertionError(f"{Path(str(proc.args[0])).name} exited: {log.read_text()}")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll `check` until it returns something true (the event a test waits on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Broker:
    """Mosquitto on 127.0.0.1:port, plain MQTT, persistent (a restart keeps sessions)."""

    tmp: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    started: bool = False  # once started, a restart keeps the port (clients know it)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        if not Path(MOSQUITTO).exists():
            pytest.fail("mosquitto is not installed: install Debian's mosquitto (.ci/run does)")
        conf = self.tmp / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            # run as root, Mosquitto drops to user mosquitto and cannot save its sessions
            # in our folder: stay who we are
            f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
            f"persistence_location {self.tmp}/\nmax_queued_messages 100000\n"
            "max_inflight_messages 100\n"
        )
        log_path = self.tmp / "mosquitto.log"
        offset = log_path.stat().st_size if log_path.exists() else 0
        with log_path.open("a") as log:
            self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=log)
        # "running", said by this start (a connect alone could reach another process that
        # took the port probed free, before this Mosquitto fails to bind it)
        wait_for(lambda: self._running(offset), "mosquitto to listen")
        if self.proc.poll() is not None and not self.started and "in use" in self._log(offset):
            self.port = free_port()  # taken between the probe and the bind: another port
            return self.start()
        wait_for(self._accepts, "mosquitto to listen")
        self.started = True

    def _log(self, offset: int) -> str:
        with (self.tmp / "mosquitto.log").open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def _running(self, offset: int) -> bool:
        """Mosquitto says it runs, or it exited (`_accepts` then raises with its log)."""
        assert self.proc is not None
        running = re.search(r"mosquitto version \S+ running", self._log(offset))
        return running is not None or self.proc.poll() is not None

    def _accepts(self) -> bool:
        return accepts(self.proc, self.port, self.tmp / "mosquitto.log")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


LEAVES = ("events", "status", "telemetry", "reply")  # what TestHost subscribes to


class TestHost:
    """Subscribes to every terminal's events, status, telemetry and replies; acks events
    (when `auto_ack`), sends commands. Its own paho thread; persistent session. Returned
    once the broker granted its subscriptions (SUBACK): a test that stops the broker next
    finds them in the session, and nothing published after is lost to it."""

    __test__ = False

    def __init__(self, broker: Broker, *, auto_ack: bool = True, client_id: str = "test-host"):
        self.auto_ack = auto_ack
        self.events: list[dict[str, Any]] = []
        self.status: list[dict[str, Any]] = []
        self.telemetry: list[dict[str, Any]] = []
        self.replies: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self.subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 1)
        self.client.connect_async("127.0.0.1", broker.port, keepalive=10)
        self.client.loop_start()
        wait_for(self.subscribed.is_set, f"{client_id} subscribed")

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        client.subscribe([(topics.all_terminals(leaf), 1) for leaf in LEAVES])

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        data = json.loads(message.payload)
        tid, leaf = topics.split(message.topic)
        with self.lock:
            {
                "events": self.events,
                "status": self.status,
                "telemetry": self.telemetry,
                "reply": self.replies,
            }[leaf].append(data)
        if leaf == "events" and self.auto_ack:
            self.ack(tid, [data["event_id"]])

    def ack(self, tid: str, event_ids: list[str]) -> None:
        payload = json.dumps(commands.ack(event_ids))
        self.client.publish(topics.terminal(tid, "ack"), payload, qos=1)

    def send(self, tid: str, envelope: dict[str, Any] | bytes) -> None:
        payload = envelope if isinstance(envelope, bytes) else json.dumps(envelope).encode()
        self.client.publish(topics.terminal(tid, "cmd"), payload, qos=1)

    def unique_events(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {e["event_id"]: e for e in self.events}

    def reply_to(self, cmd_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.replies if r.get("cmd_id") == cmd_id]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
