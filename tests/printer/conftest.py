"""Fixtures: a real printer simulator process on TCP and on a pty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sim import PrinterSim, start_printer


@pytest.fixture
def psim(tmp_path: Path) -> Iterator[PrinterSim]:
    sim = start_printer(tmp_path)
    yield sim
    sim.stop()
