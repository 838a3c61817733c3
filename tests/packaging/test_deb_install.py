"""The Debian packages installed, upgraded, removed and purged in throw-away roots (dpkg
--root; the maintainer scripts work on $DPKG_ROOT and touch nothing else)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.packaging.debs import PACKAGES, ids, installed
from tests.packaging.support import (
    DEPLOY,
    dpkg,
    run,
    verify_units,
)

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def test_the_terminal_installs_into_a_throwaway_root(debs: dict[str, Path], root: Path) -> None:
    """GIVEN an empty root WHEN posterm is installed into it THEN its user, groups,
    directory and config mode are made there (no back-office user), postermd is enabled,
    its unit verifies against the installed files, and the installed venv runs postermd
    and has no back office."""
    installed(debs["posterm"], root)
    passwd, group = ids(root, "passwd"), ids(root, "group")
    if Path("/usr/share/base-passwd").is_dir():  # Debian's static groups stay as they are
        assert (group["dialout"][2], group["lp"][2]) == ("20", "7")
    for name in ("dialout", "gpio", "lp"):
        assert "posterm" in group[name][3].split(",")
    assert "posterm-host" not in passwd
    state = (root / "var/lib/posterm").stat()
    assert (state.st_uid, oct(state.st_mode & 0o777)) == (int(passwd["posterm"][2]), "0o750")
    config = (root / "etc/posterm/posterm.toml").stat()
    assert (config.st_gid, oct(config.st_mode & 0o777)) == (int(group["posterm"][2]), "0o640")
    assert not (root / "var/lib/posterm-host").exists()
    wants = root / "etc/systemd/system/multi-user.target.wants"
    assert sorted(p.name for p in wants.iterdir()) == ["posterm.service"]

    proc = verify_units(root, Path("/lib/systemd/system"), ("posterm.service",))
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")

    venv = root / "opt/posterm/venv"
    assert (venv / "bin/postermd").read_text().startswith("#!/opt/posterm/venv/bin/python\n")
    help_text = run(venv / "bin/python", venv / "bin/postermd", "--help")
    assert help_text.returncode == 0 and "--config" in help_text.stdout, help_text.stderr
    pins = run(venv / "bin/python", "-c", "import lgpio, gpiozero.pins.lgpio")  # the Pi 5's
    assert pins.returncode == 0, pins.stderr
    host = run(venv / "bin/python", "-c", "import posterm.host")
    assert host.returncode == 1 and "No module named 'posterm.host'" in host.stderr
    leaked = run("grep", "-rlI", "deb-work", venv)
    assert leaked.stdout == "", f"the build directory is named in {leaked.stdout}"


def test_the_back_office_installs_beside_the_terminal(debs: dict[str, Path], root: Path) -> None:
    """GIVEN an empty root WHEN posterm-host is installed, then posterm too (one machine
    running both, as the demo and a one-shop site do) THEN posterm-host's user, directory
    and config mode are made, it is not enabled, both units verify, its venv runs
    posterm-host, and neither package's files clash with the other's."""
    installed(debs["posterm-host"], root)
    passwd, group = ids(root, "passwd"), ids(root, "group")
    state = (root / "var/lib/posterm-host").stat()
    assert (state.st_uid, oct(state.st_mode & 0o777)) == (int(passwd["posterm-host"][2]), "0o750")
    config = (root / "etc/posterm/posterm-host.toml").stat()
    gid = int(group["posterm-host"][2])
    assert (config.st_gid, oct(config.st_mode & 0o777)) == (gid, "0o640")
    assert "posterm" not in passwd  # the terminal's user comes with the terminal
    for name in ("dialout", "lp"):
        assert "posterm-host" not in group.get(name, ["", "", "", ""])[3].split(",")
    assert not (root / "etc/systemd/system/multi-user.target.wants").exists()
    venv = root / "opt/posterm-host/venv"
    host = run(venv / "bin/python", venv / "bin/posterm-host", "--help")
    assert host.returncode == 0, host.stderr
    daemon = run(venv / "bin/python", "-c", "import posterm.daemon")
    assert daemon.returncode == 1 and "No module named 'posterm.daemon'" in daemon.stderr

    installed(debs["posterm"], root)
    proc = verify_units(
        root, Path("/lib/systemd/system"), ("posterm.service", "posterm-host.service")
    )
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")
    wants = root / "etc/systemd/system/multi-user.target.wants"
    assert sorted(p.name for p in wants.iterdir()) == ["posterm.service"]


def test_an_edited_config_survives_an_upgrade(debs: dict[str, Path], root: Path) -> None:
    """GIVEN both packages installed and an edited posterm.toml WHEN they are installed
    again (an upgrade) THEN the edit is kept, the untouched conffile is the package's, and
    postermd stays enabled."""
    for name in PACKAGES:
        installed(debs[name], root)
    config = root / "etc/posterm/posterm.toml"
    edited = config.read_text().replace('id = "CHANGE-ME"', 'id = "pos-0042"')
    config.write_text(edited)
    for name in PACKAGES:
        proc = dpkg(root, "--install", debs[name])
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert config.read_text() == edited
    host = root / "etc/posterm/posterm-host.toml"
    assert host.read_text() == (DEPLOY / "posterm-host.toml.example").read_text()
    assert (root / "etc/systemd/system/multi-user.target.wants/posterm.service").is_symlink()


def test_remove_keeps_the_configs_and_purge_keeps_only_the_journal(
    debs: dict[str, Path], root: Path
) -> None:
    """GIVEN both packages installed and a journal WHEN posterm is removed THEN its app and
    unit go, its configs stay and the back office is untouched; WHEN it is purged THEN its
    configs and the unit's enablement go too, and the journal (the record of the payments)
    stays."""
    for name in PACKAGES:
        installed(debs[name], root)
    journal = root / "var/lib/posterm/journal.db"
    journal.write_bytes(b"payments")
    assert dpkg(root, "--remove", "posterm").returncode == 0
    assert not (root / "opt/posterm").exists()
    assert not (root / "lib/systemd/system/posterm.service").exists()
    assert (root / "etc/posterm/posterm.toml").exists()
    assert not (root / "etc/systemd/system/multi-user.target.wants/posterm.service").exists()
    assert (root / "opt/posterm-host/venv/bin/posterm-host").exists()

    proc = dpkg(root, "--purge", "posterm")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (root / "etc/posterm/posterm.toml").exists()
    assert (root / "etc/posterm/posterm-host.toml").exists()
    assert not (root / "etc/udev/rules.d/99-posterm.rules").exists()
    left = run("find", root / "etc/systemd", "-name", "posterm.*").stdout
    assert left == ""
    assert journal.read_bytes() == b"payments"


def test_the_back_office_purges_and_keeps_its_database(debs: dict[str, Path], root: Path) -> None:
    """GIVEN posterm-host installed with a database WHEN it is purged THEN its app, unit,
    config and the unit's recorded state are gone and the fleet's database stays."""
    installed(debs["posterm-host"], root)
    assert run("find", root / "var/lib/systemd", "-name", "*posterm-host*").stdout != ""
    database = root / "var/lib/posterm-host/host.db"
    database.write_bytes(b"fleet")
    proc = dpkg(root, "--purge", "posterm-host")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (root / "opt/posterm-host").exists()
    assert not (root / "etc/posterm").exists()
    assert run("find", root / "etc/systemd", "-name", "posterm-host*").stdout == ""
    assert run("find", root / "var/lib/systemd", "-name", "*posterm-host*").stdout == ""
    assert database.read_bytes() == b"fleet"


ELF_MACHINE = {62: "x86_64", 183: "aarch64"}
