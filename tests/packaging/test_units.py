"""The systemd units, udev rules, sysusers.d and tmpfiles.d entries, and the lock: what
systemd says of the units, and that every user, group and path a unit names is made by
what the package installs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.packaging.support import (
    ROOT,
    SYSTEMD,
    UNITS,
    exec_start,
    need,
    run,
    unit,
    unit_values,
    verify_units,
)

POSTERMD = SYSTEMD / "posterm.service"
HOST = SYSTEMD / "posterm-host.service"
SENDER = SYSTEMD / "posterm-host-sender.service"  # pulled in by HOST, of its package


@pytest.mark.slow
def test_systemd_analyze_verify_says_nothing(tmp_path: Path) -> None:
    """GIVEN both units in a root with their ExecStart binaries (stand-ins here; the deb
    test verifies the installed ones) WHEN systemd-analyze verifies them THEN not a word."""
    need("systemd-analyze")
    for name in (*UNITS, SENDER.name):
        unit_dir = tmp_path / "lib/systemd/system"
        unit_dir.mkdir(parents=True, exist_ok=True)
        (unit_dir / name).write_text((SYSTEMD / name).read_text())
        binary = tmp_path / exec_start(SYSTEMD / name).relative_to("/")
        binary.parent.mkdir(parents=True, exist_ok=True)
        binary.write_text("#!/bin/sh\n")
        binary.chmod(0o755)
    proc = verify_units(tmp_path, Path("/lib/systemd/system"), (*UNITS, SENDER.name))
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")


@pytest.mark.parametrize("name", (*UNITS, SENDER.name))
@pytest.mark.slow
def test_security_exposure_is_2_or_better(name: str) -> None:
    """GIVEN a unit WHEN systemd-analyze rates its sandbox offline THEN the exposure is at
    most 2.0 (--threshold= compares the exposure in tenths: 20 = 2.0)."""
    need("systemd-analyze")
    path = SYSTEMD / name
    proc = run("systemd-analyze", "security", "--offline=yes", "--threshold=20", path)
    level = re.search(r"Overall exposure level for \S+: (\d+\.\d)", proc.stdout)
    assert level, proc.stdout + proc.stderr
    assert proc.returncode == 0 and float(level[1]) <= 2.0, proc.stdout


def test_postermd_runs_as_notify_service_with_watchdog_and_its_groups() -> None:
    service = unit(POSTERMD)["Service"]
    assert service["Type"] == "notify" and int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure"
    assert service["User"] == "posterm" and service["Group"] == "posterm"
    assert set(service["SupplementaryGroups"].split()) == {"dialout", "gpio", "lp"}
    assert service["TimeoutStartSec"] == "240" and service["TimeoutStopSec"] == "200"
    allowed = " ".join(unit_values(POSTERMD, "DeviceAllow"))
    for device in ("char-ttyUSB", "char-ttyACM", "char-ttyAMA", "char-gpiochip", "char-usb_device"):
        assert device in allowed


def test_posterm_host_ingests_and_its_sender_unit_sends_in_a_process_of_its_own() -> None:
    """GIVEN posterm-host.service and posterm-host-sender.service THEN the first runs the
    ingest alone and pulls in the second, which runs `run --role sender` after it, stops
    and restarts with it (PartOf=), as its user and in the same sandbox, at nice 10 (its
    seccomp filter forbids setpriority, so the unit sets it)."""
    host, sender = unit(HOST), unit(SENDER)
    assert host["Service"]["ExecStart"].endswith(" run --role ingest")
    assert "posterm-host-sender.service" in host["Unit"]["Wants"].split()
    assert sender["Service"]["ExecStart"].endswith(" run --role sender --instance sender")
    assert sender["Unit"]["PartOf"] == "posterm-host.service"
    assert "posterm-host.service" in sender["Unit"]["After"].split()
    assert sender["Service"]["Nice"] == "10" and "Install" not in sender
    same = {k: v for k, v in host["Service"].items() if k != "ExecStart"}
    assert {k: v for k, v in sender["Service"].items() if k not in ("ExecStart", "Nice")} == same


def test_posterm_host_is_simple_and_needs_no_device_group() -> None:
    """posterm-host has no sd_notify (host/ would need it for Type=notify)."""
    service = unit(HOST)["Service"]
    assert service["Type"] == "simple" and "WatchdogSec" not in service
    assert service["Restart"] == "on-failure" and service["User"] == "posterm-host"
    assert "SupplementaryGroups" not in service
    assert service["PrivateDevices"] == "yes"


@pytest.mark.parametrize("name", UNITS)
def test_every_relaxation_says_why(name: str) -> None:
    """GIVEN a unit WHEN a setting opens the sandbox up THEN a comment right above says why."""
    lines = (SYSTEMD / name).read_text().splitlines()
    relaxations = (
        "PrivateDevices=no",
        "PrivateUsers=no",
        "DeviceAllow=",
        "RestrictAddressFamilies=",
        "SupplementaryGroups=",
        "SystemCallFilter=@chown",
    )
    for i, line in enumerate(lines):
        if line.startswith(relaxations):
            above = lines[max(0, i - 4) : i]
            assert any(a.startswith("#") for a in above), f"{name}: no reason above {line}"


def _sysusers(stem: str) -> tuple[set[str], dict[str, set[str]]]:
    """The users and group memberships of a unit's own sysusers file (each package has its own)."""
    users: set[str] = set()
    members: dict[str, set[str]] = {}
    for line in (SYSTEMD / f"{stem}.sysusers").read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "u":
            users.add(fields[1])
        elif fields and fields[0] == "m":
            members.setdefault(fields[1], set()).add(fields[2])
    return users, members


