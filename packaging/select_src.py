"""Copy the part of this tree one Debian package holds into DEST, with a pyproject.toml that
builds a wheel of just that part (packaging/packages.toml names the subpackages and the
console scripts; build-venv.sh builds the wheel).

    python packaging/select_src.py PACKAGE DEST
"""

from __future__ import annotations

import json
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _value(value: Any) -> str:
    """A TOML value: strings and lists of strings are all a pyproject.toml needs here (a
    JSON string is a valid TOML basic string)."""
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(value)


def _table(name: str, items: dict[str, Any]) -> str:
    lines = [f"[{name}]"] + [f"{json.dumps(k)} = {_value(v)}" for k, v in items.items()]
    return "\n".join(lines) + "\n"


def _ours(module: str, roots: list[str]) -> bool:
    return any(module == r or module.startswith(r + ".") for r in roots)


def pyproject(package: str) -> str:
    """The pyproject.toml of PACKAGE's wheel: pyproject.toml's own, cut to its part."""
    specs = tomllib.loads((ROOT / "packaging" / "packages.toml").read_text())
    if package not in specs:
        sys.exit(f"select_src: no package {package!r} in packaging/packages.toml: {list(specs)}")
    spec = specs[package]
    full = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project, setup = full["project"], full["tool"]["setuptools"]
    roots: list[str] = spec["subpackages"]
    unknown = [s for s in spec["scripts"] if s not in project["scripts"]]
    if unknown or not set(roots) <= set(setup["package-dir"]):
        sys.exit(f"select_src: {package} names what pyproject.toml has not: {unknown or roots}")
    entry_points = {
        group: {name: target for name, target in points.items() if _ours(target, roots)}
        for group, points in project.get("entry-points", {}).items()
    }
    parts = [
        _table("build-system", full["build-system"]),
        _table(
            "project",
            {
                # the distribution keeps its name: code asks importlib.metadata for "posterm"
                "name": project["name"],
                "version": project["version"],
                "description": project["description"],
                "readme": project["readme"],
                "requires-python": project["requires-python"],
                "dependencies": project["dependencies"],
            },
        ),
        _table(
            "project.scripts",
            {s: t for s, t in project["scripts"].items() if s in spec["scripts"]},
        ),
        *(
            _table(f"project.entry-points.{json.dumps(group)}", points)
            for group, points in entry_points.items()
            if points
        ),
        _table("tool.setuptools", {"packages": [p for p in setup["packages"] if _ours(p, roots)]}),
        _table(
            "tool.setuptools.package-data",
            {p: d for p, d in setup.get("package-data", {}).items() if _ours(p, roots)},
        ),
        _table("tool.setuptools.package-dir", {p: setup["package-dir"][p] for p in roots}),
    ]
    return "\n".join(parts)


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        sys.exit("usage: select_src.py PACKAGE DEST")
    package, dest = argv[1], Path(argv[2])
    text = pyproject(package)
    roots = tomllib.loads((ROOT / "packaging" / "packages.toml").read_text())[package]
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "pyproject.toml").write_text(text)
    shutil.copy2(ROOT / "README.md", dest / "README.md")
    for sub in roots["subpackages"]:
        folder = setup["package-dir"][sub]
        shutil.copytree(ROOT / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))


if __name__ == "__main__":
    main(sys.argv)
