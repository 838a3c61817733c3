"""systemd integration: the unit runs postermd as a notify service with a watchdog, and
postermd speaks the notify protocol (READY=1 after recovery, STATUS, WATCHDOG=1)."""

from __future__ import annotations

import configparser
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.rig import BIN, make_rig

ROOT = Path(__file__).resolve().parents[2]


def test_unit_file_runs_postermd_as_notify_service() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "systemd" / "posterm.service")
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service["ExecStart"].endswith("postermd --config /etc/posterm/posterm.toml")
    assert int(service["WatchdogSec"]) > 0 and service["Restart"] == "on-failure"


@pytest.mark.slow
def test_postermd_notifies_ready_status_and_watchdog(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    notify_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify_path))
    sock.settimeout(1.0)
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "1000000"}
    env.pop("WATCHDOG_PID", None)
    daemon = subprocess.Popen(
        [str(BIN / "postermd"), "--config", str(rig.config)], env=env, stderr=subprocess.DEVNULL
    )
    messages: list[str] = []
    try:
        deadline = time.monotonic() + 60  # start-up recovery on a busy machine
        while time.monotonic() < deadline and not (
            any("READY=1" in m for m in messages) and any("WATCHDOG=1" in m for m in messages)
        ):
            try:
                messages.append(sock.recv(4096).decode())
            except TimeoutError:
                continue
    finally:
        daemon.terminate()
        try:  # SIGTERM lets the work in progress finish first: up to the rig's stop_timeout_s
            daemon.wait(70)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait(10)
            rig.close()
            sock.close()
    ready = next(m for m in messages if "READY=1" in m)
    assert "STATUS=ready" in ready
    assert any("WATCHDOG=1" in m for m in messages)
