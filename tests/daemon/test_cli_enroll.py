"""`posterm enroll` refusing before anything is written: a URL that is not http(s), a
relative config dir (exit 2), a back office that cannot be reached (exit 1). The enrolment
itself against a real posterm-host: tests/host/test_enrol_e2e.py, tests/mqtt/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posterm.daemon.control.cli import main
from tests.support.broker import free_port


@pytest.mark.parametrize(
    ("url", "directory", "said"),
    [
        ("ftp://backoffice/", None, "https:// URL"),
        ("https://backoffice/", "relative/dir", "absolute path"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, directory: str | None, said: str
) -> None:
    """GIVEN a bad URL or a relative --config-dir WHEN `posterm enroll` runs THEN exit 2,
    the message says what is wanted, no file is written."""
    where = directory or str(tmp_path / "etc")
    assert main(["enroll", url, "CODE", "--config-dir", where]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "etc").exists()


def test_an_unreachable_back_office_exits_1_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN nothing listening on the URL's port WHEN `posterm enroll --json` runs THEN exit
    1 with {ok: false, error} naming the URL, and the config dir is not created."""
    url = f"http://127.0.0.1:{free_port()}/"
    assert main(["enroll", url, "CODE", "--config-dir", str(tmp_path / "etc"), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and "127.0.0.1" in out["error"]
    assert not (tmp_path / "etc").exists()
