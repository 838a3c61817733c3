"""The machine under the terminal: clock synchronised, disk free under the journal, the
Pi's under-voltage and throttling, CPU temperature — each `None` ("unknown") where the
machine cannot tell. Read by `posterm status` and the telemetry, at most every `max_age`
seconds (the probes run commands; never on the owner thread)."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("posterm.health")

TIMEDATECTL = ("timedatectl", "show", "-p", "NTPSynchronized", "--value")
VCGENCMD = ("vcgencmd", "get_throttled")
THERMAL = Path("/sys/class/thermal/thermal_zone0/temp")
COMMAND_SECONDS = 2.0

# `vcgencmd get_throttled`: bits 0-3 hold now, bits 16-19 have held since boot.
THROTTLE_BITS = {
    0: "under_voltage",
    1: "arm_frequency_capped",
    2: "throttled",
    3: "soft_temperature_limit",
}
SINCE_BOOT_SHIFT = 16


class _Timex(ctypes.Structure):
    """`struct timex` of <sys/timex.h> up to `status`, then room for the rest."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("_rest", ctypes.c_byte * 256),
    ]


STA_UNSYNC = 0x0040
TIME_ERROR = 5


def adjtimex_synchronized() -> bool | None:
    """The kernel's view (what NTP daemons set): None if adjtimex cannot be called."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        timex = _Timex()  # modes = 0: read only
        state = int(libc.adjtimex(ctypes.byref(timex)))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR and not timex.status & STA_UNSYNC


def run_command(argv: Sequence[str]) -> str | None:
    """The command's stdout, or None if it is missing, fails or takes too long."""
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, check=False, timeout=COMMAND_SECONDS
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def decode_throttled(text: str) -> dict[str, Any] | None:
    """`throttled=0x50005` -> what holds now and what has held since boot."""
    _, _, value = text.strip().partition("=")
    try:
        bits = int(value, 16)
    except ValueError:
        return None
    return {
        "raw": f"0x{bits:x}",
        "now": [name for bit, name in THROTTLE_BITS.items() if bits >> bit & 1],
        "since_boot": [
            name for bit, name in THROTTLE_BITS.items() if bits >> (bit + SINCE_BOOT_SHIFT) & 1
        ],
    }


@dataclass(frozen=True)
class Probes:
    """Where each reading comes from (tests point them at fakes)."""

    timedatectl: Sequence[str] = TIMEDATECTL
    vcgencmd: Sequence[str] = VCGENCMD
    thermal: Path = THERMAL
    adjtimex: Callable[[], bool | None] | None = adjtimex_synchronized
    run: Callable[[Sequence[str]], str | None] = field(default=run_command)


def clock(probes: Probes) -> dict[str, Any]:
    answer = probes.run(probes.timedatectl)
    if answer in ("yes", "no"):
        return {"synchronized": answer == "yes", "source": "timedatectl"}
    if probes.adjtimex is not None:
        synced = probes.adjtimex()
        if synced is not None:
            return {"synchronized": synced, "source": "adjtimex"}
    return {"synchronized": None, "source": None}


def throttling(probes: Probes) -> dict[str, Any] | None:
    answer = probes.run(probes.vcgencmd)
    return None if answer is None else decode_throttled(answer)


def cpu_temperature(path: Path = THERMAL) -> float | None:
    try:
        return round(int(path.read_text().strip()) / 1000, 1)
    except (OSError, ValueError):
        return None


def disk(path: Path) -> dict[str, Any]:
    """Free and total bytes of the file system under the journal's folder."""
    try:
        usage = shutil.disk_usage(path.parent)
    except OSError:
        return {"free_bytes": None, "total_bytes": None}
    return {"free_bytes": int(usage.free), "total_bytes": int(usage.total)}


def check(journal: Path, probes: Probes) -> dict[str, Any]:
    return {
        "clock": clock(probes),
        "disk": disk(journal),
        "throttled": throttling(probes),
        "cpu_temp_c": cpu_temperature(probes.thermal),
    }


class Health:
    """`snapshot()` from any thread; the probes run at most every `max_age` seconds."""

    def __init__(self, journal: Path, probes: Probes | None = None, max_age: float = 30.0) -> None:
        self.journal = journal
        self.probes = probes or Probes()
        self.max_age = max_age
        self._lock = threading.Lock()
        self._taken = -max_age
        self._last: dict[str, Any] = {}

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            if time.monotonic() - self._taken >= self.max_age or not self._last:
                self._last = check(self.journal, self.probes)
                self._taken = time.monotonic()
            return self._last
