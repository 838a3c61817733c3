"""The status page's words in en, de and zh, and the choice of language: the refund's
notification language, else the browser's Accept-Language, else English."""

# ruff: noqa: RUF001  (the Chinese text uses Chinese punctuation on purpose)

from __future__ import annotations

import re

LANGS = ("en", "de", "zh")

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your refund",
        "from": "Refund from {merchant}",
        "amount": "Amount",
        "card": "Card",
        "card_value": "{scheme} ending in {last4}",
        "card_unknown": "not read yet",
        "date": "Date",
        "reference": "Reference for your bank",
        "ref_trace": "trace {n}",
        "ref_receipt": "receipt {n}",
        "ref_batch": "batch {n}",
        "ref_txn": "refund {txn}",
        "step_requested": "Refund requested at the shop",
        "step_approved": "Approved by {who}",
        "step_approved_wait": "Waiting for approval",
        "step_completed": "Completed at the card terminal",
        "step_completed_wait": "Being sent to the card terminal",
        "step_closed": "Included in the shop's day closing",
        "step_closed_wait": "Waiting for the shop's day closing",
        "step_arrival": "Expected on your card between {d1} and {d2}",
        "step_arrival_wait": "Expected on your card {n1} to {n2} banking days after the closing",
        "arrival_note": "This is the card payment provider's usual time, not a promise. The"
        " refund may show on your statement without the shop's name.",
        "who_shop": "the shop",
        "who_back_office": "the back office",
        "in_progress": "This refund is still in progress. This page updates by itself.",
        "rejected": "The refund was not approved by {who}. No money was moved.",
        "declined": "The card terminal could not complete the refund. No money was moved.",
        "next_contact": "Please contact {merchant}: {contact}",
        "wrong_card": "This refund went to the card ending in {last4}, which is not the card"
        " of the original purchase. Look for it on that card's statement.",
        "not_found_title": "Not found or expired",
        "not_found": "This refund link is not valid or has expired.",
        "contact": "Contact {merchant}: {contact}",
        "generic_contact": "Please contact the shop where the refund was made.",
    },
    "de": {
        "title": "Ihre Erstattung",
        "from": "Erstattung von {merchant}",
        "amount": "Betrag",
        "card": "Karte",
        "card_value": "{scheme} mit Endziffern {last4}",
        "card_unknown": "noch nicht gelesen",
        "date": "Datum",
        "reference": "Referenz für Ihre Bank",
        "ref_trace": "Trace {n}",
        "ref_receipt": "Beleg {n}",
        "ref_batch": "Kassenschnitt {n}",
        "ref_txn": "Erstattung {txn}",
        "step_requested": "Erstattung im Geschäft angefordert",
        "step_approved": "Genehmigt durch {who}",
        "step_approved_wait": "Wartet auf Genehmigung",
        "step_completed": "Am Kartenterminal ausgeführt",
        "step_completed_wait": "Wird an das Kartenterminal übermittelt",
        "step_closed": "Im Tagesabschluss des Geschäfts enthalten",
        "step_closed_wait": "Wartet auf den Tagesabschluss des Geschäfts",
        "step_arrival": "Voraussichtlich zwischen {d1} und {d2} auf Ihrer Karte",
        "step_arrival_wait": "Voraussichtlich {n1} bis {n2} Bankarbeitstage nach dem"
        " Tagesabschluss auf Ihrer Karte",
        "arrival_note": "Das ist die übliche Dauer des Kartenzahlungsanbieters, keine Zusage."
        " Die Erstattung kann ohne den Namen des Geschäfts auf dem Auszug erscheinen.",
        "who_shop": "das Geschäft",
        "who_back_office": "die Zentrale",
        "in_progress": "Diese Erstattung läuft noch. Diese Seite aktualisiert sich selbst.",
        "rejected": "Die Erstattung wurde von {who} nicht genehmigt. Es wurde kein Geld bewegt.",
        "declined": "Das Kartenterminal konnte die Erstattung nicht ausführen. Es wurde kein"
        " Geld bewegt.",
        "next_contact": "Bitte wenden Sie sich an {merchant}: {contact}",
        "wrong_card": "Diese Erstattung ging auf die Karte mit den Endziffern {last4}, nicht"
        " auf die Karte des ursprünglichen Kaufs. Sie erscheint auf dem Auszug dieser Karte.",
        "not_found_title": "Nicht gefunden oder abgelaufen",
        "not_found": "Dieser Link ist ungültig oder abgelaufen.",
        "contact": "Kontakt {merchant}: {contact}",
        "generic_contact": "Bitte wenden Sie sich an das Geschäft, in dem erstattet wurde.",
    },
    "zh": {
        "title": "您的退款",
        "from": "来自 {merchant} 的退款",
        "amount": "金额",
        "card": "卡片",
        "card_value": "{scheme} 尾号 {last4}",
        "card_unknown": "尚未读取",
        "date": "日期",
        "reference": "可向银行提供的参考号",
        "ref_trace": "流水号 {n}",
        "ref_receipt": "凭证号 {n}",
        "ref_batch": "批次号 {n}",
        "ref_txn": "退款 {txn}",
        "step_requested": "已在商店申请退款",
        "step_approved": "已由{who}批准",
        "step_approved_wait": "等待批准",
        "step_completed": "已在刷卡终端完成",
        "step_completed_wait": "正在发送至刷卡终端",
        "step_closed": "已计入商店的日结",
        "step_closed_wait": "等待商店日结",
        "step_arrival": "预计于 {d1} 至 {d2} 之间退回您的卡",
        "step_arrival_wait": "预计于日结后 {n1} 至 {n2} 个银行工作日退回您的卡",
        "arrival_note": "这是收单机构的通常时间，并非承诺。账单上可能不显示商店名称。",
        "who_shop": "商店",
        "who_back_office": "总部",
        "in_progress": "此退款仍在处理中。本页面会自动更新。",
        "rejected": "此退款未获{who}批准。款项未发生变动。",
        "declined": "刷卡终端未能完成此退款。款项未发生变动。",
        "next_contact": "请联系 {merchant}：{contact}",
        "wrong_card": "此退款已退至尾号 {last4} 的卡，并非原购买所用的卡。请查看该卡的账单。",
        "not_found_title": "未找到或已过期",
        "not_found": "此退款链接无效或已过期。",
        "contact": "联系 {merchant}：{contact}",
        "generic_contact": "请联系办理退款的商店。",
    },
}


# one Accept-Language entry (RFC 9110 12.5.4): a language range, optionally ";q=" a weight
# from 0 to 1 with at most 3 decimals; anything else (q=inf, q=nan, q=2) is ignored
_ENTRY = re.compile(
    r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*"
    r"(?:;\s*[qQ]\s*=\s*(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?))?\s*"
)


def choose(stored: str | None, accept_language: str | None) -> str:
    """The refund's own language (its notification's), else the first of the browser's
    Accept-Language we speak (by q value), else en."""
    if stored in LANGS:
        return stored
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "")[:500].split(",")):
        entry = _ENTRY.fullmatch(part)
        if entry is None:
            continue
        q = float(entry.group(2)) if entry.group(2) is not None else 1.0
        lang = entry.group(1).lower().split("-")[0]
        if lang in LANGS and q > 0:
            ranked.append((-q, i, lang))
    return min(ranked)[2] if ranked else "en"
