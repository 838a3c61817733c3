"""Fixtures shared by every suite: a real Mosquitto (plain MQTT on loopback) per test; and
the tier guard (tests/support/tiers.py): a test not marked `slow` may not start a process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import Broker

pytest_plugins = ["pytester", "tests.support.tiers"]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path / "broker")
    b.tmp.mkdir()
    b.start()
    yield b
    b.stop()
