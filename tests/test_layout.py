"""systemd/ holds what systemd reads (units, sysusers.d, tmpfiles.d, udev rules) and
install.sh; deploy/ holds what an installation configures (example configs, Mosquitto,
Prometheus, Grafana). Every `systemd/…` and `deploy/…` path the repository names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SYSTEMD_KINDS = (".service", ".sysusers", ".tmpfiles", ".rules")
# a checkout-relative path: not a part of /etc/systemd/…, /lib/systemd/…, /run/systemd/…
NAMED = re.compile(r"(?<![\w/.-])(?:systemd|deploy)/[\w.*-]+(?:/[\w.*-]+)*")
JOINED = re.compile(r'"(systemd|deploy)"((?:\s*/\s*"[\w.-]+")+)')  # ROOT / "deploy" / …
TEXTS = ("README.md", "CHANGELOG.md", "Makefile", "mkdocs.yml", ".ci/run")
TREES = (
    "docs",
    "packaging",
    "systemd",
    "deploy",
    "tests",
    "tools",
    "daemon",
    "host",
    "hw-sim",
    "bench",
)


def test_systemd_holds_only_what_systemd_reads_and_install_sh() -> None:
    """GIVEN the systemd/ folder WHEN listed THEN it has units, sysusers, tmpfiles and udev
    rules and install.sh, nothing else (configs and monitoring live in deploy/)."""
    others = sorted(
        p.name
        for p in (ROOT / "systemd").iterdir()
        if p.suffix not in SYSTEMD_KINDS and p.name != "install.sh"
    )
    assert others == []


def test_deploy_holds_the_configs_and_monitoring() -> None:
    """GIVEN the deploy/ folder THEN the example configs, the Mosquitto config and tools,
    the Prometheus rules and the Grafana board are there."""
    for name in (
        "posterm.toml.example",
        "posterm-host.toml.example",
        "mosquitto/posterm.conf",
        "mosquitto/make-certs.py",
        "mosquitto/make-dynsec.py",
        "prometheus/posterm-alerts.yml",
        "grafana/posterm-fleet.json",
    ):
        assert (ROOT / "deploy" / name).is_file(), name


def named_paths(text: str) -> list[str]:
    paths = [m.group(0).rstrip(".") for m in NAMED.finditer(text)]
    for m in JOINED.finditer(text):
        parts = re.findall(r'"([\w.-]+)"', m.group(2))
        paths.append("/".join([m.group(1), *parts]))
    return paths


def test_every_named_systemd_or_deploy_path_exists() -> None:
    """GIVEN the docs, scripts, packaging and tests WHEN every `systemd/…` or `deploy/…`
    path they name is looked up THEN it exists (a glob matches something)."""
    files = [ROOT / t for t in TEXTS if (ROOT / t).is_file()]
    files += [
        p
        for t in TREES
        for p in sorted((ROOT / t).rglob("*"))
        if p.is_file()
        and p.suffix in (".py", ".md", ".sh", ".service", ".yml", ".in", ".conf", ".example", "")
    ]
    missing = [
        f"{f.relative_to(ROOT)}: {name}"
        for f in files
        for name in named_paths(f.read_text(errors="replace"))
        if not list(ROOT.glob(name))
    ]
    assert missing == []


def test_the_path_scan_sees_paths_and_skips_system_ones() -> None:
    """GIVEN text naming checkout paths and system paths WHEN scanned THEN only the
    checkout's are taken (the test above cannot pass by seeing nothing)."""
    text = (
        "see deploy/mosquitto/posterm.conf and systemd/install.sh. Units go to "
        "/etc/systemd/system and /lib/systemd/system/posterm.service; "
        'ROOT / "deploy" / "posterm.toml.example"'
    )
    assert named_paths(text) == [
        "deploy/mosquitto/posterm.conf",
        "systemd/install.sh",
        "deploy/posterm.toml.example",
    ]
