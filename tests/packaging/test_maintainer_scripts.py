"""The maintainer scripts on a live system (not $DPKG_ROOT): run in a mount namespace whose
/run says systemd and udev are up, with recording stand-ins for systemctl, udevadm,
deb-systemd-helper/-invoke, sysusers and tmpfiles. postermd is enabled and never started by
a fresh install; an upgrade restarts it only if it was running."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from tests.packaging.support import ROOT, need, run

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

SCRIPTS = ROOT / "packaging" / "debian"
STANDINS = (
    "systemd-sysusers",
    "systemd-tmpfiles",
    "udevadm",
    "deb-systemd-helper",
    "deb-systemd-invoke",
    "systemctl",
)


def _live(tmp: Path, *steps: tuple[str, ...], active: bool) -> list[str]:
    """Run the scripts (name, args...) in turn; return the commands they ran."""
    need("unshare", "mount")
    calls = tmp / "calls"
    bin_dir = tmp / "bin"
    bin_dir.mkdir(parents=True)
    for name in STANDINS:
        status = "3" if name == "systemctl" and not active else "0"
        script = bin_dir / name
        script.write_text(
            f'#!/bin/sh\necho "${{0##*/}} $*" >> {calls}\n'
            f'case "$*" in *is-active*) exit {status};; esac\nexit 0\n'
        )
        script.chmod(0o755)
    runs = " && ".join(f"sh {SCRIPTS / step[0]} {shlex.join(step[1:])}" for step in steps)
    shell = f"mount -t tmpfs none /run && mkdir -p /run/systemd/system /run/udev && {runs}"
    env = {k: v for k, v in os.environ.items() if k != "DPKG_ROOT"}
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    proc = run("unshare", "--mount", "sh", "-c", shell, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return calls.read_text().splitlines() if calls.exists() else []


def test_a_fresh_install_enables_postermd_and_starts_nothing(tmp_path: Path) -> None:
    calls = _live(tmp_path, ("posterm.postinst", "configure", ""), active=False)
    assert "systemd-sysusers posterm.conf" in calls
    assert "systemd-tmpfiles --create posterm.conf" in calls
    assert "udevadm control --reload-rules" in calls
    assert "deb-systemd-helper enable posterm.service" in calls
    assert "systemctl --system daemon-reload" in calls
    assert not [c for c in calls if "enable posterm-host" in c]
    assert not [
        c
        for c in calls
        if c.split()[:2] in (["deb-systemd-invoke", "start"], ["systemctl", "start"])
    ]


@pytest.mark.parametrize("active", [True, False])
def test_an_upgrade_restarts_postermd_only_if_it_ran(tmp_path: Path, active: bool) -> None:
    calls = _live(
        tmp_path,
        ("posterm.prerm", "upgrade", "0.1.0"),
        ("posterm.postinst", "configure", "0.1.0"),
        active=active,
    )
    stop = calls.index("deb-systemd-invoke stop posterm.service")
    assert "deb-systemd-invoke stop posterm-host.service" not in calls
    starts = [i for i, c in enumerate(calls) if c == "deb-systemd-invoke start posterm.service"]
    assert starts == ([starts[0]] if active else []) and all(i > stop for i in starts)


def test_remove_stops_postermd_and_purge_forgets_it(tmp_path: Path) -> None:
    calls = _live(
        tmp_path,
        ("posterm.prerm", "remove"),
        ("posterm.postrm", "remove"),
        ("posterm.postrm", "purge"),
        active=True,
    )
    assert calls.index("deb-systemd-invoke stop posterm.service") < calls.index(
        "deb-systemd-helper mask posterm.service"
    )
    assert "deb-systemd-helper purge posterm.service" in calls
    assert not [c for c in calls if "posterm-host" in c]  # the back office is its package's


def test_the_back_office_is_installed_not_enabled_and_restarted_on_upgrade(
    tmp_path: Path,
) -> None:
    """GIVEN posterm-host's scripts on a live system WHEN it is installed THEN its user and
    directory are made and its unit is known but not enabled or started; WHEN it is
    upgraded THEN it is not stopped first and a running one is restarted on the new files."""
    calls = _live(tmp_path, ("posterm-host.postinst", "configure", ""), active=False)
    assert "systemd-sysusers posterm-host.conf" in calls
    assert "systemd-tmpfiles --create posterm-host.conf" in calls
    assert "deb-systemd-helper update-state posterm-host.service" in calls
    assert not [c for c in calls if "enable" in c or " start " in f"{c} "]
    assert not [c for c in calls if "posterm.service" in c or "posterm.conf" in c]

    calls = _live(
        tmp_path / "upgrade",
        ("posterm-host.prerm", "upgrade", "0.1.0-1"),
        ("posterm-host.postinst", "configure", "0.1.0-1"),
        active=True,
    )
    assert "deb-systemd-invoke stop posterm-host.service" not in calls
    assert "deb-systemd-invoke try-restart posterm-host.service" in calls


def test_the_back_office_is_stopped_on_remove_and_forgotten_on_purge(tmp_path: Path) -> None:
    calls = _live(
        tmp_path,
        ("posterm-host.prerm", "remove"),
        ("posterm-host.postrm", "remove"),
        ("posterm-host.postrm", "purge"),
        active=True,
    )
    assert calls.index("deb-systemd-invoke stop posterm-host.service") < calls.index(
        "deb-systemd-helper mask posterm-host.service"
    )
    assert "deb-systemd-helper purge posterm-host.service" in calls
    assert not [c for c in calls if "posterm.service" in c]
