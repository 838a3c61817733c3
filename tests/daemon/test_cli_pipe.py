"""`posterm … | head` and `posterm-host … | head`: a reader that goes away early ends the
CLI quietly (exit 141, nothing on stderr), never with a BrokenPipeError traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.sim import BIN


def run_with_reader_gone(argv: list[str], stdin: str = "") -> tuple[int, str]:
    """Start the CLI with stdout a pipe whose only reader is closed before it writes."""
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader goes away (as `head` does) before the CLI has started
    proc.stdin.write(stdin)
    proc.stdin.close()
    err = proc.stderr.read()
    return proc.wait(timeout=60), err


@pytest.mark.slow
def test_posterm_host_with_its_reader_gone_exits_quietly(tmp_path: Path) -> None:
    """GIVEN `posterm-host hash-password` with stdout's reader gone WHEN it prints the hash
    THEN exit 141 (128 + SIGPIPE) and nothing on stderr (no BrokenPipeError traceback)."""
    config = tmp_path / "host.toml"
    config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1"\n'
        f'[store]\nurl = "sqlite://{tmp_path / "host.db"}"\n'
    )
    argv = [str(BIN / "posterm-host"), "--config", str(config), "hash-password"]
    assert run_with_reader_gone(argv, "a-long-password\n") == (141, "")


@pytest.mark.slow
def test_posterm_with_its_reader_gone_exits_quietly(tmp_path: Path) -> None:
    """GIVEN `posterm debug` with stdout's reader gone WHEN it prints the bundle's name
    THEN exit 141 and nothing on stderr."""
    config = tmp_path / "posterm.toml"
    config.write_text(
        '[terminal]\nid = "pos-1"\n[payment]\nurl = "tcp://127.0.0.1:20007"\n'
        f'[printer]\nurl = "tcp://127.0.0.1:9100"\n[journal]\npath = "{tmp_path / "j.db"}"\n'
    )
    argv = [str(BIN / "posterm"), "debug", "--config", str(config)]
    argv += ["--output", str(tmp_path / "bundle.tar.gz")]
    assert run_with_reader_gone(argv) == (141, "")
