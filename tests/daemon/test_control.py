"""The control socket with real Unix sockets: JSON lines both ways, mode 0660, bad lines
answered without reaching the handler, and clear client errors when nobody serves."""

from __future__ import annotations

import grp
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posterm.daemon import config
from posterm.daemon.control import client as control_client
from posterm.daemon.control.client import ControlClient, ControlError
from posterm.daemon.control.server import MAX_LINE, ControlServer


class Recorder:
    """A handler that echoes requests and remembers what reached it, and on which thread."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.requests.append(request)
            self.threads.add(threading.current_thread().name)
        if request.get("cmd") == "boom":
            raise RuntimeError("state owner gone")
        if request.get("cmd") == "list":
            return ["not", "an", "object"]  # type: ignore[return-value]
        return {"ok": True, "echo": request}


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: Unix socket paths are limited to 107 bytes."""
    with tempfile.TemporaryDirectory(prefix="pt-", dir="/tmp") as name:
        yield Path(name)


@pytest.fixture
def served(short_dir: Path) -> Iterator[tuple[ControlServer, Recorder]]:
    recorder = Recorder()
    server = ControlServer(short_dir / "run" / "control.sock", recorder)
    server.start()
    yield server, recorder
    server.stop()


class Raw:
    """A raw connection: bytes out, reply lines in."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(str(path))
        self.reader = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> dict[str, Any]:
        line = self.reader.readline()
        assert line.endswith(b"\n"), line
        return json.loads(line)  # type: ignore[no-any-return]

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def test_given_a_request_then_handle_answers_on_a_connection_thread(
    served: tuple[ControlServer, Recorder],
) -> None:
    server, recorder = served
    reply = ControlClient(server.path, timeout=30).request({"cmd": "status", "n": 1})
    assert reply == {"ok": True, "echo": {"cmd": "status", "n": 1}}
    assert recorder.requests == [{"cmd": "status", "n": 1}]
    assert recorder.threads == {"control-conn"}


def test_the_socket_is_mode_0660_in_a_created_directory(
    served: tuple[ControlServer, Recorder],
) -> None:
    server, _ = served
    info = os.stat(server.path)
    assert stat.S_ISSOCK(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o660


def test_lines_on_one_connection_are_answered_in_order(
    served: tuple[ControlServer, Recorder],
) -> None:
    server, _ = served
    raw = Raw(server.path)
    raw.send(b'{"n": 1}\n{"n": 2}\n')
    raw.send(b'{"n": 3}\r\n')
    assert [raw.reply()["echo"]["n"] for _ in range(3)] == [1, 2, 3]
    raw.close()


BAD_LINES = [
    (b"not json\n", "not JSON"),
    (b'{"cmd": "sale"\n', "not JSON"),
    (b"[1, 2]\n", "JSON object, not list"),
    (b'"sale"\n', "JSON object, not str"),
    (b"42\n", "JSON object, not int"),
    (b"null\n", "JSON object, not NoneType"),
    (b"\n", "empty line"),
    (b"   \n", "empty line"),
    (b'{"cmd": "\xff\xfe"}\n', "not UTF-8"),
    (b"{" + b" " * MAX_LINE + b"}\n", f"longer than {MAX_LINE} bytes"),
]


@pytest.mark.parametrize(("line", "why"), BAD_LINES)
def test_given_a_bad_line_then_an_error_reply_and_handle_is_not_called(
    served: tuple[ControlServer, Recorder], line: bytes, why: str
) -> None:
    """GIVEN a bad line WHEN sent THEN {"ok": false, "error": ...} comes back, handle never
    sees it, and the same connection still serves the next good line."""
    server, recorder = served
    raw = Raw(server.path)
    raw.send(line)
    reply = raw.reply()
    assert reply["ok"] is False and why in reply["error"], reply
    assert recorder.requests == []
    raw.send(b'{"after": true}\n')
    assert raw.reply() == {"ok": True, "echo": {"after": True}}
    raw.close()


def test_a_line_of_exactly_the_limit_is_served(served: tuple[ControlServer, Recorder]) -> None:
    server, recorder = served
    body = b'{"pad": "' + b"x" * (MAX_LINE - 12) + b'"}\n'
    assert len(body) == MAX_LINE
    raw = Raw(server.path)
    raw.send(body)
    assert raw.reply()["ok"] is True and len(recorder.requests) == 1
    raw.send(body[:-1] + b" \n" + b'{"n": 2}\n')  # one byte more: refused, then go on
    assert "longer than" in raw.reply()["error"]
    assert raw.reply()["echo"] == {"n": 2} and len(recorder.requests) == 2
    raw.close()


@pytest.mark.parametrize(
    ("cmd", "why"),
    [
        ("boom", "RuntimeError: state owner gone"),
        ("list", "TypeError: a reply is a JSON object, not list"),
    ],
)
def test_given_a_failing_handler_then_an_internal_error_reply_and_service_goes_on(
    served: tuple[ControlServer, Recorder], cmd: str, why: str
) -> None:
    server, _ = served
    client = ControlClient(server.path, timeout=30)
    reply = client.request({"cmd": cmd})
    assert reply == {"ok": False, "code": "internal", "error": why}
    assert client.request({"cmd": "ping"})["ok"] is True


def test_many_clients_at_once_each_get_their_own_replies(
    served: tuple[ControlServer, Recorder],
) -> None:
    server, recorder = served
    wrong: list[Any] = []

    def client(n: int) -> None:
        c = ControlClient(server.path, timeout=60)
        for i in range(20):
            reply = c.request({"client": n, "i": i})
            if reply != {"ok": True, "echo": {"client": n, "i": i}}:
                wrong.append(reply)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert wrong == [] and len(recorder.requests) == 160


@pytest.mark.slow
def test_a_client_in_another_process_is_served(served: tuple[ControlServer, Recorder]) -> None:
    server, _ = served
    code = (
        "import json, sys\n"
        "from posterm.daemon.control.client import ControlClient\n"
        "print(json.dumps(ControlClient(sys.argv[1], timeout=30).request({'cmd': 'status'})))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(server.path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(proc.stdout) == {"ok": True, "echo": {"cmd": "status"}}


def test_given_a_stale_socket_file_then_it_is_replaced(short_dir: Path) -> None:
    path = short_dir / "control.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # a socket file whose process is gone
    dead.close()
    with ControlServer(path, Recorder()) as server:
        assert ControlClient(path, timeout=30).request({"n": 1})["ok"] is True
        assert server.path == path


def test_given_a_live_server_then_a_second_refuses_to_steal_its_socket(
    served: tuple[ControlServer, Recorder],
) -> None:
    server, _ = served
    with pytest.raises(ControlError, match="another process is serving"):
        ControlServer(server.path, Recorder()).start()
    assert ControlClient(server.path, timeout=30).request({"still": "here"})["ok"] is True


def test_given_a_regular_file_at_the_path_then_it_is_not_removed(short_dir: Path) -> None:
    path = short_dir / "control.sock"
    path.write_text("precious")
    with pytest.raises(ControlError, match="exists and is not a socket"):
        ControlServer(path, Recorder()).start()
    assert path.read_text() == "precious"


def test_the_socket_group_is_set_and_an_unknown_group_refused(short_dir: Path) -> None:
    group = grp.getgrgid(os.getgid()).gr_name
    with ControlServer(short_dir / "a.sock", Recorder(), group=group) as server:
        assert os.stat(server.path).st_gid == os.getgid()
    with pytest.raises(ControlError, match="group 'no-such-group-xyz' does not exist"):
        ControlServer(short_dir / "b.sock", Recorder(), group="no-such-group-xyz").start()
    assert not (short_dir / "b.sock").exists()


def test_a_path_too_long_for_a_unix_socket_is_refused(short_dir: Path) -> None:
    path = short_dir / ("x" * 120)
    with pytest.raises(ControlError, match="longer than 107 bytes"):
        ControlServer(path, Recorder()).start()
    with pytest.raises(ControlError, match="longer than 107 bytes"):
        ControlClient(path).request({})


def test_stop_closes_connections_removes_the_file_and_is_idempotent(short_dir: Path) -> None:
    server = ControlServer(short_dir / "control.sock", Recorder())
    server.start()
    raw = Raw(server.path)
    raw.send(b'{"n": 1}\n')
    assert raw.reply()["ok"] is True
    server.stop()
    server.stop()
    assert raw.reader.readline() == b""  # the open connection was ended
    raw.close()
    assert not server.path.exists()
    with pytest.raises(ControlError, match="not running"):
        ControlClient(server.path, timeout=30).request({"n": 2})
    with pytest.raises(ControlError, match="starts once"):
        server.start()


def test_stop_leaves_a_socket_file_that_is_not_its_own(short_dir: Path) -> None:
    path = short_dir / "control.sock"
    server = ControlServer(path, Recorder())
    server.start()
    path.unlink()
    path.write_text("someone else's")
    server.stop()
    assert path.read_text() == "someone else's"


def test_beyond_max_clients_a_connection_gets_a_busy_reply(short_dir: Path) -> None:
    with ControlServer(short_dir / "control.sock", Recorder(), max_clients=1) as server:
        first = Raw(server.path)
        first.send(b'{"n": 1}\n')
        assert first.reply()["ok"] is True  # its connection thread is running now
        second = Raw(server.path)
        assert second.reply() == {"ok": False, "code": "busy", "error": "too many connections"}
        second.close()
        first.close()


def test_given_no_daemon_then_the_client_says_it_is_not_running(short_dir: Path) -> None:
    with pytest.raises(ControlError, match=r"not running \(no control socket at"):
        ControlClient(short_dir / "none.sock", timeout=30).request({"cmd": "status"})
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(short_dir / "dead.sock"))
    dead.close()
    with pytest.raises(ControlError, match=r"not running \(nothing listens at"):
        ControlClient(short_dir / "dead.sock", timeout=30).request({"cmd": "status"})
    (short_dir / "file").write_text("x")
    with pytest.raises(ControlError, match=r"not running \(nothing listens at"):
        ControlClient(short_dir / "file", timeout=30).request({"cmd": "status"})


@pytest.mark.parametrize(
    ("request_", "why"),
    [
        (["status"], "JSON object, not list"),
        ({"amount": 12.5j}, "not plain JSON"),
        ({"x": float("nan")}, "not plain JSON"),
    ],
)
def test_a_bad_request_is_refused_before_anything_is_sent(
    served: tuple[ControlServer, Recorder], request_: Any, why: str
) -> None:
    server, recorder = served
    with pytest.raises(ControlError, match=why):
        ControlClient(server.path, timeout=30).request(request_)
    assert recorder.requests == []


def fake_daemon(path: Path, answer: bytes | None) -> tuple[socket.socket, threading.Thread]:
    """A listener that reads one line and then answers `answer` (None: hangs up)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as reader:
            reader.readline()
            if answer is not None:
                conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (None, "closed the connection without an answer"),
        (b"<html>\n", "not JSON"),
        (b"[1]\n", "answered a list, not an object"),
    ],
)
def test_given_an_unusable_answer_then_a_clear_client_error(
    short_dir: Path, answer: bytes | None, why: str
) -> None:
    listener, thread = fake_daemon(short_dir / "fake.sock", answer)
    with pytest.raises(ControlError, match=why):
        ControlClient(short_dir / "fake.sock", timeout=30).request({"cmd": "status"})
    thread.join(30)
    listener.close()


def test_given_a_daemon_that_does_not_answer_then_the_client_times_out(short_dir: Path) -> None:
    release = threading.Event()

    def slow(request: dict[str, Any]) -> dict[str, Any]:
        release.wait(60)
        return {"ok": True}

    with ControlServer(short_dir / "control.sock", slow) as server:
        with pytest.raises(ControlError, match=r"no answer from postermd within 0\.5 s"):
            ControlClient(server.path, timeout=0.5).request({"cmd": "sale"})
        release.set()


def test_the_client_and_the_config_agree_on_the_socket_path_limit() -> None:
    """The client (which must not import the config: the CLI starts fast) and the config
    check the same sun_path limit."""
    assert control_client.SOCKET_PATH_MAX == config.SOCKET_PATH_MAX == 107
