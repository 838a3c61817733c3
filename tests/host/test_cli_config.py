"""`posterm-host` without `--config` reads the packaged path, /etc/posterm/posterm-host.toml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posterm.host import cli


def test_without_config_the_packaged_path_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a host config at the default path (moved into tmp) WHEN `posterm-host fleet
    --json` runs without --config THEN it reads that file: exit 0, an empty fleet."""
    config = tmp_path / "posterm-host.toml"
    config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1"\n'
        f'[store]\nurl = "sqlite://{tmp_path / "host.db"}"\n'
    )
    monkeypatch.setattr(cli, "DEFAULT_CONFIG", config)
    assert cli.main(["fleet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_missing_default_config_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN no file at the default path WHEN `posterm-host fleet` runs without --config
    THEN exit 2 and the message names the path it tried."""
    missing = tmp_path / "etc" / "posterm-host.toml"
    monkeypatch.setattr(cli, "DEFAULT_CONFIG", missing)
    assert cli.main(["fleet"]) == 2
    assert str(missing) in capsys.readouterr().err


def test_the_default_is_the_packaged_path() -> None:
    """GIVEN the parser THEN --config defaults to where the package installs the file."""
    assert cli.build_parser().parse_args(["fleet"]).config == Path("/etc/posterm/posterm-host.toml")
