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

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from posterm.host.notify.channels import SECURITY, SmsGateway, Smtp
from posterm.protocol.contact import EMAIL, LANGS


class NotifyConfigError(Exception):
    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"{key}: {why}")
        self.key, self.why = key, why


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
        """Seconds before the next attempt after `attempts` failed ones."""
        return float(min(self.max_retry_s, self.first_retry_s * 2 ** max(attempts - 1, 0)))


KEYS: dict[str, type] = {
    "merchant_name": str, "lang": str, "timezone": str, "keep_days": int, "max_attempts": int,
    "first_retry_s": float, "max_retry_s": float, "smtp_url": str, "from": str,
    "smtp_user": str, "smtp_password_file": str, "smtp_ca_file": str, "smtp_security": str,
    "sms": dict,
}  # fmt: skip
SMS_KEYS: dict[str, type] = {"url": str, "auth_header_file": str, "body": dict,
                             "timeout_s": float}  # fmt: skip
SMTP_URL = re.compile(r"smtps?://[A-Za-z0-9.-]+(:\d{1,5})?/?")
HTTP_URL = re.compile(r"https?://[^\s/]+(/\S*)?")


def parse(table: Any) -> NotifyConfig:
    if not isinstance(table, dict):
        raise NotifyConfigError("notify", "must be a table: [notify]")
    values = _typed(table, KEYS, "notify")
    if "merchant_name" not in values or not 1 <= len(values["merchant_name"]) <= 64:
        raise NotifyConfigError("notify.merchant_name", "required, 1-64 characters")
    lang = values.get("lang", "en")
    if lang not in LANGS:
        raise NotifyConfigError("notify.lang", f"one of {', '.join(LANGS)}")
    try:
        zone = ZoneInfo(values.get("timezone", "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        raise NotifyConfigError("notify.timezone", "an IANA zone like Europe/Berlin") from None
    ranges = {"keep_days": (1, 3650, 30), "max_attempts": (1, 100, 8),
              "first_retry_s": (0.1, 86400, 30.0),
              "max_retry_s": (0.1, 86400 * 7, 3600.0)}  # fmt: skip
    numbers = {}
    for key, (low, high, default) in ranges.items():
        numbers[key] = values.get(key, default)
        if not low <= numbers[key] <= high:
            raise NotifyConfigError(f"notify.{key}", f"out of range {low}-{high}")
    smtp = _smtp(values)
    sms = _sms(values["sms"]) if "sms" in values else None
    if smtp is None and sms is None:
        raise NotifyConfigError("notify.smtp_url", "give smtp_url (e-mail) or [notify.sms]")
    return NotifyConfig(merchant_name=values["merchant_name"], lang=lang, zone=zone,
                        keep_days=int(numbers["keep_days"]),
                        max_attempts=int(numbers["max_attempts"]),
                        first_retry_s=float(numbers["first_retry_s"]),
                        max_retry_s=float(numbers["max_retry_s"]), smtp=smtp, sms=sms)  # fmt: skip


def _typed(table: dict[str, Any], keys: dict[str, type], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in keys:
            raise NotifyConfigError(f"{where}.{key}", f"unknown key (known: {', '.join(keys)})")
        kind = keys[key]
        value = float(raw) if kind is float and type(raw) is int else raw
        if not isinstance(value, kind) or isinstance(value, bool):
            raise NotifyConfigError(f"{where}.{key}", f"must be a {kind.__name__}")
        out[key] = value
    return out


def _file(values: dict[str, Any], key: str, where: str) -> Path | None:
    if key not in values:
        return None
    path = Path(values[key])
    if not path.is_absolute():
        raise NotifyConfigError(f"{where}.{key}", "an absolute path")
    if not path.is_file():
        raise NotifyConfigError(f"{where}.{key}", f"{path}: no such file")
    return path


def _smtp(values: dict[str, Any]) -> Smtp | None:
    if "smtp_url" not in values:
        for key in ("from", "smtp_user", "smtp_password_file", "smtp_ca_file", "smtp_security"):
            if key in values:
                raise NotifyConfigError(f"notify.{key}", "needs notify.smtp_url")
        return None
    if not SMTP_URL.fullmatch(values["smtp_url"]):
        raise NotifyConfigError("notify.smtp_url", "smtp://HOST[:PORT] or smtps://HOST[:PORT]")
    sender = values.get("from")
    if not isinstance(sender, str) or not EMAIL.fullmatch(sender):
        raise NotifyConfigError("notify.from", "required with smtp_url: an e-mail address")
    if ("smtp_user" in values) != ("smtp_password_file" in values):
        raise NotifyConfigError("notify.smtp_user", "smtp_user and smtp_password_file go together")
    security = values.get("smtp_security", "tls")
    if security not in SECURITY:
        raise NotifyConfigError("notify.smtp_security", f"one of {', '.join(SECURITY)}")
    if security == "none" and values["smtp_url"].startswith("smtps:"):
        raise NotifyConfigError("notify.smtp_security", '"none" with smtps:// (implicit TLS)')
    return Smtp(values["smtp_url"], sender, values.get("smtp_user"),
                _file(values, "smtp_password_file", "notify"),
                _file(values, "smtp_ca_file", "notify"), security=security)  # fmt: skip


def _sms(table: dict[str, Any]) -> SmsGateway:
    values = _typed(table, SMS_KEYS, "notify.sms")
    if not HTTP_URL.fullmatch(values.get("url", "")):
        raise NotifyConfigError("notify.sms.url", "required: http(s)://HOST/PATH")
    body = values.get("body")
    if not body:
        raise NotifyConfigError("notify.sms.body", "required: a table whose values use $to, $text")
    if "$to" not in str(body) or "$text" not in str(body):
        raise NotifyConfigError("notify.sms.body", "must use $to and $text")
    return SmsGateway(values["url"], body, _file(values, "auth_header_file", "notify.sms"),
                      float(values.get("timeout_s", 20.0)))  # fmt: skip
