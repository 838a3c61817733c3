"""postermd's memory with python-escpos: idle, the printer library is not loaded (Pillow,
qrcode and python-barcode stay out of an idle terminal); the first receipt loads it; both
stay under issue 22's 60 MB (`make bench` prints the figures)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.rig import Rig, make_rig

pytestmark = pytest.mark.slow  # starts postermd and the simulators

LIMIT_MB = 60.0
PILLOW = "PIL/_imaging"  # Pillow's C extension: mapped once python-escpos is imported


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def mapped(pid: int, name: str) -> bool:
    return name in Path(f"/proc/{pid}/maps").read_text()


@pytest.fixture
def idle_rig(tmp_path: Path) -> Iterator[Rig]:
    rig = make_rig(tmp_path, link="tcp")
    rig.start()
    yield rig
    rig.close()


def test_idle_postermd_does_not_carry_python_escpos_and_a_sale_loads_it(idle_rig: Rig) -> None:
    """GIVEN postermd up and idle (no boot slip) THEN Pillow is not mapped and its RSS is
    under 60 MB; WHEN a sale prints its receipt THEN python-escpos (with Pillow) is loaded,
    the receipt is on the simulator's paper and the RSS is still under 60 MB."""
    assert idle_rig.daemon is not None
    pid = idle_rig.daemon.pid
    assert not mapped(pid, PILLOW)
    idle = rss_mb(pid)
    assert idle < LIMIT_MB
    reply = idle_rig.request(cmd="sale", amount="12.50")
    assert reply["ok"], reply
    assert any("12.50" in text for text in idle_rig.printer.printed())
    assert mapped(pid, PILLOW)
    assert rss_mb(pid) < LIMIT_MB
