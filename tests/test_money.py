"""Money parsing and formatting: decimal strings in major units <-> integer minor units."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posterm.protocol import money
from posterm.protocol.money import (
    CURRENCIES,
    AmountError,
    check_limits,
    currency_from_numeric,
    currency_numeric,
    format_amount,
    parse_amount,
)

REQUIRED = {
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


def test_given_the_iso_table_then_every_required_currency_has_its_code_and_decimals() -> None:
    for code, entry in REQUIRED.items():
        assert CURRENCIES[code] == entry


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", "EUR", 1250),
        ("12.5", "EUR", 1250),
        ("12", "EUR", 1200),
        ("0.01", "EUR", 1),
        ("007.05", "CHF", 705),
        ("1250", "JPY", 1250),
        ("9999999999.99", "EUR", 999_999_999_999),
        ("999999999999", "JPY", 999_999_999_999),
    ],
)
def test_given_a_valid_amount_when_parsed_then_minor_units(
    text: str, currency: str, minor: int
) -> None:
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "why"),
    [
        ("", "EUR", "empty"),
        ("-1", "EUR", "not an amount"),
        ("+1", "EUR", "not an amount"),
        ("0", "EUR", "more than zero"),
        ("0.00", "EUR", "more than zero"),
        ("000", "JPY", "more than zero"),
        ("1.234", "EUR", "more than 2 decimals for EUR"),
        ("1.5", "JPY", "JPY has no minor unit"),
        ("1e3", "EUR", "not an amount"),
        (" 1", "EUR", "not an amount"),
        ("1 ", "EUR", "not an amount"),
        ("1\n", "EUR", "not an amount"),
        ("1,50", "EUR", "not an amount"),
        ("1.", "EUR", "not an amount"),
        (".5", "EUR", "not an amount"),
        ("1.2.3", "EUR", "not an amount"),
        ("NaN", "EUR", "not an amount"),
        ("inf", "EUR", "not an amount"),
        ("0x10", "EUR", "not an amount"),
        ("1_000", "EUR", "not an amount"),
        ("\u0661\u0662", "EUR", "not an amount"),  # Arabic-Indic digits
        ("\uff11", "EUR", "not an amount"),  # full-width one
        ("12.\u0665", "EUR", "not an amount"),
        ("10000000000.00", "EUR", "too large"),
        ("1000000000000", "JPY", "too large"),
    ],
)
def test_given_a_bad_amount_when_parsed_then_amount_error_says_why(
    text: str, currency: str, why: str
) -> None:
    with pytest.raises(AmountError, match=why):
        parse_amount(text, currency)


@pytest.mark.parametrize("value", [12.5, 1250, None, b"12.50"])
def test_given_something_not_a_string_when_parsed_then_refused(value: object) -> None:
    with pytest.raises(AmountError, match="decimal string"):
        parse_amount(value, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["XXX", "eur", "", "EURO"])
def test_given_an_unknown_currency_then_every_function_refuses_it(currency: str) -> None:
    for call in (
        lambda: parse_amount("1.00", currency),
        lambda: format_amount(100, currency),
        lambda: currency_numeric(currency),
        lambda: money.decimals(currency),
    ):
        with pytest.raises(AmountError, match="unknown currency"):
            call()


def test_amount_error_is_a_value_error() -> None:
    assert issubclass(AmountError, ValueError)


def test_given_limits_when_checked_then_bounds_are_inclusive_and_messages_clear() -> None:
    check_limits(100, 100, 500)
    check_limits(500, 100, 500)
    with pytest.raises(AmountError, match=r"5\.01 EUR is over the limit 5\.00 EUR"):
        check_limits(501, 100, 500, "EUR")
    with pytest.raises(AmountError, match=r"99 JPY is below the minimum 100 JPY"):
        check_limits(99, 100, 500, "JPY")
    with pytest.raises(AmountError, match="501 minor units is over the limit 500 minor units"):
        check_limits(501, 100, 500)
    with pytest.raises(AmountError, match=r"minimum .* is above the maximum"):
        check_limits(200, 300, 100)
    with pytest.raises(AmountError, match="whole minor units"):
        check_limits(1.5, 1, 500)  # type: ignore[arg-type]


def test_given_limit_keywords_when_parsing_then_limits_apply_in_major_units() -> None:
    assert parse_amount("500.00", "EUR", max_minor=50000) == 50000
    with pytest.raises(AmountError, match=r"500\.01 EUR is over the limit 500\.00 EUR"):
        parse_amount("500.01", "EUR", max_minor=50000)
    with pytest.raises(AmountError, match=r"0\.50 EUR is below the minimum 1\.00 EUR"):
        parse_amount("0.50", "EUR", min_minor=100)


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1250, "EUR", "12.50"),
        (5, "EUR", "0.05"),
        (0, "EUR", "0.00"),
        (1250, "JPY", "1250"),
        (-1250, "EUR", "-12.50"),
        (100000, "HUF", "1000.00"),
    ],
)
def test_given_minor_units_when_formatted_then_decimal_string(
    minor: int, currency: str, text: str
) -> None:
    assert format_amount(minor, currency) == text


@pytest.mark.parametrize("value", [12.5, "1250", True])
def test_given_a_non_integer_when_formatted_then_refused(value: object) -> None:
    with pytest.raises(AmountError, match="whole minor units"):
        format_amount(value, "EUR")  # type: ignore[arg-type]


def test_numeric_codes_map_both_ways() -> None:
    for code, (numeric, _) in CURRENCIES.items():
        assert currency_numeric(code) == numeric
        assert currency_from_numeric(numeric) == code
    with pytest.raises(AmountError, match="unknown ISO 4217 numeric currency code 999"):
        currency_from_numeric(999)
    with pytest.raises(AmountError, match="whole number"):
        currency_from_numeric("978")  # type: ignore[arg-type]


@given(
    currency=st.sampled_from(sorted(CURRENCIES)),
    minor=st.integers(min_value=1, max_value=money.MAX_MINOR),
)
def test_round_trip_format_then_parse_is_identity(currency: str, minor: int) -> None:
    """GIVEN any valid amount in minor units WHEN formatted and parsed back THEN unchanged."""
    text = format_amount(minor, currency)
    assert parse_amount(text, currency) == minor


@given(text=st.text(max_size=16), currency=st.sampled_from(sorted(CURRENCIES)))
def test_any_text_either_parses_to_a_positive_amount_or_raises_amount_error(
    text: str, currency: str
) -> None:
    """GIVEN arbitrary text WHEN parsed THEN a positive int that formats back to the same
    value, or AmountError — never another exception, never a float."""
    try:
        minor = parse_amount(text, currency)
    except AmountError:
        return
    assert type(minor) is int and 0 < minor <= money.MAX_MINOR
    assert text.isascii() and parse_amount(format_amount(minor, currency), currency) == minor
