"""The machine's health (`daemon/health.py`): each probe reads what the machine offers and
says "unknown" (None) where it cannot tell. The commands are stand-in scripts that print
what timedatectl and vcgencmd print; the thermal zone is a file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from posterm.daemon.health import Health, Probes, check, decode_throttled


def script(tmp: Path, name: str, out: str, code: int = 0) -> tuple[str, ...]:
    path = tmp / name
    path.write_text(f"#!/bin/sh\nprintf '%s\\n' '{out}'\nexit {code}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return (str(path),)


@pytest.mark.slow
def test_a_pi_with_ntp_and_an_under_voltage_since_boot(tmp_path: Path) -> None:
    thermal = tmp_path / "temp"
    thermal.write_text("48312\n")
    probes = Probes(
        timedatectl=script(tmp_path, "timedatectl", "yes"),
        vcgencmd=script(tmp_path, "vcgencmd", "throttled=0x50005"),
        thermal=thermal,
    )
    health = check(tmp_path / "journal.db", probes)
    assert health["clock"] == {"synchronized": True, "source": "timedatectl"}
    assert health["throttled"] == {
        "raw": "0x50005",
        "now": ["under_voltage", "throttled"],
        "since_boot": ["under_voltage", "throttled"],
    }
    assert health["cpu_temp_c"] == 48.3
    assert health["disk"]["free_bytes"] > 0 and health["disk"]["total_bytes"] > 0


@pytest.mark.slow
def test_clock_not_synchronised_and_a_healthy_supply(tmp_path: Path) -> None:
    probes = Probes(
        timedatectl=script(tmp_path, "timedatectl", "no"),
        vcgencmd=script(tmp_path, "vcgencmd", "throttled=0x0"),
        thermal=tmp_path / "none",
    )
    health = check(tmp_path / "journal.db", probes)
    assert health["clock"]["synchronized"] is False
    assert health["throttled"] == {"raw": "0x0", "now": [], "since_boot": []}


@pytest.mark.slow
def test_without_timedatectl_the_kernel_is_asked(tmp_path: Path) -> None:
    """GIVEN no systemd (timedatectl fails, as in a container) THEN adjtimex answers."""
    probes = Probes(
        timedatectl=script(tmp_path, "timedatectl", "Failed to connect to bus", code=1),
        vcgencmd=(str(tmp_path / "missing-vcgencmd"),),
        thermal=tmp_path / "none",
    )
    health = check(tmp_path / "journal.db", probes)
    assert health["clock"]["source"] == "adjtimex"
    assert isinstance(health["clock"]["synchronized"], bool)


@pytest.mark.slow
def test_a_machine_that_cannot_tell_says_unknown(tmp_path: Path) -> None:
    probes = Probes(
        timedatectl=(str(tmp_path / "missing-timedatectl"),),
        vcgencmd=(str(tmp_path / "missing-vcgencmd"),),
        thermal=tmp_path / "missing-thermal",
        adjtimex=None,
    )
    health = check(tmp_path / "no-such-dir" / "journal.db", probes)
    assert health == {
        "clock": {"synchronized": None, "source": None},
        "disk": {"free_bytes": None, "total_bytes": None},
        "throttled": None,
        "cpu_temp_c": None,
    }


def test_garbage_from_vcgencmd_is_unknown() -> None:
    assert decode_throttled('error=1 error_msg="Command not registered"') is None
    assert decode_throttled("throttled=0x80008")["now"] == ["soft_temperature_limit"]  # type: ignore[index]


@pytest.mark.slow
def test_snapshots_are_cached(tmp_path: Path) -> None:
    thermal = tmp_path / "temp"
    thermal.write_text("40000")
    probes = Probes(
        timedatectl=(str(tmp_path / "x"),),
        vcgencmd=(str(tmp_path / "y"),),
        thermal=thermal,
        adjtimex=None,
    )
    health = Health(tmp_path / "journal.db", probes, max_age=3600)
    assert health.snapshot()["cpu_temp_c"] == 40.0
    thermal.write_text("70000")
    assert health.snapshot()["cpu_temp_c"] == 40.0
    assert Health(tmp_path / "journal.db", probes, max_age=0).snapshot()["cpu_temp_c"] == 70.0
