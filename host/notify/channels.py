"""The two ways a refund's message reaches the customer: e-mail over SMTP (`smtp://` with
STARTTLS, or `smtps://`; the certificate verified; plain text only when the config says
`smtp_security = "none"`), and SMS through an HTTP gateway
described in the config (URL, an auth header read from a file, a JSON body template),
since SMS providers differ. A failure says whether trying again may help."""

from __future__ import annotations

import json
import smtplib
import ssl
import string
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from posterm.host.delivery.outbox import ChannelError
from posterm.host.notify.templates import Message

__all__ = ["ChannelError", "SmsGateway", "Smtp"]  # ChannelError: the delivery queue's

SECURITY = ("tls", "none")  # tls: STARTTLS on smtp://, implicit TLS on smtps://


@dataclass(frozen=True)
class Smtp:
    url: str  # smtp://HOST[:PORT] or smtps://HOST[:PORT]
    sender: str  # the From address
    user: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    timeout_s: float = 20.0
    security: str = "tls"  # "none": a plain connection, the password and mail in clear

    def send(self, to: str, message: Message, message_id: str) -> None:
        with self.session() as session:
            session.send(to, message, message_id)

    @contextmanager
    def session(self) -> Iterator[_SmtpSession]:
        """One connection for several messages (a burst of refunds)."""
        parts = urlsplit(self.url)
        secure = parts.scheme == "smtps"
        host, port = parts.hostname or "", parts.port or (465 if secure else 25)
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        try:
            client: smtplib.SMTP
            if secure:
                client = smtplib.SMTP_SSL(host, port, timeout=self.timeout_s, context=context)
            else:
                client = smtplib.SMTP(host, port, timeout=self.timeout_s)
            client.ehlo()
            if not secure and self.security != "none":
                if not client.has_extn("starttls"):
                    client.close()
                    # a server that does not offer it, or someone in between who removed it
                    # from the reply: neither the password nor the customer's mail go in clear
                    raise ChannelError(
                        f"SMTP {host}:{port} offers no STARTTLS: nothing sent"
                        " in clear (smtps:// for implicit TLS, or"
                        ' [notify] smtp_security = "none")',
                        temporary=False,
                    )
                client.starttls(context=context)
                client.ehlo()
            if self.user is not None and self.password_file is not None:
                client.login(self.user, _secret(self.password_file))
        except smtplib.SMTPResponseException as exc:
            raise ChannelError(
                f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}",
                temporary=not 500 <= exc.smtp_code < 600,
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise ChannelError(
                f"SMTP {host}:{port}: certificate not trusted"
                f" ({exc.verify_message}; [notify] smtp_ca_file for a private"
                " CA)",
                temporary=True,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP: {exc}", temporary=True) from None
        try:
            yield _SmtpSession(self, client)
        finally:
            with suppress(smtplib.SMTPException, OSError):
                client.quit()


class _SmtpSession:
    def __init__(self, smtp: Smtp, client: smtplib.SMTP) -> None:
        self.smtp, self.client = smtp, client

    def send(self, to: str, message: Message, message_id: str) -> None:
        sender = self.smtp.sender
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = sender, to, message.subject
        mail["Date"] = formatdate(localtime=False)
        # one id per notification, the same at every attempt (make_msgid's has the time and
        # the pid in it): a server or a mailbox may drop a second copy
        mail["Message-ID"] = f"<{message_id}@{sender.split('@')[-1]}>"
        mail.set_content(message.text)
        mail.add_alternative(message.html, subtype="html")
        try:
            self.client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise ChannelError(
                f"SMTP refused the recipient ({codes})",
                temporary=all(400 <= c < 500 for c in codes),
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise ChannelError(
                f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}",
                temporary=not 500 <= exc.smtp_code < 600,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP: {exc}", temporary=True) from None


@dataclass(frozen=True)
class SmsGateway:
    """`body` is a JSON object whose string values may hold `$to`, `$text`, `$id`."""

    @contextmanager
    def session(self) -> Iterator[SmsGateway]:
        yield self  # a request per message

    url: str
    body: dict[str, Any]
    auth_header_file: Path | None = None  # one line: "Authorization: Bearer …"
    timeout_s: float = 20.0

    def send(self, to: str, message: Message, message_id: str) -> None:
        payload = _fill(self.body, {"to": to, "text": message.sms, "id": message_id})
        request = urllib.request.Request(self.url, data=json.dumps(payload).encode(), method="POST")
        request.add_header("Content-Type", "application/json")
        request.add_header("Idempotency-Key", message_id)
        if self.auth_header_file is not None:
            name, _, value = _secret(self.auth_header_file).partition(":")
            request.add_header(name.strip(), value.strip())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                answer.read()
        except urllib.error.HTTPError as exc:
            raise ChannelError(
                f"SMS gateway HTTP {exc.code}", temporary=exc.code >= 500 or exc.code == 429
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ChannelError(f"SMS gateway: {exc}", temporary=True) from None


def _fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return string.Template(template).safe_substitute(values)
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


def _secret(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ChannelError(f"cannot read {path}: {exc.strerror}", temporary=True) from None


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
