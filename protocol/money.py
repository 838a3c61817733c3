"""Money on every interface: decimal strings in major units with an ISO 4217 code;
inside, integers of minor units. Never floats."""

from __future__ import annotations

import re

# code -> (ISO 4217 numeric, minor-unit decimals)
CURRENCIES: dict[str, tuple[int, int]] = {
    "EUR": (978, 2),
    "CHF": (756, 2),
    "GBP": (826, 2),
    "USD": (840, 2),
    "CNY": (156, 2),
    "JPY": (392, 0),
    "SEK": (752, 2),
    "PLN": (985, 2),
    "CZK": (203, 2),
    "DKK": (208, 2),
    "NOK": (578, 2),
    "HUF": (348, 2),
}
_BY_NUMERIC = {numeric: code for code, (numeric, _) in CURRENCIES.items()}
_AMOUNT = re.compile(r"[0-9]+(?:\.([0-9]+))?")
MAX_DIGITS = 12  # what a ZVT amount (6 BCD bytes) holds


class AmountError(ValueError):
    """An amount or currency that cannot be used."""


def decimals(currency: str) -> int:
    try:
        return CURRENCIES[currency][1]
    except KeyError:
        raise AmountError(f"unknown currency {currency!r}") from None


def currency_numeric(currency: str) -> int:
    try:
        return CURRENCIES[currency][0]
    except KeyError:
        raise AmountError(f"unknown currency {currency!r}") from None


def currency_from_numeric(numeric: int) -> str:
    try:
        return _BY_NUMERIC[numeric]
    except KeyError:
        raise AmountError(f"unknown ISO 4217 numeric currency {numeric}") from None


def parse_amount(text: str, currency: str) -> int:
    """'12.50' EUR -> 1250. Plain ASCII digits, at most the currency's decimals, > 0."""
    places = decimals(currency)
    if not isinstance(text, str):
        raise AmountError("an amount is a decimal string like 12.50")
    match = _AMOUNT.fullmatch(text)
    if match is None or not text.isascii():
        raise AmountError(f"{text!r} is not an amount: use digits and a dot, like 12.50")
    fraction = match.group(1) or ""
    if len(fraction) > places:
        raise AmountError(f"{text!r} has more than {places} decimals for {currency}")
    whole = text.split(".", 1)[0]
    minor = int(whole) * 10**places + int(fraction.ljust(places, "0") or "0")
    if minor <= 0:
        raise AmountError(f"{text!r}: the amount must be more than zero")
    if len(str(minor)) > MAX_DIGITS:
        raise AmountError(f"{text!r} is too large")
    return minor


def check_limits(minor: int, min_minor: int, max_minor: int, currency: str = "EUR") -> None:
    if minor < min_minor:
        raise AmountError(f"{format_amount(minor, currency)} is below the minimum "
                          f"{format_amount(min_minor, currency)}")
    if minor > max_minor:
        raise AmountError(f"{format_amount(minor, currency)} is over the limit "
                          f"{format_amount(max_minor, currency)}")


def format_amount(minor: int, currency: str) -> str:
    """1250 EUR -> '12.50'; 1250 JPY -> '1250'."""
    places = decimals(currency)
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    if places == 0:
        return f"{sign}{minor}"
    return f"{sign}{minor // 10**places}.{minor % 10**places:0{places}d}"
