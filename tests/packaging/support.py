"""What the packaging tests share: the tools they need, one build at a time across xdist
workers, the units' settings, and dpkg into a throw-away root."""

from __future__ import annotations

import configparser
import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.needs import unavailable

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "systemd"  # units, sysusers, tmpfiles, udev rules, install.sh
DEPLOY = ROOT / "deploy"  # example configs, Mosquitto, Prometheus, Grafana
UNITS = ("posterm.service", "posterm-host.service")
# the host's own units, for `systemd-analyze verify --root` (targets, sockets it pulls in)
HOST_UNITS = Path("/lib/systemd/system")


def need(*tools: str) -> None:
    """Fail under CI (the `CI` variable is set), else skip, when a tool is missing or the
    test is not root (dpkg --root, sysusers and tmpfiles chown what they create)."""
    missing = [t for t in tools if shutil.which(t) is None]
    if os.geteuid() != 0:
        missing.append("root")
    if not missing:
        return
    unavailable(f"needs {', '.join(missing)} (.ci/run installs the Debian packages)")


@contextmanager
def build_lock(factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """One build of `name` in this pytest run: the xdist worker that gets it first builds,
    the other waits and reuses the result from the yielded directory, which the workers
    share. (build-venv.sh guards the wheelhouse cache itself.)"""
    base = factory.getbasetemp()
    # under xdist each worker has its own base in the run's directory; without, the base
    # is the run's directory itself (its parent holds older runs)
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with (shared / f"posterm-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield shared


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A directory in memory when the machine has /dev/shm: installs unpack and remove
    thousands of files, and unlinking them on a disk mounted with `discard` takes seconds."""
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(prefix=prefix, dir=shm if shm.is_dir() else None) as d:
        yield Path(d)


def unit(path: Path) -> configparser.ConfigParser:
    """A unit file's settings; a key given several times keeps its last value."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


def unit_values(path: Path, key: str) -> list[str]:
    """Every value of a key that a unit repeats (DeviceAllow=, SystemCallFilter=)."""
    return [
        line.split("=", 1)[1]
        for line in path.read_text().splitlines()
        if line.startswith(f"{key}=")
    ]


def exec_start(path: Path) -> Path:
    return Path(unit(path)["Service"]["ExecStart"].split()[0])


def run(
    *args: str | Path,
    timeout: float = 120,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        env=env,
    )


def verify_units(
    root: Path, unit_dir: Path, units: tuple[str, ...] = UNITS
) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify --root=ROOT` of our units (all, or those named), which live in
    ROOT/unit_dir, with the host's units copied beside them (the targets they order
    against)."""
    target = root / unit_dir.relative_to("/")
    target.mkdir(parents=True, exist_ok=True)
    for item in HOST_UNITS.iterdir():
        dest = target / item.name
        if not dest.exists() and not dest.is_symlink():
            if item.is_symlink():
                dest.symlink_to(os.readlink(item))
            elif item.is_file():
                shutil.copy2(item, dest)
    return run("systemd-analyze", "verify", f"--root={root}", *units, cwd=root)


BASE_PASSWD = Path("/usr/share/base-passwd")


def new_dpkg_root(path: Path) -> Path:
    """An empty root dpkg can install into: its database and, where the host has them,
    Debian's static users and groups (dialout 20, lp 7, ...) as a fresh system has them."""
    if BASE_PASSWD.is_dir():
        (path / "etc").mkdir(parents=True)
        for table in ("passwd", "group"):
            shutil.copy(BASE_PASSWD / f"{table}.master", path / "etc" / table)
    info = path / "var/lib/dpkg"
    (info / "info").mkdir(parents=True)
    (info / "updates").mkdir()
    (info / "status").touch()
    (info / "available").touch()
    return path


def dpkg(root: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """dpkg on a throw-away root: the maintainer scripts run here (not chrooted: the root
    has no shell) with $DPKG_ROOT set, and touch nothing outside it; the dependencies
    (python3.11, systemd, ...) are the host's, not the root's."""
    return run(
        "dpkg",
        f"--root={root}",
        "--force-script-chrootless",
        "--force-depends",
        "--force-confold",
        "--force-unsafe-io",
        "--log=/dev/null",
        *args,
    )
