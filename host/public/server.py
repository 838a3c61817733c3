"""The status page's listener (`[public] listen`): uvicorn in a thread of its own, the
socket bound first (a port in use is the caller's error); X-Forwarded-For names the client
only when it comes from `[public] forwarded_allow_ips`."""

from __future__ import annotations

import logging
import socket
import threading

import uvicorn

from posterm.host.public import keys
from posterm.host.public.app import create_app
from posterm.host.public.config import PublicSection, parse_bind
from posterm.host.store import Store

log = logging.getLogger("posterm.host.public")


class PublicServer:
    def __init__(self, section: PublicSection, store: Store) -> None:
        """Binds `[public] listen` (OSError if it cannot); PublicError without the key."""
        if section.listen is None:
            raise keys.PublicError("public.listen is not set")
        app = create_app(section, keys.load(section.key_file), store)
        host, port = parse_bind(section.listen)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
            self.sock.listen(128)  # a request before uvicorn runs waits in the backlog
        except OSError:
            self.sock.close()
            raise
        self.address = self.sock.getsockname()[:2]
        proxies = list(section.forwarded_allow_ips)
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                log_level="warning",
                access_log=False,  # a token in a log is a key to the page
                proxy_headers=bool(proxies),
                forwarded_allow_ips=proxies or None,
                server_header=False,
                timeout_graceful_shutdown=3,
            )
        )
        self.thread = threading.Thread(target=self._serve, name="public", daemon=True)

    def _serve(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except Exception:  # an I/O thread never dies silently
            log.exception("public: the server stopped")

    def start(self) -> None:
        self.thread.start()
        log.info("public: refund status page on http://%s:%s/", *self.address)

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()
