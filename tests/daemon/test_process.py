"""postermd as an object, in this process: `Daemon.build(config)`, `run()` on a thread,
`stop()`; on the fake payment adapter and the printer simulator (in-process, TCP)."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from posterm.daemon.config import Config, load_config
from posterm.daemon.control.client import ControlClient, ControlError
from posterm.daemon.journal.store import Journal
from posterm.daemon.process import Daemon, DaemonError
from posterm.drivers.payment.fake import FakePort
from posterm.hwsim.printer.device import SimPrinter
from posterm.hwsim.printer.paper import PaperOut
from posterm.hwsim.printer.server import PrinterServer

CONFIG = """
[terminal]
id = "pos-proc"
currency = "EUR"
merchant_name = "Test Shop"

[journal]
path = "{tmp}/journal.db"

[payment]
protocol = "fake"
url = "fake://"

[printer]
url = "tcp://127.0.0.1:{printer_port}"
timeout_s = 2
boot_slip = false

[system]
update_lock = "{tmp}/update.lock"
stop_timeout_s = 10

[control]
socket = "{socket}"
"""


def _until(check: Callable[[], bool], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """Unix socket paths are limited to 107 bytes: the socket lives under /tmp."""
    with tempfile.TemporaryDirectory(prefix="pd-", dir="/tmp") as name:
        yield Path(name)


@pytest.fixture
def printer_port(tmp_path: Path) -> Iterator[int]:
    server = PrinterServer(SimPrinter(PaperOut(tmp_path / "paper")))
    yield server.listen_tcp("127.0.0.1", 0)
    server.stop()


def _config(tmp_path: Path, socket: Path, printer_port: int) -> Config:
    path = tmp_path / "posterm.toml"
    text = CONFIG.format(tmp=tmp_path, socket=socket, printer_port=printer_port)
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def _answers(client: ControlClient) -> bool:
    try:
        client.request({"cmd": "journal"})
    except ControlError:
        return False
    return True


def test_build_run_sell_and_stop(tmp_path: Path, short_dir: Path, printer_port: int) -> None:
    """GIVEN a daemon built from a config (fake PT, simulated printer), run on a thread
    WHEN the control socket asks for a sale of 12.50, then stop() is called
    THEN the sale is answered approved with its receipt printed; run() returns; the
    control socket is gone; the journal, opened again, holds the sale approved and its
    customer receipt printed."""
    socket = short_dir / "control.sock"
    daemon = Daemon.build(_config(tmp_path, socket, printer_port))
    runner = threading.Thread(target=daemon.run, name="postermd")
    runner.start()
    try:
        client = ControlClient(socket, timeout=30)
        assert _until(lambda: _answers(client))
        reply = client.request({"cmd": "sale", "amount": "12.50"})
    finally:
        daemon.stop()
        runner.join(30)
    assert not runner.is_alive()
    assert reply["ok"] is True, reply
    sale = reply["result"]
    assert (sale["state"], sale["amount"], sale["receipt_state"]) == (
        "approved",
        "12.50",
        "printed",
    )
    assert not socket.exists()
    with closing(Journal(tmp_path / "journal.db", "pos-proc")) as journal:
        assert journal.txn(sale["txn_id"]).state == "approved"
        receipts = journal.receipts_of(sale["txn_id"])
        assert [(r.copy, r.state) for r in receipts] == [("customer", "printed")]


def test_an_unusable_journal_stops_the_build(
    tmp_path: Path, short_dir: Path, printer_port: int
) -> None:
    """GIVEN a config whose journal path is a directory
    WHEN the daemon is built
    THEN DaemonError says the journal cannot be opened, naming the path."""
    (tmp_path / "journal.db").mkdir()
    with pytest.raises(DaemonError) as caught:
        Daemon.build(_config(tmp_path, short_dir / "control.sock", printer_port))
    assert str(caught.value).startswith("cannot open the journal: ")
    assert "journal.db is a directory" in str(caught.value)


def test_a_control_socket_it_cannot_open_ends_run_with_everything_stopped(
    tmp_path: Path, short_dir: Path, printer_port: int
) -> None:
    """GIVEN a daemon whose control socket would live under a regular file
    WHEN it runs
    THEN run() raises DaemonError naming the control socket; the terminal takes no more
    work and its payment terminal link is closed."""
    (short_dir / "file").write_text("not a folder", encoding="utf-8")
    daemon = Daemon.build(_config(tmp_path, short_dir / "file" / "control.sock", printer_port))
    with pytest.raises(DaemonError) as caught:
        daemon.run()
    assert str(caught.value).startswith("cannot open the control socket: ")
    assert not daemon.terminal.owner.accepting
    assert isinstance(daemon.terminal.pt, FakePort) and not daemon.terminal.pt.connected
