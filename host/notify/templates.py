"""The customer's message about their refund, per language (`en`, `de`, `zh`), as plain
text and HTML: merchant, amount and currency, date and time, reason, masked card, the
refund's reference, and what to do when it does not show on the statement. Nothing else
about the customer goes in.

What comes from a terminal is checked before it goes into a message (`Refund` refuses,
`FactsError`, what does not fit its type): the amount is a decimal with the currency's
digits, the currency an ISO 4217 code this host knows, the card a masked PAN (digits and
`*`, at most 19, at most the first 6 and the last 4 digits shown), the reason one of
`REASONS`, the reference a transaction id. A refund that does not fit is never told."""

# ruff: noqa: RUF001  (the Chinese text uses Chinese punctuation on purpose)

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from posterm.protocol import money

OUTCOMES = ("completed", "failed", "rejected")

REASONS = {
    "en": {
        "wrong_amount": "wrong amount",
        "wrong_card": "wrong card",
        "goods_returned": "goods returned",
        "service_problem": "service problem",
        "duplicate_charge": "duplicate charge",
        "other": "other",
    },
    "de": {
        "wrong_amount": "falscher Betrag",
        "wrong_card": "falsche Karte",
        "goods_returned": "Ware zurückgegeben",
        "service_problem": "Problem mit der Leistung",
        "duplicate_charge": "doppelte Belastung",
        "other": "sonstiges",
    },
    "zh": {
        "wrong_amount": "金额错误",
        "wrong_card": "卡片错误",
        "goods_returned": "退货",
        "service_problem": "服务问题",
        "duplicate_charge": "重复扣款",
        "other": "其他",
    },
}

TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "subject": {
            "completed": "Your refund from {merchant}",
            "failed": "Your refund from {merchant} could not be made",
            "rejected": "Your refund from {merchant} was not approved",
        },
        "lead": {
            "completed": "{merchant} has refunded {amount} to your card {card}.",
            "failed": "{merchant} tried to refund {amount} to your card {card}, but the"
            " card terminal could not complete it. No money was moved; please"
            " contact {merchant}.",
            "rejected": "Your refund of {amount} to your card {card} was not approved by"
            " {merchant}. Please contact {merchant} if you have questions.",
        },
        "labels": ("Amount", "Date", "Reason", "Card", "Reference"),
        "follow": "Follow your refund: {link}",
        "statement": "A refund usually shows on your statement within 3 to 10 banking days. If"
        " it has not appeared after 10 banking days, contact {merchant} with the"
        " reference above, or your bank.",
    },
    "de": {
        "subject": {
            "completed": "Ihre Erstattung von {merchant}",
            "failed": "Ihre Erstattung von {merchant} konnte nicht ausgeführt werden",
            "rejected": "Ihre Erstattung von {merchant} wurde nicht genehmigt",
        },
        "lead": {
            "completed": "{merchant} hat {amount} auf Ihre Karte {card} erstattet.",
            "failed": "{merchant} wollte {amount} auf Ihre Karte {card} erstatten, das"
            " Kartenterminal konnte die Erstattung aber nicht ausführen. Es wurde"
            " kein Geld bewegt; bitte wenden Sie sich an {merchant}.",
            "rejected": "Ihre Erstattung von {amount} auf Ihre Karte {card} wurde von"
            " {merchant} nicht genehmigt. Bei Fragen wenden Sie sich bitte an"
            " {merchant}.",
        },
        "labels": ("Betrag", "Datum", "Grund", "Karte", "Referenz"),
        "follow": "Ihre Erstattung verfolgen: {link}",
        "statement": "Eine Erstattung erscheint meist innerhalb von 3 bis 10 Bankarbeitstagen"
        " auf Ihrem Kontoauszug. Ist sie nach 10 Bankarbeitstagen nicht zu sehen,"
        " wenden Sie sich mit der Referenz oben an {merchant} oder Ihre Bank.",
    },
    "zh": {
        "subject": {
            "completed": "{merchant} 退款通知",
            "failed": "{merchant} 的退款未能完成",
            "rejected": "{merchant} 的退款未获批准",
        },
        "lead": {
            "completed": "{merchant} 已将 {amount} 退还至您的卡 {card}。",
            "failed": "{merchant} 尝试将 {amount} 退还至您的卡 {card}，但刷卡终端未能完成。"
            "款项未发生变动；请联系 {merchant}。",
            "rejected": "您退还至卡 {card} 的 {amount} 退款未获 {merchant} 批准。"
            "如有疑问，请联系 {merchant}。",
        },
        "labels": ("金额", "日期", "原因", "卡号", "参考号"),
        "follow": "查看退款进度：{link}",
        "statement": "退款通常会在 3 至 10 个银行工作日内显示在您的账单上。"
        "如 10 个银行工作日后仍未显示，请凭上述参考号联系 {merchant} 或您的银行。",
    },
}


