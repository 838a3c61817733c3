"""packaging/select_src.py: the part of the tree each Debian package's wheel is built from
(packaging/packages.toml), read without building anything."""

from __future__ import annotations

import importlib.util
import tomllib
from types import ModuleType
from typing import Any

import pytest

from tests.packaging.support import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGES = tomllib.loads((ROOT / "packaging" / "packages.toml").read_text())


def _select_src() -> ModuleType:
    spec = importlib.util.spec_from_file_location("select_src", ROOT / "packaging/select_src.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _wheel(package: str) -> dict[str, Any]:
    return tomllib.loads(_select_src().pyproject(package))


def test_the_terminal_wheel_holds_no_back_office_and_no_simulator() -> None:
    """GIVEN pyproject.toml WHEN the terminal's wheel is described THEN it has protocol,
    drivers and daemon (every one of their subpackages) and their folders, posterm and
    postermd, no host, no simulator, and no entry point into either."""
    wheel = _wheel("posterm")
    packages = wheel["tool"]["setuptools"]["packages"]
    roots = ("posterm.protocol", "posterm.drivers", "posterm.daemon")
    assert packages == [p for p in PROJECT["tool"]["setuptools"]["packages"] if p.startswith(roots)]
    assert "posterm.daemon.control" in packages
    assert wheel["tool"]["setuptools"]["package-dir"] == {
        "posterm.protocol": "protocol",
        "posterm.drivers": "drivers",
        "posterm.daemon": "daemon",
    }
    assert set(wheel["project"]["scripts"]) == {"posterm", "postermd"}
    assert "entry-points" not in wheel["project"]  # gpiozero's simulated pins are hw-sim's
    assert wheel["project"]["name"] == "posterm"
    assert wheel["project"]["dependencies"] == PROJECT["project"]["dependencies"]


def test_the_back_office_wheel_holds_the_host_and_its_templates() -> None:
    """GIVEN pyproject.toml WHEN posterm-host's wheel is described THEN it has protocol and
    host with the web and public templates, the posterm-host script, no terminal code."""
    wheel = _wheel("posterm-host")
    packages = wheel["tool"]["setuptools"]["packages"]
    assert "posterm.host.web" in packages and "posterm.protocol.mqtt" in packages
    assert not [p for p in packages if p.startswith(("posterm.daemon", "posterm.drivers"))]
    assert set(wheel["project"]["scripts"]) == {"posterm-host"}
    assert set(wheel["tool"]["setuptools"]["package-data"]) == {
        p for p in PROJECT["tool"]["setuptools"]["package-data"] if p.startswith("posterm.host")
    }


def test_every_subpackage_and_script_but_the_simulators_is_in_a_package() -> None:
    """GIVEN pyproject.toml's subpackages and scripts WHEN the packages' are put together
    THEN each one but the simulators' (a developer's tool) is in one of them: a new
    subpackage or CLI is not left out of the .debs unnoticed."""
    packaged = set()
    scripts = set()
    for name in PACKAGES:
        wheel = _wheel(name)
        packaged |= set(wheel["tool"]["setuptools"]["packages"])
        scripts |= set(wheel["project"]["scripts"])
    every = set(PROJECT["tool"]["setuptools"]["packages"])
    assert every - packaged == {p for p in every if p.startswith("posterm.hwsim")}
    assert set(PROJECT["project"]["scripts"]) - scripts == {"posterm-sim"}


def test_a_package_that_is_not_in_packages_toml_is_refused() -> None:
    """GIVEN a package name packages.toml does not know WHEN its wheel is asked for THEN
    it is refused with a message naming it and the known ones."""
    with pytest.raises(SystemExit, match=r"no package 'posterm-kiosk'.*'posterm-host'"):
        _select_src().pyproject("posterm-kiosk")
