"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1, a free port): it keeps what
it accepts and can refuse the first N messages with a temporary error (451)."""

from __future__ import annotations

import email
import logging
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

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


class SmtpServer:
    def __init__(self, refuse: int = 0) -> None:
        self.mailbox = Mailbox(refuse)
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