def _tmpfiles(stem: str) -> dict[str, tuple[str, str, str, str]]:
    entries = {}
    for line in (SYSTEMD / f"{stem}.tmpfiles").read_text().splitlines():
        if line and not line.startswith("#"):
            kind, path, mode, user, group, *_ = line.split()
            entries[path] = (kind, mode, user, group)
    return entries


@pytest.mark.parametrize("name", UNITS)
def test_the_units_users_groups_and_paths_are_all_made(name: str) -> None:
    """GIVEN a unit WHEN its User=, SupplementaryGroups=, StateDirectory= and --config are
    looked up THEN its own package's sysusers.d (systemd/*.sysusers, by its name) makes the user in
    those groups, and its tmpfiles.d makes the state directory with the unit's mode and
    owner and gives the config to the user's group; neither names the other unit's."""
    service = unit(SYSTEMD / name)["Service"]
    stem = name.removesuffix(".service")
    users, members = _sysusers(stem)
    tmpfiles = _tmpfiles(stem)
    assert users == {service["User"]}
    assert {entry[2] for entry in tmpfiles.values()} <= {"root", service["User"]}
    user = service["User"]
    assert user in users
    assert set(service.get("SupplementaryGroups", "").split()) == members.get(user, set())
    state = f"/var/lib/{service['StateDirectory']}"
    assert tmpfiles[state] == ("d", service["StateDirectoryMode"], user, service["Group"])
    assert service["WorkingDirectory"] == state
    config = service["ExecStart"].split("--config ", 1)[1].split()[0]
    assert Path(config).parent == Path("/etc") / service["ConfigurationDirectory"]
    assert tmpfiles[config] == ("z", "0640", "root", service["Group"])


def test_udev_names_key_on_the_adapters_serial_number() -> None:
    rules = (SYSTEMD / "99-posterm.rules").read_text()
    active = [line for line in rules.splitlines() if line and not line.startswith("#")]
    for name in ("posterm-pt", "posterm-printer"):
        naming = [line for line in active if f'SYMLINK+="{name}"' in line]
        assert naming and all(re.search(r'ATTRS?\{serial\}=="', line) for line in naming)
    # the fallback for adapters without a serial number is documented, not active
    assert "ENV{ID_PATH}==" in rules and "/dev/serial/by-path/" in rules
    assert 'TAG+="systemd"' in next(line for line in active if "posterm-pt" in line)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(requirements: list[str]) -> set[str]:
    return {_norm(m[0]) for r in requirements if (m := re.match(r"[A-Za-z0-9_.-]+", r))}


@pytest.mark.parametrize("package", ["posterm", "posterm-host"])
def test_each_packages_lock_pins_its_runtime_dependencies_with_hashes(package: str) -> None:
    """GIVEN pyproject's dependencies and what each package adds (the terminal packaging/
    pi.in, the back office the host and web extras) WHEN the package's lock is read THEN
    each is pinned (==) with at least one sha256, and so is every package the lock names
    (`make lock` rewrites it), and the other package's additions are not in it."""
    lock = (ROOT / "packaging" / f"{package}.lock").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", lock, re.MULTILINE))
    blocks = re.split(r"^(?=[A-Za-z0-9_.-]+==)", lock, flags=re.MULTILINE)[1:]
    assert len(blocks) == len(pins) > 0
    assert all("--hash=sha256:" in block for block in blocks)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pi_in = (ROOT / "packaging" / "pi.in").read_text().splitlines()
    terminal = _names([line for line in pi_in if line and not line.startswith("#")])
    extras = project["optional-dependencies"]
    back_office = _names(extras["host"] + extras["web"])
    wanted = _names(project["dependencies"]) | (terminal if package == "posterm" else back_office)
    unwanted = back_office if package == "posterm" else terminal
    pinned = {_norm(name) for name in pins}
    assert wanted - pinned == set()
    assert unwanted & pinned == set()
