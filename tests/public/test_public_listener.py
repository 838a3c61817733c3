"""`posterm-host run` starts the status page's listener when `[public] listen` is set, and
`posterm-host public serve` runs it alone (behind a reverse proxy): the real CLI processes,
asked over HTTP."""

from __future__ import annotations

import http.client
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from posterm.host.public import keys
from tests.support.broker import Broker, accepts, free_port, wait_for
from tests.support.sim import BIN

pytestmark = pytest.mark.slow  # the tests start posterm-host (tests/support/tiers.py)


def get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        return answer.status, answer.read().decode()
    finally:
        conn.close()


def config(tmp_path: Path, mqtt_url: str, port: int) -> Path:
    path = tmp_path / "host.toml"
    path.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "{mqtt_url}"\n'
        f'[store]\nurl = "sqlite://{tmp_path / "host.db"}"\n'
        f'[public]\nurl = "https://r.example.net"\nmerchant_name = "Shop"\n'
        f'merchant_contact = "call us"\nlisten = "127.0.0.1:{port}"\n'
        f'key_file = "{tmp_path / "link.key"}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def host_proc(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(15)


def launch(procs: list[subprocess.Popen[str]], log: Path, *args: str) -> subprocess.Popen[str]:
    out = log.open("w")
    proc = subprocess.Popen([str(BIN / "posterm-host"), *args], stdout=out, stderr=out, text=True)
    procs.append(proc)
    return proc


def test_run_serves_the_status_page_on_public_listen(
    tmp_path: Path, broker: Broker, host_proc: list[subprocess.Popen[str]]
) -> None:
    """GIVEN [public] listen and its key WHEN `posterm-host run` starts THEN the page's
    listener answers (an unknown link: 404 "Not found or expired"); without the key, run
    exits 1 naming `public init`."""
    port = free_port()
    path = config(tmp_path, broker.url, port)
    log = tmp_path / "host.log"
    proc = launch(host_proc, log, "--config", str(path), "run")
    assert proc.wait(60) == 1
    assert "public init" in log.read_text()
    keys.init(tmp_path / "link.key")
    proc = launch(host_proc, log, "--config", str(path), "run")
    wait_for(lambda: accepts(proc, port, log), "the status page to listen")
    status, body = get(port, "/r/nothing")
    assert status == 404 and "Not found or expired" in body


def test_public_serve_runs_the_page_alone_and_stops_on_sigterm(
    tmp_path: Path, host_proc: list[subprocess.Popen[str]]
) -> None:
    """GIVEN [public] with its key WHEN `posterm-host public serve` runs (no broker) THEN it
    answers on listen, and SIGTERM ends it with exit 0."""
    port = free_port()
    path = config(tmp_path, "mqtt://127.0.0.1:1", port)
    keys.init(tmp_path / "link.key")
    log = tmp_path / "serve.log"
    proc = launch(host_proc, log, "--config", str(path), "public", "serve")
    wait_for(lambda: accepts(proc, port, log), "public serve to listen")
    assert get(port, "/r/x")[0] == 404
    proc.terminate()
    assert proc.wait(15) == 0
