"""The simulators' control channel: one JSON object per line over TCP, both ways."""

from __future__ import annotations

import argparse
import json
import socket
from typing import Any
from urllib.parse import urlsplit


def hostport(url: str) -> tuple[str, int]:
    """`tcp://HOST:PORT` as an argparse type."""
    parts = urlsplit(url)
    if parts.scheme != "tcp" or parts.hostname is None or parts.port is None:
        raise argparse.ArgumentTypeError(f"{url!r}: expected tcp://HOST:PORT")
    return parts.hostname, parts.port


def request(address: tuple[str, int], message: dict[str, Any]) -> dict[str, Any]:
    with socket.create_connection(address, timeout=10) as conn:
        conn.sendall((json.dumps(message) + "\n").encode())
        with conn.makefile("r", encoding="utf-8") as stream:
            reply: dict[str, Any] = json.loads(stream.readline())
    return reply
