"""`posterm`, the operator's CLI, starts without loading the daemon: a `posterm sale` at
the counter (and every status poll of a script) pays for the control socket's client, not
for the config schemas, the ZVT client or the MQTT wire schemas."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # a fresh interpreter (tests/support/tiers.py)

HEAVY = (
    "posterm.daemon.config",
    "posterm.daemon.terminal",
    "posterm.drivers.zvt",
    "posterm.protocol.mqtt",
    "posterm.protocol.zvt",
    "posterm.daemon.control.server",
)


def loaded_by(module: str) -> list[str]:
    code = (
        f"import json, sys, {module}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('posterm.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return list(json.loads(out))


def test_the_operator_cli_loads_none_of_the_daemon() -> None:
    """GIVEN a fresh interpreter WHEN it imports the `posterm` CLI THEN none of the
    daemon's heavy modules is loaded (they load in `posterm zvt`, `posterm debug`)."""
    loaded = loaded_by("posterm.daemon.control.cli")
    assert "posterm.daemon.control.client" in loaded
    assert [m for m in loaded if m.startswith(HEAVY)] == []


def test_the_check_sees_a_heavy_module() -> None:
    """GIVEN the daemon's process module WHEN the same check runs on it THEN it finds the
    heavy modules (the check can fail)."""
    loaded = loaded_by("posterm.daemon.process")
    assert "posterm.daemon.config" in loaded and "posterm.daemon.terminal" in loaded
