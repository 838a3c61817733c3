"""The Debian package (`make deb`), built once per test run, inspected with dpkg-deb and
installed, upgraded, removed and purged in throw-away roots (dpkg --root; the maintainer
scripts work on $DPKG_ROOT and touch nothing else)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.support import (
    DEPLOY,
    ROOT,
    SYSTEMD,
    UNITS,
    build_lock,
    dpkg,
    exec_start,
    need,
    new_dpkg_root,
    run,
    scratch,
    unit,
    verify_units,
)

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

TOOLS = (
    "dpkg-deb",
    "dpkg",
    "systemd-sysusers",
    "systemd-tmpfiles",
    "systemd-analyze",
    "deb-systemd-helper",
)
CONFFILES = {
    "/etc/posterm/posterm.toml",
    "/etc/posterm/posterm-host.toml",
    "/etc/udev/rules.d/99-posterm.rules",
}


@pytest.fixture
def root() -> Iterator[Path]:
    """An empty root for dpkg, in memory."""
    with scratch("posterm-root-") as path:
        yield new_dpkg_root(path)


def _build(factory: pytest.TempPathFactory, arch: str = "") -> Path:
    """The package, built by the first worker to get here (the others wait and reuse it)."""
    need(*TOOLS)
    with build_lock(factory, f"deb{arch}") as shared, scratch("posterm-deb-") as work:
        out = shared / f"deb-out{arch}"
        built = sorted(out.glob("posterm_*.deb"))
        if built:
            return built[0]
        env = {**os.environ, "WORKDIR": str(work / "deb-work"), "TOOL_PYTHON": sys.executable}
        if arch:
            env["DEB_ARCH"] = arch
        started = time.monotonic()
        proc = run(ROOT / "packaging" / "build-deb.sh", out, env=env, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        print(f"deb {arch} built in {time.monotonic() - started:.1f} s")
        return Path(proc.stdout.split()[-1])


@pytest.fixture(scope="session")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory)


def _installed(deb: Path, root: Path) -> Path:
    proc = dpkg(root, "--install", deb)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def _ids(root: Path, table: str) -> dict[str, list[str]]:
    return {
        f[0]: f
        for f in (line.split(":") for line in (root / "etc" / table).read_text().splitlines())
    }


def test_the_package_says_what_it_is_and_keeps_the_configs(deb: Path) -> None:
    """GIVEN the built package WHEN dpkg-deb describes it THEN it is posterm for this
    machine's architecture, on Debian's python3.X and the glibc its wheels need, and the
    configs are its conffiles."""
    info = run("dpkg-deb", "--info", deb).stdout
    arch = run("dpkg", "--print-architecture").stdout.strip()
    assert " Package: posterm\n" in info and f" Architecture: {arch}\n" in info
    depends = run("dpkg-deb", "--field", deb, "Depends").stdout.strip().split(", ")
    assert f"python{sys.version_info[0]}.{sys.version_info[1]}" in depends
    assert any(d.startswith("libc6 (>= 2.") for d in depends)  # the wheels' manylinux floor
    conffiles = run("dpkg-deb", "--info", deb, "conffiles").stdout.split()
    assert set(conffiles) == CONFFILES
    for script in ("postinst", "prerm", "postrm"):
        assert run("dpkg-deb", "--info", deb, script).stdout.startswith("#!/bin/sh\n")


def test_the_package_ships_the_units_binaries_and_system_files(deb: Path) -> None:
    """GIVEN the package's listing WHEN each unit's ExecStart is looked up THEN it is an
    executable file in the package and its --config a conffile, next to the units,
    sysusers.d, tmpfiles.d and the udev rules (State/Runtime/ConfigurationDirectory= are
    made by systemd, the state directories also by tmpfiles.d: test_units.py)."""
    listing = {}
    for line in run("dpkg-deb", "--contents", deb).stdout.splitlines():
        mode, *_, path = line.split(None, 5)
        listing[path.split(" -> ")[0].removeprefix(".")] = mode
    conffiles = run("dpkg-deb", "--info", deb, "conffiles").stdout.split()
    for name in UNITS:
        assert listing[f"/lib/systemd/system/{name}"] == "-rw-r--r--"
        assert listing[str(exec_start(SYSTEMD / name))] == "-rwxr-xr-x"
        config = unit(SYSTEMD / name)["Service"]["ExecStart"].split("--config ")[1].split()[0]
        assert config in conffiles, f"{name}: --config {config} is not a conffile"
    for path in (
        "/usr/lib/sysusers.d/posterm.conf",
        "/usr/lib/tmpfiles.d/posterm.conf",
        *CONFFILES,
        "/opt/posterm/venv/pyvenv.cfg",
        "/opt/posterm/README.md",
    ):
        assert path in listing, path


def test_it_installs_into_a_throwaway_root(deb: Path, root: Path) -> None:
    """GIVEN an empty root WHEN the package is installed into it THEN the users, groups,
    directories and config modes are made there, postermd is enabled (not posterm-host),
    the units verify against the installed files, and the installed venv runs postermd."""
    _installed(deb, root)
    passwd, group = _ids(root, "passwd"), _ids(root, "group")
    if Path("/usr/share/base-passwd").is_dir():  # Debian's static groups stay as they are
        assert (group["dialout"][2], group["lp"][2]) == ("20", "7")
    for name in ("dialout", "gpio", "lp"):
        assert "posterm" in group[name][3].split(",")
        assert "posterm-host" not in group[name][3].split(",")
    for user in ("posterm", "posterm-host"):
        state = (root / "var/lib" / user).stat()
        assert (state.st_uid, oct(state.st_mode & 0o777)) == (int(passwd[user][2]), "0o750")
        config = (root / "etc/posterm" / f"{user}.toml").stat()
        assert (config.st_gid, oct(config.st_mode & 0o777)) == (int(group[user][2]), "0o640")
    wants = root / "etc/systemd/system/multi-user.target.wants"
    assert sorted(p.name for p in wants.iterdir()) == ["posterm.service"]

    proc = verify_units(root, Path("/lib/systemd/system"))
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")

    venv = root / "opt/posterm/venv"
    assert (venv / "bin/postermd").read_text().startswith("#!/opt/posterm/venv/bin/python\n")
    help_text = run(venv / "bin/python", venv / "bin/postermd", "--help")
    assert help_text.returncode == 0 and "--config" in help_text.stdout, help_text.stderr
    pins = run(venv / "bin/python", "-c", "import lgpio, gpiozero.pins.lgpio")  # the Pi 5's
    assert pins.returncode == 0, pins.stderr
    host = run(venv / "bin/python", venv / "bin/posterm-host", "--help")
    assert host.returncode == 0, host.stderr
    leaked = run("grep", "-rlI", "deb-work", venv)
    assert leaked.stdout == "", f"the build directory is named in {leaked.stdout}"


def test_an_edited_config_survives_an_upgrade(deb: Path, root: Path) -> None:
    """GIVEN an installed package and an edited posterm.toml WHEN the package is installed
    again (an upgrade) THEN the edit is kept, the untouched conffile is the package's, and
    postermd stays enabled."""
    _installed(deb, root)
    config = root / "etc/posterm/posterm.toml"
    edited = config.read_text().replace('id = "CHANGE-ME"', 'id = "pos-0042"')
    config.write_text(edited)
    proc = dpkg(root, "--install", deb)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert config.read_text() == edited
    host = root / "etc/posterm/posterm-host.toml"
    assert host.read_text() == (DEPLOY / "posterm-host.toml.example").read_text()
    assert (root / "etc/systemd/system/multi-user.target.wants/posterm.service").is_symlink()


def test_remove_keeps_the_configs_and_purge_keeps_only_the_journal(deb: Path, root: Path) -> None:
    """GIVEN an installed package with a journal WHEN it is removed THEN the app and units go
    and the configs stay; WHEN it is purged THEN the configs and the units' enablement go
    too, and the journal (the record of the payments) stays."""
    _installed(deb, root)
    journal = root / "var/lib/posterm/journal.db"
    journal.write_bytes(b"payments")
    assert dpkg(root, "--remove", "posterm").returncode == 0
    assert not (root / "opt/posterm/venv").exists()
    assert not (root / "lib/systemd/system/posterm.service").exists()
    assert (root / "etc/posterm/posterm.toml").exists()
    assert not (root / "etc/systemd/system/multi-user.target.wants/posterm.service").exists()

    proc = dpkg(root, "--purge", "posterm")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (root / "etc/posterm").exists()
    assert not (root / "etc/udev/rules.d/99-posterm.rules").exists()
    left = run("find", root / "etc/systemd", "-name", "posterm*").stdout
    assert left == ""
    assert journal.read_bytes() == b"payments"


ELF_MACHINE = {62: "x86_64", 183: "aarch64"}


def test_a_pi_package_is_built_on_a_pc(tmp_path_factory: pytest.TempPathFactory) -> None:
    """GIVEN DEB_ARCH=arm64 on this machine WHEN the package is built THEN it is for arm64,
    every compiled module in it is aarch64 code, and the scripts run the venv's Python."""
    arm = _build(tmp_path_factory, "arm64")
    assert run("dpkg-deb", "--field", arm, "Architecture").stdout.strip() == "arm64"
    machines: dict[str, set[str]] = {}
    postermd = b""
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(arm)], stdout=subprocess.PIPE) as p:
        assert p.stdout is not None
        with tarfile.open(fileobj=p.stdout, mode="r|") as tar:
            for member in tar:
                data = tar.extractfile(member) if member.isfile() else None
                if data is None:
                    continue
                if member.name.endswith(".so") or ".so." in member.name:
                    elf = data.read(20)
                    machine = ELF_MACHINE.get(int.from_bytes(elf[18:20], "little"), "?")
                    machines.setdefault(machine, set()).add(member.name)
                elif member.name == "./opt/posterm/venv/bin/postermd":
                    postermd = data.read()
    assert set(machines) == {"aarch64"}, {k: sorted(v)[:3] for k, v in machines.items()}
    assert postermd.startswith(b"#!/opt/posterm/venv/bin/python\n")
