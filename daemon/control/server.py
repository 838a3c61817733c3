"""The control socket's transport: a Unix stream socket speaking JSON lines, mode 0660.

One request object per line, one reply object per line, in order. A thread per
connection calls `handle(request)`; `handle` hands the request to the state-owner thread
and waits for its reply. Malformed, non-object and oversize lines are answered with
`{"ok": false, ...}` without calling `handle`.
"""

from __future__ import annotations

import contextlib
import grp
import json
import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from posterm.daemon.control.client import ControlError, check_path
from posterm.protocol.errorcodes import ErrorCode

log = logging.getLogger("posterm.control")

MAX_LINE = 64 * 1024  # bytes of one request line, newline included
SOCKET_MODE = 0o660
JOIN_SECONDS = 10.0

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def error_reply(message: str, code: ErrorCode = ErrorCode.BAD_REQUEST) -> dict[str, Any]:
    return {"ok": False, "code": code, "error": message}


class ControlServer:
    def __init__(
        self,
        path: str | Path,
        handle: Handler,
        group: str | None = None,
        *,
        max_clients: int = 32,
    ) -> None:
        self.path = Path(path)
        self._handle = handle
        self._group = group
        self._max_clients = max_clients
        self._sock: socket.socket | None = None
        self._inode: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._acceptor: threading.Thread | None = None
        self._answering = 0  # requests between their line and their reply's last byte
        self._idle = threading.Condition(self._lock)

    def __enter__(self) -> ControlServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Bind (replacing a stale socket file), set mode and group, start accepting."""
        if self._sock is not None or self._stop.is_set():
            raise ControlError("a control server starts once")
        check_path(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ControlError(f"cannot create {self.path.parent}: {exc}") from exc
        self._remove_stale()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            sock.bind(str(self.path))
            info = os.stat(self.path)
            self._inode = (info.st_dev, info.st_ino)
            os.chmod(self.path, SOCKET_MODE)  # before listen(): nobody connects earlier
            if self._group:
                os.chown(self.path, -1, grp.getgrnam(self._group).gr_gid)
            sock.listen(16)
        except KeyError:
            self._abandon(sock)
            raise ControlError(f"control socket group {self._group!r} does not exist") from None
        except OSError as exc:
            self._abandon(sock)
            raise ControlError(f"cannot serve {self.path}: {exc}") from exc
        self._sock = sock
        self._acceptor = threading.Thread(target=self._accept, name="control", daemon=True)
        self._acceptor.start()
        log.info("control: listening on %s", self.path)

    def _remove_stale(self) -> None:
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(info.st_mode):
            raise ControlError(f"{self.path} exists and is not a socket: not removing it")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(5)
            try:
                probe.connect(str(self.path))
            except OSError:
                pass  # nobody listens: a socket left by a process that died
            else:
                raise ControlError(f"another process is serving {self.path}")
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _abandon(self, sock: socket.socket) -> None:
        sock.close()
        self._unlink_own()

    def _unlink_own(self) -> None:
        """Remove the socket file only if it is still the one this server made."""
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            return
        if (info.st_dev, info.st_ino) == self._inode:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def stop(self, grace: float = JOIN_SECONDS) -> None:
        """Stop accepting, let replies being written go out (within `grace` s), end open
        connections, remove the socket file (idempotent)."""
        self._stop.set()
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes accept() on Linux
            sock.close()
            self._unlink_own()
        deadline = time.monotonic() + grace
        with self._lock:
            self._idle.wait_for(lambda: self._answering == 0, grace)
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in [self._acceptor, *threads]:
            if thread is not None and thread is not threading.current_thread():
                thread.join(max(0.1, deadline - time.monotonic()))

    def _accept(self) -> None:
        sock = self._sock
        while sock is not None and not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with self._lock:
                busy = len(self._conns) >= self._max_clients
                if not busy:
                    self._conns.add(conn)
                    thread = threading.Thread(
                        target=self._serve, args=(conn,), name="control-conn", daemon=True
                    )
                    self._threads.add(thread)
            if busy:
                with contextlib.suppress(OSError), conn:
                    conn.sendall(_encode(error_reply("too many connections", ErrorCode.BUSY)))
                continue
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn, conn.makefile("rb") as reader:
                while not self._stop.is_set():
                    line = reader.readline(MAX_LINE + 1)
                    if not line:
                        return
                    with self._lock:
                        self._answering += 1
                    try:
                        if len(line) > MAX_LINE:
                            reply = error_reply(f"request line longer than {MAX_LINE} bytes")
                            self._skip_rest(reader, line)
                        else:
                            reply = self._answer(line)
                        conn.sendall(_encode(reply))
                    finally:
                        with self._lock:
                            self._answering -= 1
                            self._idle.notify_all()
        except OSError as exc:
            log.debug("control: connection ended: %s", exc)
        finally:
            with self._lock:
                self._conns.discard(conn)
                self._threads.discard(threading.current_thread())

    @staticmethod
    def _skip_rest(reader: Any, line: bytes) -> None:
        while line and not line.endswith(b"\n"):
            line = reader.readline(MAX_LINE)

    def _answer(self, line: bytes) -> dict[str, Any]:
        if not line.strip():
            return error_reply("empty line: send one JSON object per line")
        try:
            request = json.loads(line)
        except UnicodeDecodeError:
            return error_reply("request is not UTF-8 text")
        except (ValueError, RecursionError) as exc:  # also int()'s digit limit, deep nesting
            return error_reply(f"request is not JSON: {exc}")
        if not isinstance(request, dict):
            return error_reply(f"a request is a JSON object, not {type(request).__name__}")
        try:
            reply = self._handle(request)
            _encode(reply)
        except Exception as exc:  # the client gets an answer, and the thread lives on
            log.exception("control: request failed")
            return error_reply(f"{type(exc).__name__}: {exc}", ErrorCode.INTERNAL)
        return reply


def _encode(reply: Any) -> bytes:
    if not isinstance(reply, dict):
        raise TypeError(f"a reply is a JSON object, not {type(reply).__name__}")
    return json.dumps(reply, allow_nan=False).encode() + b"\n"
