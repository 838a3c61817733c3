"""`[notify]` of the host's config: who the message is from and how it travels.

[notify]
merchant_name = "Café Beispiel"      # required: the message's sender in words
lang = "en"                          # when the refund names none: en, de or zh
timezone = "Europe/Berlin"           # the message's date and time
keep_days = 30                       # an undelivered contact is forgotten after this
max_attempts = 8                     # then the notification is `failed`, with the reason
first_retry_s = 30                   # back-off: doubles from this ...
max_retry_s = 3600                   # ... up to this
smtp_url = "smtp://mail.example.net:587"   # STARTTLS required; or smtps://HOST:465
smtp_security = "tls"                # the default: STARTTLS or implicit TLS, the server's
                                     # certificate verified; "none" (smtp:// only): a plain
                                     # connection, password and mail in clear (a relay on
                                     # localhost)
from = "refunds@example.net"         # the e-mail sender (required with smtp_url)
smtp_user = "refunds"                # optional, with smtp_password_file
smtp_password_file = "/etc/posterm/smtp-password"  # its password, in a file
smtp_ca_file = "/etc/posterm/smtp-ca.crt"  # optional: a private CA
[notify.sms]                         # optional: an HTTP SMS gateway
url = "https://sms.example.net/v1/messages"  # required: the gateway's POST URL
auth_header_file = "/etc/posterm/sms-auth"  # one line: "Authorization: Bearer …"
body = { to = "$to", text = "$text", reference = "$id" }  # the JSON body: $to, $text
timeout_s = 20                       # one request's time limit, seconds
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from posterm.host.delivery import backoff
from posterm.host.notify.channels import SECURITY, SmsGateway, Smtp
from posterm.protocol import config as kit
from posterm.protocol.config import Refused, Section, between, one_of, seconds, text
from posterm.protocol.contact import EMAIL, LANGS


class NotifyConfigError(kit.ConfigError):
    """`[notify]` cannot be used: `key` (dotted) and `why`."""


@dataclass(frozen=True)
class NotifyConfig:
    merchant_name: str
    lang: str
    zone: ZoneInfo
    keep_days: int
    max_attempts: int
    first_retry_s: float
    max_retry_s: float
    smtp: Smtp | None
    sms: SmsGateway | None

    def delay(self, attempts: int) -> float:
        """Seconds before the next attempt after `attempts` failed ones (the delivery
        queue's one back-off)."""
        return backoff.delay(attempts, self.first_retry_s, self.max_retry_s)


HttpUrl = Annotated[str, text(r"https?://[^\s/]+(/\S*)?", "http(s)://HOST/PATH", 2000)]
SmtpUrl = Annotated[
    str, text(r"smtps?://[A-Za-z0-9.-]+(:\d{1,5})?/?", "smtp://HOST[:PORT] or smtps://HOST[:PORT]")
]


class SmsTable(Section, frozen=True):
    """`[notify.sms]`: an HTTP SMS gateway."""

    url: HttpUrl
    body: dict[str, Any]  # the JSON body: $to, $text (and $id) in its values
    auth_header_file: Path | None = None
    timeout_s: Annotated[float, seconds(0.5, 300)] = 20.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.body:
            raise Refused("required: a table whose values use $to, $text", "body")
        if "$to" not in str(self.body) or "$text" not in str(self.body):
            raise Refused("must use $to and $text", "body")
        kit.require_file(self.auth_header_file, "auth_header_file")


class NotifyTable(Section, frozen=True):
    """`[notify]` as the file writes it."""

    merchant_name: Annotated[str, text(max_len=64)]
    lang: Annotated[str, one_of(*LANGS)] = "en"
    timezone: Annotated[str, text(hint="an IANA zone like Europe/Berlin", max_len=64)] = "UTC"
    keep_days: Annotated[int, between(1, 3650, " days")] = 30
    max_attempts: Annotated[int, between(1, 100)] = 8
    first_retry_s: Annotated[float, seconds(0.1, 86400)] = 30.0
    max_retry_s: Annotated[float, seconds(0.1, 86400 * 7)] = 3600.0
    smtp_url: SmtpUrl | None = None
    sender: Annotated[str, text(EMAIL.pattern, "an e-mail address", 254)] | None = msgspec.field(
        default=None, name="from"
    )
    smtp_user: Annotated[str, text(max_len=254)] | None = None
    smtp_password_file: Path | None = None
    smtp_ca_file: Path | None = None
    smtp_security: Annotated[str, one_of(*SECURITY)] | None = None  # none given: "tls"
    sms: SmsTable | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise Refused("an IANA zone like Europe/Berlin", "timezone") from None
        if self.smtp_url is None:
            for info in kit.keys(NotifyTable):
                if (
                    info.encode_name.startswith(("from", "smtp_"))
                    and getattr(self, info.name) is not None
                ):
                    raise Refused("needs notify.smtp_url", info.encode_name)
            if self.sms is None:
                raise Refused("give smtp_url (e-mail) or [notify.sms]", "smtp_url")
            return
        if self.sender is None:
            raise Refused("required with smtp_url: an e-mail address", "from")
        if (self.smtp_user is None) != (self.smtp_password_file is None):
            raise Refused("smtp_user and smtp_password_file go together", "smtp_user")
        if self.smtp_security == "none" and self.smtp_url.startswith("smtps:"):
            raise Refused('"none" with smtps:// (implicit TLS)', "smtp_security")
        kit.require_file(self.smtp_password_file, "smtp_password_file")
        kit.require_file(self.smtp_ca_file, "smtp_ca_file")


def parse(table: Any) -> NotifyConfig:
    """`[notify]` as TOML gives it; NotifyConfigError names the key (`notify.lang`)."""
    t = kit.convert(table, NotifyTable, NotifyConfigError, prefix="notify")
    return build(t)


def build(t: NotifyTable) -> NotifyConfig:
    """The notifier's config from a checked `[notify]`."""
    smtp = None
    if t.smtp_url is not None and t.sender is not None:
        smtp = Smtp(
            t.smtp_url,
            t.sender,
            t.smtp_user,
            t.smtp_password_file,
            t.smtp_ca_file,
            security=t.smtp_security or "tls",
        )
    sms = (
        None
        if t.sms is None
        else SmsGateway(t.sms.url, t.sms.body, t.sms.auth_header_file, t.sms.timeout_s)
    )
    return NotifyConfig(
        merchant_name=t.merchant_name,
        lang=t.lang,
        zone=ZoneInfo(t.timezone),
        keep_days=t.keep_days,
        max_attempts=t.max_attempts,
        first_retry_s=t.first_retry_s,
        max_retry_s=t.max_retry_s,
        smtp=smtp,
        sms=sms,
    )
