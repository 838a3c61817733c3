"""Run mypy on posterm subpackages: `python tools/typecheck.py posterm.protocol posterm.drivers`.

mypy cannot follow `[tool.setuptools.package-dir]` (protocol/ is `posterm.protocol`,
hw-sim/ is `posterm.hwsim`, ...), so this builds build/mypy/posterm/ with one symlink per
subpackage and runs mypy from there with the settings in pyproject.toml's [tool.mypy].
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "mypy"


def package_dirs() -> dict[str, str]:
    """Import name -> folder, as pyproject.toml maps them ("posterm.hwsim" -> "hw-sim")."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        mapping: dict[str, str] = tomllib.load(f)["tool"]["setuptools"]["package-dir"]
    return mapping


def build_tree() -> None:
    """build/mypy/posterm/<name> -> ../../../<folder> for every mapped subpackage."""
    base = TREE / "posterm"
    base.mkdir(parents=True, exist_ok=True)
    for name, folder in package_dirs().items():
        link = base / name.removeprefix("posterm.")
        target = os.path.relpath(ROOT / folder, base)
        if link.is_symlink() and os.readlink(link) == target:
            continue
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: typecheck.py PACKAGE... (e.g. posterm.protocol)", file=sys.stderr)
        return 2
    build_tree()
    command = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")]
    for package in argv:
        command += ["-p", package]
    return subprocess.call(command, cwd=TREE)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
