"""Money: decimal strings in major units on every interface, integer minor units inside."""

from __future__ import annotations

import re

# ISO 4217 alphabetic code -> (numeric code, minor-unit decimals)
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
_BY_NUMERIC: dict[int, str] = {numeric: code for code, (numeric, _) in CURRENCIES.items()}
# Only ASCII digits: `\d` would also take "١٢" (Arabic-Indic) and other Unicode digits.
_AMOUNT = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
MAX_DIGITS = 12  # a ZVT amount (BMP 04) is 6 BCD bytes: at most 12 digits of minor units
MAX_MINOR = 10**MAX_DIGITS - 1


class AmountError(ValueError):
    """An amount or a currency that cannot be used; the message says what is wrong."""


def decimals(currency: str) -> int:
    """How many minor-unit decimals `currency` has (2 for EUR, 0 for JPY)."""
    return _entry(currency)[1]


def currency_numeric(currency: str) -> int:
    """ISO 4217 numeric code of `currency` (978 for EUR)."""
    return _entry(currency)[0]


def currency_from_numeric(numeric: int) -> str:
    """ISO 4217 alphabetic code for a numeric code (978 -> "EUR")."""
    if isinstance(numeric, bool) or not isinstance(numeric, int):
        raise AmountError(f"an ISO 4217 numeric currency code is a whole number, not {numeric!r}")
    try:
        return _BY_NUMERIC[numeric]
    except KeyError:
        raise AmountError(f"unknown ISO 4217 numeric currency code {numeric}") from None


def _entry(currency: str) -> tuple[int, int]:
    try:
        return CURRENCIES[currency]
    except (KeyError, TypeError):
        known = ", ".join(sorted(CURRENCIES))
        raise AmountError(f"unknown currency {currency!r} (known: {known})") from None


def parse_amount(
    text: str,
    currency: str,
    *,
    min_minor: int | None = None,
    max_minor: int | None = None,
) -> int:
    """'12.50' EUR -> 1250 minor units.

    Accepts only ASCII digits with an optional dot and 1..N decimals (N = the currency's
    minor-unit decimals); the amount must be more than zero. `min_minor`/`max_minor`, when
    given, are checked as by `check_limits`.
    """
    places = decimals(currency)
    if not isinstance(text, str):
        raise AmountError(f"an amount is a decimal string like 12.50, not {type(text).__name__}")
    if text == "":
        raise AmountError("'' is not an amount: it is empty; write digits like 12.50")
    match = _AMOUNT.fullmatch(text)
    if match is None:
        example = "1250" if places == 0 else "12." + "5".ljust(places, "0")
        raise AmountError(
            f"{text!r} is not an amount: use ASCII digits and at most one dot, like {example}"
        )
    whole, fraction = match.group(1), match.group(2)
    if fraction is not None and len(fraction) > places:
        if places == 0:
            raise AmountError(f"{text!r} has decimals, but {currency} has no minor unit")
        raise AmountError(f"{text!r} has more than {places} decimals for {currency}")
    if len(whole.lstrip("0")) + places > MAX_DIGITS:
        raise AmountError(f"{text!r} is too large: at most {MAX_DIGITS} digits of minor units")
    minor = int(whole + (fraction or "").ljust(places, "0"))  # the digits, fraction padded
    if minor <= 0:
        raise AmountError(f"{text!r}: the amount must be more than zero")
    if min_minor is not None or max_minor is not None:
        check_limits(
            minor,
            1 if min_minor is None else min_minor,
            MAX_MINOR if max_minor is None else max_minor,
            currency,
        )
    return minor


def check_limits(minor: int, min_minor: int, max_minor: int, currency: str | None = None) -> None:
    """Refuse `minor` outside [min_minor, max_minor] (both inclusive).

    With `currency` the message shows major units ("500.01 EUR"); without it, minor units.
    """
    for name, value in (("amount", minor), ("minimum", min_minor), ("maximum", max_minor)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise AmountError(f"the {name} must be whole minor units, not {value!r}")
    if min_minor > max_minor:
        raise AmountError(
            f"the minimum {_show(min_minor, currency)} is above the maximum "
            f"{_show(max_minor, currency)}"
        )
    if minor < min_minor:
        raise AmountError(
            f"{_show(minor, currency)} is below the minimum {_show(min_minor, currency)}"
        )
    if minor > max_minor:
        raise AmountError(
            f"{_show(minor, currency)} is over the limit {_show(max_minor, currency)}"
        )


def _show(minor: int, currency: str | None) -> str:
    if currency is None:
        return f"{minor} minor units"
    return f"{format_amount(minor, currency)} {currency}"


def format_amount(minor: int, currency: str) -> str:
    """1250 EUR -> '12.50'; 1250 JPY -> '1250'; negative amounts keep their sign."""
    places = decimals(currency)
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise AmountError(f"an amount inside posterm is whole minor units, not {minor!r}")
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    if places == 0:
        return f"{sign}{minor}"
    return f"{sign}{minor // 10**places}.{minor % 10**places:0{places}d}"