CURRENCY = re.compile(r"[A-Z]{3}")
MASKED_PAN = re.compile(r"[0-9]{0,6}\*+[0-9]{0,4}")  # at most the first 6 and the last 4
MAX_PAN = 19
REFERENCE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # a terminal's txn id (daemon/journal)
LINK = re.compile(r"https?://[^\s/?#<>\"']+(/[^\s?#<>\"']*)?/r/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class FactsError(ValueError):
    """A refund's facts that cannot go into a customer's message: what a terminal sent does
    not fit its type. The message says which fact, never its value."""


@dataclass(frozen=True)
class Refund:
    """What the message says: all of it from the refund's events and the host's config,
    checked when made (`FactsError`)."""

    outcome: str  # completed | failed | rejected
    merchant: str
    amount: str  # decimal string with the currency's digits ("12.50", JPY "1250")
    currency: str  # ISO 4217, one of protocol/money's
    at: datetime  # when it completed, failed or was rejected (aware)
    reason: str  # a key of REASONS
    card: str  # the masked PAN, or "" when the PT never read a card
    reference: str  # the refund's txn id
    link: str = ""  # its status page ([public]; host/public/keys.py), "" without one

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise FactsError(f"outcome is one of {', '.join(OUTCOMES)}")
        if not isinstance(self.currency, str) or not CURRENCY.fullmatch(self.currency):
            raise FactsError("the currency is not three capital letters")
        if self.currency not in money.CURRENCIES:
            raise FactsError("the currency is not one this host knows")
        places = money.decimals(self.currency)
        try:
            minor = money.parse_amount(self.amount, self.currency)
        except money.AmountError:
            minor = None
        if minor is None or money.format_amount(minor, self.currency) != self.amount:
            raise FactsError(
                f"the amount is not a decimal with {places} decimals for {self.currency}"
            )
        if not isinstance(self.card, str) or (
            self.card and not (len(self.card) <= MAX_PAN and MASKED_PAN.fullmatch(self.card))
        ):
            raise FactsError(
                "the card is not a masked PAN (digits and *, at most the first 6"
                " and the last 4 digits)"
            )
        if self.reason not in REASONS["en"]:
            raise FactsError("the reason is not a known one")
        if not isinstance(self.reference, str) or not REFERENCE.fullmatch(self.reference):
            raise FactsError("the reference is not a transaction id")
        if not isinstance(self.at, datetime) or self.at.tzinfo is None:
            raise FactsError("the time has no zone")
        if not isinstance(self.link, str) or (self.link and not LINK.fullmatch(self.link)):
            raise FactsError("the link is not a status page link")


@dataclass(frozen=True)
class Message:
    subject: str
    text: str  # the e-mail's plain text part
    html: str  # its HTML part
    sms: str  # the lead sentence and the reference


def render(refund: Refund, lang: str, zone: ZoneInfo) -> Message:
    words = TEXT[lang]
    when = refund.at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    card = refund.card or "—"
    fill = {
        "merchant": refund.merchant,
        "amount": f"{refund.amount} {refund.currency}",
        "card": card,
    }
    reason = REASONS[lang][refund.reason]
    rows = list(
        zip(words["labels"], (fill["amount"], when, reason, card, refund.reference), strict=True)
    )
    subject = words["subject"][refund.outcome].format(**fill)
    lead = words["lead"][refund.outcome].format(**fill)
    statement = words["statement"].format(**fill) if refund.outcome == "completed" else ""
    follow = words["follow"].format(link=refund.link) if refund.link else ""
    width = max(len(label) for label, _ in rows)
    text = "\n".join(
        [
            lead,
            "",
            *(f"{label:<{width}}  {value}" for label, value in rows),
            *(["", statement] if statement else []),
            *(["", follow] if follow else []),
            "",
        ]
    )
    esc = html.escape
    cells = "".join(
        f'<tr><th align="left">{esc(label)}</th><td>{esc(value)}</td></tr>' for label, value in rows
    )
    body = (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{esc(subject)}</title></head><body><p>{esc(lead)}</p>"
        f"<table>{cells}</table>"
        + (f"<p>{esc(statement)}</p>" if statement else "")
        + (
            f'<p>{esc(words["follow"].split("{link}")[0])}<a href="{esc(refund.link)}">'
            f"{esc(refund.link)}</a></p>"
            if follow
            else ""
        )
        + "</body></html>"
    )
    sms = f"{lead} {words['labels'][4]}: {refund.reference}" + (f" {refund.link}" if follow else "")
    return Message(subject, text, body, sms)
