"""The client side of postermd's control socket: one JSON request line, one JSON reply
line per connection. Kept apart from the server (and from the config) so that `posterm`,
the operator's CLI, starts without importing the daemon: on a Pi every import is felt at
the counter."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

SOCKET_PATH_MAX = 107  # sun_path on Linux, less the NUL (daemon/config.py checks the same: a test)
MAX_REPLY = 64 * 1024 * 1024  # what the client accepts as one reply line


class ControlError(Exception):
    """The control socket cannot be served or reached, or answered something unusable."""


def check_path(path: Path) -> None:
    if len(os.fsencode(path)) > SOCKET_PATH_MAX:
        raise ControlError(f"control socket path {path} is longer than {SOCKET_PATH_MAX} bytes")


class ControlClient:
    """One request per connection: `request(obj)` sends a line and reads one reply line."""

    def __init__(self, path: str | Path, timeout: float = 300.0) -> None:
        self.path = Path(path)
        self.timeout = timeout

    def request(self, request: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(request, dict):
            raise ControlError(f"a request is a JSON object, not {type(request).__name__}")
        try:
            payload = json.dumps(request, allow_nan=False).encode() + b"\n"
        except (TypeError, ValueError) as exc:
            raise ControlError(f"the request is not plain JSON: {exc}") from exc
        check_path(self.path)
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(str(self.path))
                sock.sendall(payload)
                with sock.makefile("rb") as reader:
                    line = reader.readline(MAX_REPLY)
        except FileNotFoundError:
            raise ControlError(
                f"postermd is not running (no control socket at {self.path})"
            ) from None
        except ConnectionRefusedError:
            raise ControlError(
                f"postermd is not running (nothing listens at {self.path})"
            ) from None
        except PermissionError:
            raise ControlError(
                f"no permission to use {self.path} (is this user in the socket's group?)"
            ) from None
        except TimeoutError:
            raise ControlError(f"no answer from postermd within {self.timeout:g} s") from None
        except OSError as exc:
            raise ControlError(f"control socket {self.path}: {exc}") from exc
        if not line:
            raise ControlError("postermd closed the connection without an answer")
        try:
            reply = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ControlError(f"postermd answered something that is not JSON: {exc}") from exc
        if not isinstance(reply, dict):
            raise ControlError(f"postermd answered a {type(reply).__name__}, not an object")
        return reply
