"""systemd notify against a real Unix datagram socket (path and abstract namespace)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from posterm.daemon.notify import NotifyError, notify, watchdog_interval


@pytest.fixture
def listener(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A datagram socket standing in for systemd, with NOTIFY_SOCKET pointing at it."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(30)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def test_given_notify_socket_when_ready_and_status_then_one_datagram(
    listener: socket.socket,
) -> None:
    assert notify(READY="1", STATUS="ready: 0 in doubt") is True
    assert listener.recv(4096) == b"READY=1\nSTATUS=ready: 0 in doubt"
    assert notify(WATCHDOG=1) is True
    assert listener.recv(4096) == b"WATCHDOG=1"


def test_a_line_break_in_a_value_cannot_add_a_field(listener: socket.socket) -> None:
    assert notify(STATUS="fault: printer\nREADY=1")
    assert listener.recv(4096) == b"STATUS=fault: printer READY=1"


def test_non_ascii_status_goes_out_as_utf8(listener: socket.socket) -> None:
    assert notify(STATUS="Drucker: Papier leer — bitte nachfüllen")
    assert listener.recv(4096).decode("utf-8") == "STATUS=Drucker: Papier leer — bitte nachfüllen"


def test_given_an_abstract_socket_then_it_is_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"posterm-test-{os.getpid()}-{id(monkeypatch)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(30)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify(STOPPING="1")
        assert sock.recv(4096) == b"STOPPING=1"


def test_without_notify_socket_it_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify(READY="1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "")
    assert notify(READY="1") is False


@pytest.mark.parametrize("address", ["relative.sock", "vsock:2:1234"])
def test_an_unsupported_address_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, address: str
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    assert notify(READY="1") is False
    assert "unsupported NOTIFY_SOCKET" in caplog.text


def test_given_nobody_listening_then_false_and_logged_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone.sock"))
    assert notify(WATCHDOG="1") is False
    assert notify(WATCHDOG="1") is False
    assert caplog.text.count("gone.sock") == 1


@pytest.mark.parametrize("key", ["ready", "STATUS TEXT", "", "1READY", "A=B"])
def test_a_bad_field_name_is_refused_before_anything_is_sent(
    listener: socket.socket, key: str
) -> None:
    with pytest.raises(NotifyError, match="not a notify field name"):
        notify(**{key: "1"})
    listener.settimeout(0)
    with pytest.raises(BlockingIOError):
        listener.recv(4096)


@pytest.mark.parametrize(
    ("usec", "pid", "seconds"),
    [
        ("30000000", None, 15.0),
        ("1000000", "self", 0.5),
        ("1000000", "1", 0.0),  # meant for another process
        ("0", None, 0.0),
        ("-5", None, 0.0),
        ("soon", None, 0.0),
        (None, None, 0.0),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec(
    monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None, seconds: float
) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    if usec is not None:
        monkeypatch.setenv("WATCHDOG_USEC", usec)
    if pid is not None:
        monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()) if pid == "self" else pid)
    assert watchdog_interval() == seconds


@pytest.mark.slow
def test_a_child_process_notifies_like_a_service_would(listener: socket.socket) -> None:
    """GIVEN NOTIFY_SOCKET in the environment of a separate process (as systemd sets it)
    WHEN that process notifies THEN the datagram arrives."""
    code = (
        "from posterm.daemon.notify import notify\nraise SystemExit(0 if notify(READY='1') else 1)"
    )
    proc = subprocess.run([sys.executable, "-c", code], timeout=60, check=False)
    assert proc.returncode == 0
    assert listener.recv(4096) == b"READY=1"
