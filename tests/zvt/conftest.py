"""Fixtures: a real PT simulator process, reached over a real pty and a real TCP socket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sim import PtSim, start_pt


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[PtSim]:
    s = start_pt(tmp_path)
    yield s
    s.stop()


@pytest.fixture(params=["tcp", "serial"])
def link(request: pytest.FixtureRequest, sim: PtSim) -> str:
    """The URL of the simulator over each transport in turn."""
    url = sim.tcp_url if request.param == "tcp" else sim.serial_url
    assert url is not None
    return url
