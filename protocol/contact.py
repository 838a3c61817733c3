"""A customer's contact for a refund notification: one e-mail address or one E.164 phone
number, and the language of the message. Personal data: a message about a bad contact
never repeats it, and nothing here logs.

On the wire (the `refund.requested` event's `data.notify`):
`{"email": "a@example.com", "lang": "de"}` or `{"phone": "+4915112345678"}` (no `lang`:
the back office's default language).
"""

from __future__ import annotations

import re
from typing import Any

LANGS = ("en", "de", "zh")
# a practical address check (RFC 5321 lengths, dot-atom local part, a dotted domain of
# LDH labels); whether it exists is the mail server's to say
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = re.compile(
    rf"[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~-]+)*"
    rf"@{_LABEL}(?:\.{_LABEL})+"
)
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


class ContactError(ValueError):
    """The contact cannot be used; the message names the field, never its value."""


def check(email: Any = None, phone: Any = None, lang: Any = None) -> dict[str, str] | None:
    """The `notify` object for an event, or None when no contact was given."""
    if email is None and phone is None:
        if lang is not None:
            raise ContactError("notify_lang needs notify_email or notify_phone")
        return None
    if email is not None and phone is not None:
        raise ContactError("give one contact: notify_email or notify_phone, not both")
    if lang is not None and (not isinstance(lang, str) or lang not in LANGS):
        raise ContactError(f"notify_lang is one of {', '.join(LANGS)}")
    chosen = {"lang": lang} if lang else {}  # else the back office's default language
    if email is not None:
        if not isinstance(email, str) or len(email) > 254 or not EMAIL.fullmatch(email):
            raise ContactError("notify_email is not a valid e-mail address (name@domain.tld)")
        if len(email.split("@", 1)[0]) > 64:
            raise ContactError("notify_email: the part before @ is longer than 64 characters")
        return {"email": email} | chosen
    if not isinstance(phone, str) or not E164.fullmatch(phone):
        raise ContactError(
            "notify_phone is an E.164 number: + country code and number, digits"
            " only (e.g. +4915112345678)"
        )
    return {"phone": phone} | chosen


def from_event(data: dict[str, Any]) -> dict[str, str] | None:
    """The contact a received event carries, checked again (it crossed a network)."""
    raw = data.get("notify")
    if not isinstance(raw, dict):
        return None
    try:
        return check(raw.get("email"), raw.get("phone"), raw.get("lang"))
    except ContactError:
        return None
