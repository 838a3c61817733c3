"""`posterm debug`: the support bundle of a running terminal has every part, and no
secret — not the PT password, not the MQTT user name or password — and no card data."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.support.rig import BIN, Rig, make_rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

PT_PASSWORD = "482916"
MQTT_USER = "pos-user-7731"
MQTT_PASSWORD = "s3cr3t-mqtt-pw"
PARTS = {
    "README.txt",
    "config.toml",
    "config.json",
    "status.json",
    "health.json",
    "journal-summary.json",
    "log.txt",
    "versions.json",
    "devices.txt",
}


def debug(rig: Rig, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "posterm"),
            "--socket",
            str(rig.socket),
            "debug",
            "--config",
            str(rig.config),
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def members(bundle: Path) -> dict[str, str]:
    with tarfile.open(bundle) as tar:
        return {
            Path(m.name).name: tar.extractfile(m).read().decode()  # type: ignore[union-attr]
            for m in tar.getmembers()
        }


def test_bundle_of_a_running_terminal_without_secrets(tmp_path: Path) -> None:
    password_file = tmp_path / "mqtt-password"
    password_file.write_text(MQTT_PASSWORD + "\n")
    mqtt = (
        f'\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\nusername = "{MQTT_USER}"\n'
        f'password_file = "{password_file}"\n'
    )
    rig = make_rig(tmp_path, pt_args=("--password", PT_PASSWORD), extra_config=mqtt)
    with_password = f'timeout_s = 20\npassword = "{PT_PASSWORD}"'
    rig.config.write_text(rig.config.read_text().replace("timeout_s = 20", with_password))
    try:
        rig.start()
        code, sale = rig.cli("sale", "12.34")
        assert code == 0, sale
        done = debug(rig, tmp_path / "bundle.tar.gz")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == str(tmp_path / "bundle.tar.gz")
        parts = members(tmp_path / "bundle.tar.gz")
        assert set(parts) == PARTS
        everything = "\n".join(parts.values())
        for secret in (PT_PASSWORD, MQTT_USER, MQTT_PASSWORD):
            assert secret not in everything, secret
        assert sale["masked_pan"] not in everything  # no card data, masked or not
        assert 'password = "[removed]"' in parts["config.toml"]
        assert f'password_file = "{password_file}"' in parts["config.toml"]  # a path only
        summary = json.loads(parts["journal-summary.json"])
        assert ["sale", "approved", 1] in summary["txns_by_kind_state"]
        status = json.loads(parts["status.json"])
        assert status["running"] and status["result"]["state"] == "ready"
        assert "clock" in status["result"]["health"]
        config = json.loads(parts["config.json"])
        assert config["payment"]["password"] == "[removed]"
        assert config["mqtt"]["username"] == "[removed]"
        assert json.loads(parts["versions.json"])["packages"]["posterm"]
        assert "payment.url = serial://" in parts["devices.txt"]
        assert parts["log.txt"].strip()  # journald's lines, or why there are none
    finally:
        rig.close()


def test_bundle_without_postermd_says_so(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    try:
        done = debug(rig, tmp_path / "b.tar.gz")
        assert done.returncode == 0, done.stderr
        parts = members(tmp_path / "b.tar.gz")
        assert json.loads(parts["status.json"])["running"] is False
        assert "no journal" in parts["journal-summary.json"]
    finally:
        rig.close()
