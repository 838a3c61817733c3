"""`posterm-host keys rotate`: an enrolled postermd, connected through a real Mosquitto,
learns the host's new signing key from a `keys.update` signed by the old one, and then
accepts signed commands from both keys for the window, from no other key."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from posterm.protocol.mqtt import commands, keyring
from tests.mqtt.conftest import TERMINALS
from tests.mqtt.test_enrol_tls import FleetHost, fleet_host
from tests.support.broker import wait_for
from tests.support.rig import make_rig
from tests.support.sim import BIN

pytestmark = pytest.mark.slow  # Mosquitto, posterm-host, postermd, the simulators

__all__ = ["fleet_host"]  # the fixture, shared with test_enrol_tls


def test_a_rotated_key_reaches_the_terminal_and_both_keys_sign_for_the_window(
    tmp_path: Path, fleet_host: FleetHost
) -> None:
    """GIVEN pos-a enrolled (its host.pub: the host's key) and online WHEN `posterm-host
    keys rotate --window 1h` runs THEN the terminal replies that it accepts the new key, its
    host.pub holds the new key and the old one `# until` an hour later, the host signs with
    the new key (its eod is run), a command signed with the old key is still run, and one
    signed by a key the host never had is refused as bad_signature."""
    tid = TERMINALS[0]
    pi = tmp_path / "pi"
    pi.mkdir()
    rig = make_rig(pi, link="tcp")
    try:
        fleet_host.enroll(tid, pi)
        rig.start()
        wait_for(
            lambda: (
                [r["terminal"] for r in json.loads(fleet_host.cli("fleet", "--json").stdout)]
                == [tid]
            ),
            "the terminal online at the host",
        )
        host_key = tmp_path / "keys" / "host.key"
        old_public = commands.load_private_key(host_key.read_bytes()).public_key()

        rotated = fleet_host.cli("keys", "rotate", "--window", "1h", "--json")

        assert rotated.returncode == 0, rotated.stdout + rotated.stderr
        report = json.loads(rotated.stdout)
        assert [(t["terminal"], t["ok"]) for t in report["terminals"]] == [(tid, True)]
        new_public = commands.load_private_key(host_key.read_bytes()).public_key()
        ring = keyring.parse((pi / "host.pub").read_bytes())
        assert [(k.key.public_bytes_raw(), k.until is None) for k in ring] == [
            (new_public.public_bytes_raw(), True),
            (old_public.public_bytes_raw(), False),
        ]
        assert "# until " + report["old_key_until"] in (pi / "host.pub").read_text()

        new_signed = fleet_host.cli("eod", tid, "--json")
        assert new_signed.returncode == 0, new_signed.stdout + new_signed.stderr

        def eod_signed_by(key_file: Path) -> subprocess.CompletedProcess[str]:
            config = tmp_path / f"host-{key_file.name}.toml"
            config.write_text(fleet_host.config.read_text().replace(str(host_key), str(key_file)))
            return subprocess.run(
                [str(BIN / "posterm-host"), "--config", str(config), "eod", tid, "--json"],
                capture_output=True,
                text=True,
                timeout=90,
                check=False,
            )

        old_signed = eod_signed_by(host_key.with_name("host.key.old"))
        assert old_signed.returncode == 0, old_signed.stdout + old_signed.stderr
        stranger = tmp_path / "stranger.key"
        stranger.write_bytes(commands.private_pem(Ed25519PrivateKey.generate()))
        refused = eod_signed_by(stranger)
        assert refused.returncode == 1
        assert json.loads(refused.stdout)["code"] == "bad_signature"
    finally:
        rig.close()
