"""A refund's status as the customer sees it, from the terminal's stored events: requested
-> approved (by the shop or the back office, never a name) -> completed at the card
terminal -> in the day's closing -> expected on the card within the acquirer's usual
banking days; or not approved / declined, with what to do next. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from posterm.protocol import money
from posterm.protocol.mqtt.events import not_charged

# what the page says as the refund's state
AWAITING, IN_PROGRESS, COMPLETED, CLOSED, REJECTED, DECLINED = (
    "awaiting_approval",
    "in_progress",
    "completed",
    "closed",
    "rejected",
    "declined",
)
FINAL = (CLOSED, REJECTED, DECLINED)
STEPS = ("requested", "approved", "completed", "closed", "arrival")


class TimelineError(ValueError):
    """The events do not make a refund the page can show (none, or not a refund's)."""


@dataclass(frozen=True)
class Event:
    """One stored event of the refund, the sale, or the closing: type, when, its data."""

    type: str
    at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class Step:
    name: str  # one of STEPS
    state: str  # done | now | next
    at: datetime | None = None
    by: str | None = None  # approved: "shop" | "back_office"


@dataclass(frozen=True)
class Status:
    state: str  # AWAITING … DECLINED
    amount: str  # "12.50" in the currency's digits
    currency: str
    requested_at: datetime
    steps: tuple[Step, ...]
    card_last4: str | None  # the card the refund went (or goes) to
    scheme: str | None  # the card's name as the PT said it ("Visa")
    wrong_card: bool  # no sale, or the sale was paid with another card
    trace: int | None
    receipt_no: int | None
    batch_no: int | None
    txn_id: str
    rejected_by: str | None = None  # "shop" | "back_office"
    arrival: tuple[date, date] | None = None  # from, to (banking days after the closing)


def add_banking_days(day: date, n: int) -> date:
    """`n` banking days (Monday to Friday) after `day`."""
    while n > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def _who(by: Any) -> str:
    """ "host (olga)" or "host": the back office; anything else (the panel, the CLI on the
    Pi): the shop. The name itself never reaches the page."""
    return "back_office" if isinstance(by, str) and by.startswith("host") else "shop"


# the card schemes a PT names (ZVT BMP 8B card name, as on the receipt), in lower case
# with spaces and dashes taken out: only these reach the customer; any other text the
# terminal sent ("call +1 555 …") is not shown (the page says "Card ending in 1234")
SCHEMES = frozenset(
    [
        "girocard",
        "ec",
        "electroniccash",
        "maestro",
        "mastercard",
        "debitmastercard",
        "visa",
        "visaelectron",
        "vpay",
        "visadebit",
        "americanexpress",
        "amex",
        "diners",
        "dinersclub",
        "discover",
        "jcb",
        "unionpay",
        "chinaunionpay",
        "cup",
        "bancontact",
        "cartesbancaires",
        "cb",
        "dankort",
        "eftpos",
        "interac",
        "postfinance",
        "twint",
    ]
)


def _scheme(name: Any) -> str | None:
    """The PT's own spelling of a known card scheme ("VISA", "girocard"), else None."""
    if not isinstance(name, str) or len(name.strip()) > 24:
        return None
    key = "".join(c for c in name.lower() if c not in " -")
    return name.strip() if key in SCHEMES else None


def _last4(pan: Any) -> str | None:
    if not isinstance(pan, str) or len(pan) < 4 or not pan[-4:].isdigit():
        return None
    return pan[-4:]


def build(
    events: list[Event],
    sale: dict[str, Any] | None,
    closing: Event | None,
    arrival_days: tuple[int, int],
    zone_day: Any = None,
) -> Status:
    """The refund's status from its events (in seq order), its sale's data (None:
    unreferenced or unknown) and the terminal's first closing after its completion.
    `zone_day(datetime) -> date`: the closing's local date (default: its own)."""
    mine = [e for e in events if e.type.startswith("refund.")]
    if not mine:
        raise TimelineError("no refund events")
    first = mine[0].data
    amount_minor = money.parse_amount(str(first.get("amount")), str(first.get("currency")))
    currency = str(first["currency"])
    requested = next((e for e in mine if e.type == "refund.requested"), mine[0])
    approved = next((e for e in mine if e.type == "refund.approved"), None)
    rejected = next((e for e in mine if e.type == "refund.rejected"), None)
    outcome = next(
        (e for e in reversed(mine) if e.type in ("refund.completed", "refund.failed")), None
    )
    waits = requested.data.get("state") == "awaiting_approval"
    card = next((e.data for e in reversed(mine) if e.data.get("masked_pan")), {})
    last4 = _last4(card.get("masked_pan"))
    sale_last4 = _last4((sale or {}).get("masked_pan"))
    wrong = last4 is not None and (sale is None or (sale_last4 is not None and sale_last4 != last4))
    done = (
        outcome is not None and outcome.type == "refund.completed" and not not_charged(outcome.data)
    )
    failed = outcome is not None and not done
    steps = [Step("requested", "done", requested.at)]
    state = AWAITING
    arrival = None
    if rejected is not None:
        state = REJECTED
        steps.append(Step("approved", "now", rejected.at, _who(rejected.data.get("by"))))
    elif approved is not None:
        steps.append(Step("approved", "done", approved.at, _who(approved.data.get("by"))))
    elif not waits:  # under the terminal's approval limit: the shop approved it at once
        steps.append(Step("approved", "done", requested.at, "shop"))
    else:
        steps.append(Step("approved", "now"))
    if rejected is None and steps[-1].state == "done":
        if failed and outcome is not None:
            state = DECLINED
            steps.append(Step("completed", "now", outcome.at))
        elif done and outcome is not None:
            state = COMPLETED
            steps.append(Step("completed", "done", outcome.at))
            if closing is not None:
                state = CLOSED
                steps.append(Step("closed", "done", closing.at))
                day = zone_day(closing.at) if zone_day is not None else closing.at.date()
                arrival = (
                    add_banking_days(day, arrival_days[0]),
                    add_banking_days(day, arrival_days[1]),
                )
                steps.append(Step("arrival", "now"))
            else:
                steps += [Step("closed", "now"), Step("arrival", "next")]
        else:
            state = IN_PROGRESS
            steps += [Step("completed", "now"), Step("closed", "next"), Step("arrival", "next")]
    elif state == AWAITING:
        steps += [Step("completed", "next"), Step("closed", "next"), Step("arrival", "next")]
    ref = outcome.data if outcome is not None else {}
    return Status(
        state=state,
        amount=money.format_amount(amount_minor, currency),
        currency=currency,
        requested_at=requested.at,
        steps=tuple(steps),
        card_last4=last4,
        scheme=_scheme(card.get("card_name")),
        wrong_card=wrong and not failed and rejected is None,
        trace=ref.get("trace") if done else None,
        receipt_no=ref.get("receipt_no") if done else None,
        batch_no=(closing.data.get("batch_no") if closing is not None else None),
        txn_id=str(first.get("txn_id")),
        rejected_by=_who(rejected.data.get("by")) if rejected is not None else None,
        arrival=arrival,
    )
