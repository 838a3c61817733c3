"""The customer's message about their refund, per language (`en`, `de`, `zh`), as plain
text and HTML: merchant, amount and currency, date and time, reason, masked card, the
refund's reference, and what to do when it does not show on the statement. Nothing else
about the customer goes in."""

# ruff: noqa: RUF001  (the Chinese text uses Chinese punctuation on purpose)

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

OUTCOMES = ("completed", "failed", "rejected")

REASONS = {
    "en": {"wrong_amount": "wrong amount", "wrong_card": "wrong card",
           "goods_returned": "goods returned", "service_problem": "service problem",
           "duplicate_charge": "duplicate charge", "other": "other"},
    "de": {"wrong_amount": "falscher Betrag", "wrong_card": "falsche Karte",
           "goods_returned": "Ware zurückgegeben", "service_problem": "Problem mit der Leistung",
           "duplicate_charge": "doppelte Belastung", "other": "sonstiges"},
    "zh": {"wrong_amount": "金额错误", "wrong_card": "卡片错误", "goods_returned": "退货",
           "service_problem": "服务问题", "duplicate_charge": "重复扣款", "other": "其他"},
}  # fmt: skip

TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "subject": {"completed": "Your refund from {merchant}",
                    "failed": "Your refund from {merchant} could not be made",
                    "rejected": "Your refund from {merchant} was not approved"},
        "lead": {"completed": "{merchant} has refunded {amount} to your card {card}.",
                 "failed": "{merchant} tried to refund {amount} to your card {card}, but the"
                           " card terminal could not complete it. No money was moved; please"
                           " contact {merchant}.",
                 "rejected": "Your refund of {amount} to your card {card} was not approved by"
                             " {merchant}. Please contact {merchant} if you have questions."},
        "labels": ("Amount", "Date", "Reason", "Card", "Reference"),
        "statement": "A refund usually shows on your statement within 3 to 10 banking days. If"
                     " it has not appeared after 10 banking days, contact {merchant} with the"
                     " reference above, or your bank.",
    },
    "de": {
        "subject": {"completed": "Ihre Erstattung von {merchant}",
                    "failed": "Ihre Erstattung von {merchant} konnte nicht ausgeführt werden",
                    "rejected": "Ihre Erstattung von {merchant} wurde nicht genehmigt"},
        "lead": {"completed": "{merchant} hat {amount} auf Ihre Karte {card} erstattet.",
                 "failed": "{merchant} wollte {amount} auf Ihre Karte {card} erstatten, das"
                           " Kartenterminal konnte die Erstattung aber nicht ausführen. Es wurde"
                           " kein Geld bewegt; bitte wenden Sie sich an {merchant}.",
                 "rejected": "Ihre Erstattung von {amount} auf Ihre Karte {card} wurde von"
                             " {merchant} nicht genehmigt. Bei Fragen wenden Sie sich bitte an"
                             " {merchant}."},
        "labels": ("Betrag", "Datum", "Grund", "Karte", "Referenz"),
        "statement": "Eine Erstattung erscheint meist innerhalb von 3 bis 10 Bankarbeitstagen"
                     " auf Ihrem Kontoauszug. Ist sie nach 10 Bankarbeitstagen nicht zu sehen,"
                     " wenden Sie sich mit der Referenz oben an {merchant} oder Ihre Bank.",
    },
    "zh": {
        "subject": {"completed": "{merchant} 退款通知",
                    "failed": "{merchant} 的退款未能完成",
                    "rejected": "{merchant} 的退款未获批准"},
        "lead": {"completed": "{merchant} 已将 {amount} 退还至您的卡 {card}。",
                 "failed": "{merchant} 尝试将 {amount} 退还至您的卡 {card}，但刷卡终端未能完成。"
                           "款项未发生变动；请联系 {merchant}。",
                 "rejected": "您退还至卡 {card} 的 {amount} 退款未获 {merchant} 批准。"
                             "如有疑问，请联系 {merchant}。"},
        "labels": ("金额", "日期", "原因", "卡号", "参考号"),
        "statement": "退款通常会在 3 至 10 个银行工作日内显示在您的账单上。"
                     "如 10 个银行工作日后仍未显示，请凭上述参考号联系 {merchant} 或您的银行。",
    },
}  # fmt: skip


@dataclass(frozen=True)
class Refund:
    """What the message says: all of it from the refund's events and the host's config."""

    outcome: str  # completed | failed | rejected
    merchant: str
    amount: str  # decimal string, as in the events
    currency: str
    at: datetime  # when it completed, failed or was rejected (aware)
    reason: str
    card: str  # the masked PAN, or "" when the PT never read a card
    reference: str  # the refund's txn id


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
    fill = {"merchant": refund.merchant, "amount": f"{refund.amount} {refund.currency}",
            "card": card}  # fmt: skip
    reason = REASONS[lang].get(refund.reason, refund.reason)
    rows = list(zip(words["labels"], (fill["amount"], when, reason, card, refund.reference),
                    strict=True))  # fmt: skip
    subject = words["subject"][refund.outcome].format(**fill)
    lead = words["lead"][refund.outcome].format(**fill)
    statement = words["statement"].format(**fill) if refund.outcome == "completed" else ""
    width = max(len(label) for label, _ in rows)
    text = "\n".join([lead, "", *(f"{label:<{width}}  {value}" for label, value in rows),
                      *(["", statement] if statement else []), ""])  # fmt: skip
    esc = html.escape
    cells = "".join(f"<tr><th align=\"left\">{esc(label)}</th><td>{esc(value)}</td></tr>"
                    for label, value in rows)  # fmt: skip
    body = (f"<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(subject)}</title></head><body><p>{esc(lead)}</p>"
            f"<table>{cells}</table>" + (f"<p>{esc(statement)}</p>" if statement else "")
            + "</body></html>")  # fmt: skip
    return Message(subject, text, body, f"{lead} {words['labels'][4]}: {refund.reference}")
