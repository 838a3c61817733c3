"""The control socket: a Unix socket speaking JSON lines (one request object per line,
one reply object per line), mode 0660. A thread per connection hands each request to
`handle`, which runs it on the terminal's owner thread and waits for the reply."""

from __future__ import annotations

import contextlib
import grp
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("posterm.control")

MAX_LINE = 64 * 1024


class ControlError(Exception):
    """The daemon could not be reached, or answered something that is not JSON."""


def _error(message: str) -> dict[str, Any]:
    return {"ok": False, "code": "bad_request", "error": message}


class ControlServer:
    def __init__(
        self,
        path: str | Path,
        handle: Callable[[dict[str, Any]], dict[str, Any]],
        group: str | None = None,
    ) -> None:
        self.path = Path(path)
        self._handle = handle
        self._group = group
        self._sock: socket.socket | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(self.path))
        os.chmod(self.path, 0o660)
        if self._group:
            os.chown(self.path, -1, grp.getgrnam(self._group).gr_gid)
        sock.listen(16)
        self._sock = sock
        threading.Thread(target=self._accept, name="control", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader:
            while not self._stop.is_set():
                line = reader.readline(MAX_LINE + 1)
                if not line:
                    return
                reply = self._answer(line)
                try:
                    conn.sendall(json.dumps(reply).encode() + b"\n")
                except OSError:
                    return
                if len(line) > MAX_LINE:
                    return  # the rest of an oversize line is not worth reading

    def _answer(self, line: bytes) -> dict[str, Any]:
        if len(line) > MAX_LINE:
            return _error(f"request longer than {MAX_LINE} bytes")
        try:
            request = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(f"not JSON: {exc}")
        if not isinstance(request, dict):
            return _error("a request is a JSON object")
        try:
            return self._handle(request)
        except Exception as exc:  # the connection must get an answer, never a hang
            log.exception("control: request failed")
            return {"ok": False, "code": "internal", "error": f"{type(exc).__name__}: {exc}"}


class ControlClient:
    def __init__(self, path: str | Path, timeout: float = 300.0) -> None:
        self.path = Path(path)
        self.timeout = timeout

    def request(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(str(self.path))
                sock.sendall(json.dumps(request).encode() + b"\n")
                with sock.makefile("rb") as reader:
                    line = reader.readline()
        except FileNotFoundError as exc:
            raise ControlError(f"postermd is not running (no socket at {self.path})") from exc
        except ConnectionRefusedError as exc:
            raise ControlError(f"postermd is not running (nobody listens at {self.path})") from exc
        except OSError as exc:
            raise ControlError(f"control socket {self.path}: {exc}") from exc
        if not line:
            raise ControlError("postermd closed the connection without an answer")
        try:
            reply: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ControlError(f"postermd answered something that is not JSON: {exc}") from exc
        return reply
