"""A graceful stop with the host link up, against a real Mosquitto: SIGTERM in the middle
of a sale lets the sale finish, then the retained status says offline (same session);
after the restart every event of the sale reaches the host, gapless. Telemetry carries
the machine's health."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import money_rules
from tests.support.broker import Broker, TestHost, wait_for
from tests.sync.test_relay import assert_gapless, mqtt_rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def test_sigterm_mid_sale_finishes_it_then_says_offline(tmp_path: Path, broker: Broker) -> None:
    host = TestHost(broker)
    rig = mqtt_rig(tmp_path, broker)
    try:
        rig.start()
        status = rig.wait_status(lambda s: s["host"]["state"] == "connected", "connected")
        session = status["host"]["session"]
        tele = wait_for(lambda: host.telemetry, "telemetry")[-1]
        assert {
            "clock_synchronized",
            "throttled_now",
            "throttled_since_boot",
            "cpu_temp_c",
            "disk_free_bytes",
            "update_lock",
        } <= set(tele)
        assert tele["update_lock"] == "free"
        rig.pt.fault("hold_at_pin")
        answer: list[Any] = []
        thread = threading.Thread(target=lambda: answer.append(rig.cli("sale", "8.80")))
        thread.start()
        rig.wait_state("busy")
        assert rig.daemon is not None
        rig.daemon.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        while "postermd: stopping" not in rig.logs[-1].read_text():
            assert time.monotonic() < deadline, "postermd never began to stop"
            time.sleep(0.05)
        rig.pt.fault("hold_at_pin", on=False)
        thread.join(60)
        code, sale = answer[0]
        assert code == 0 and sale["state"] == "approved" and sale["receipt_state"] == "printed"
        assert rig.wait_exit() == 0
        offline = wait_for(lambda: [s for s in host.status if s["online"] is False], "offline")
        assert offline[-1]["session"] == session
        rig.start()
        wait_for(
            lambda: {e["event_id"] for e in rig.events()} <= set(host.unique_events()),
            "every event at the host after the restart",
        )
        assert_gapless(host, rig)
        types = [
            e["type"]
            for e in host.unique_events().values()
            if e["data"].get("txn_id") == sale["txn_id"]
        ]
        assert "sale.approved" in types and "receipt.printed" in types
        money_rules.check(rig)
    finally:
        rig.close()
        host.close()
