"""A local HTTP server playing an SMS gateway for the notification tests: it keeps what
it got (headers and JSON body) and answers with the codes it is given, then 202."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any


class Gateway(BaseHTTPRequestHandler):
    answers: list[int] = []
    got: list[tuple[dict[str, str], dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Gateway.got.append((dict(self.headers), body))
        self.send_response(Gateway.answers.pop(0) if Gateway.answers else 202)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def sms_gateway() -> Iterator[str]:
    """The gateway's URL while it runs; `Gateway.got` starts empty."""
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    Gateway.answers, Gateway.got = [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/sms"
    finally:
        server.shutdown()
        server.server_close()
