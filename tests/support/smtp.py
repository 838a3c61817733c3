"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1, a free port): it keeps what
it accepts and can refuse the first N messages with a temporary error (451). With `tls`
it offers STARTTLS (and requires it); with `auth` it offers AUTH (also in clear when there
is no TLS, as a careless server does) and keeps the logins it was given."""

from __future__ import annotations

import email
import logging
import ssl
import subprocess
import sys
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.broker import free_port

# aiosmtpd logs every SMTP line at INFO from its own thread, into whatever stream pytest
# captured when the server started (closed by the next test: "Logging error" noise)
logging.getLogger("mail.log").setLevel(logging.WARNING)


class Mailbox:
    """The server's handler: refuses `refuse` DATA commands, then accepts."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.refused = 0
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refused < self.refuse:
            self.refused += 1
            return "451 4.3.0 try again later"
        parsed = email.message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


MAKE_CERTS = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "make-certs.py"


def private_ca(out: Path) -> ssl.SSLContext:
    """A private CA in `out` (`ca.crt`) and the server context of a certificate it signed
    for 127.0.0.1 (made by deploy/mosquitto/make-certs.py)."""
    subprocess.run(
        [sys.executable, str(MAKE_CERTS), str(out), "--server-name", "127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(out / "server.crt", out / "server.key")
    return context


class SmtpServer:
    def __init__(
        self, refuse: int = 0, *, tls: ssl.SSLContext | None = None, auth: bool = False
    ) -> None:
        self.mailbox = Mailbox(refuse)
        self.port = free_port()
        self.logins: list[tuple[str, str]] = []  # (user, password) the server was given
        extra: dict[str, Any] = {}
        if tls is not None:
            extra.update(tls_context=tls, require_starttls=True)
        if auth:
            extra.update(authenticator=self._authenticate, auth_require_tls=tls is not None)
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **extra)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=True)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
