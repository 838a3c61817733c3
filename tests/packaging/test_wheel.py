"""The wheel holds every module under its `posterm.*` name, and the layers hold."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {
    "protocol": "posterm/protocol",
    "drivers": "posterm/drivers",
    "daemon": "posterm/daemon",
    "hw-sim": "posterm/hwsim",
    "host": "posterm/host",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "-o", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (whl,) = out.glob("posterm-*.whl")
    return whl


def test_every_module_is_in_the_wheel(wheel: Path) -> None:
    """GIVEN the source folders WHEN the wheel is built THEN each .py is inside, renamed,
    and so are the dashboard's templates and static files."""
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for folder, target in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            expected.add(f"{target}/{path.relative_to(ROOT / folder).as_posix()}")
    for part in ("templates", "static"):  # the dashboard's package data
        for path in (ROOT / "host" / "web" / part).iterdir():
            expected.add(f"posterm/host/web/{part}/{path.name}")
    missing = sorted(expected - names)
    assert not missing, f"modules missing from the wheel: {missing}"


def test_no_generic_top_level_names_are_installed(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"posterm"}


def test_layer_contracts_hold_on_the_built_wheel(wheel: Path, tmp_path: Path) -> None:
    """The import-linter contracts in pyproject.toml, checked on what is shipped."""
    zipfile.ZipFile(wheel).extractall(tmp_path)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint), "--no-cache"],
        check=False,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    kept = len(contracts["contracts"])
    assert kept >= 7 and f"Contracts: {kept} kept, 0 broken" in proc.stdout, proc.stdout
