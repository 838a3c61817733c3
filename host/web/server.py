"""`posterm-host run --http HOST:PORT`: uvicorn serving the dashboard in a thread of its
own, beside the service's loop. The socket is bound before the thread starts, so a port in
use is an error the caller sees."""

from __future__ import annotations

import logging
import socket
import threading

import uvicorn

from posterm.host.config import HostConfig
from posterm.host.service import HostService
from posterm.host.store import Store
from posterm.host.web import auth
from posterm.host.web.app import create_app

log = logging.getLogger("posterm.host.web")


class WebServer:
    def __init__(
        self, config: HostConfig, store: Store, service: HostService, address: tuple[str, int]
    ) -> None:
        """Binds `address` (OSError if it cannot); `auth.WebAuthError` for a bad secret."""
        secret = auth.session_secret(config.web.session_secret_file)
        app = create_app(config, store, service.send, secret)
        host, port = address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError:
            self.sock.close()
            raise
        self.address = self.sock.getsockname()[:2]
        # X-Forwarded-For (the login throttle's client) only from the configured proxies
        proxies = list(config.web.forwarded_allow_ips)
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                log_level="warning",
                access_log=False,
                proxy_headers=bool(proxies),
                forwarded_allow_ips=proxies or None,
                timeout_graceful_shutdown=3,
            )
        )
        self.thread = threading.Thread(target=self._serve, name="web", daemon=True)
        if not config.web.users:
            log.warning("web: no [[web.users]]: nobody can log in")

    def _serve(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except Exception:  # an I/O thread never dies silently
            log.exception("web: the server stopped")

    def start(self) -> None:
        self.thread.start()
        log.info("web: dashboard on http://%s:%s/", *self.address)

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()
