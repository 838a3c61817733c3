"""Fixtures: a real printer simulator process on TCP, with its control channel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sim import PrinterSim, start_printer


@pytest.fixture
def psim(tmp_path: Path) -> Iterator[PrinterSim]:
    """`posterm-sim printer` on a free port; stopped after the test."""
    sim = start_printer(tmp_path)
    yield sim
    sim.stop()
