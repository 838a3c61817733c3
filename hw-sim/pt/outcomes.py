"""What the simulated card and host do with an amount: approve, decline, ask for the PIN
again, or answer slowly. Chosen by the amount's cents so a test or a demo can pick it."""

from __future__ import annotations

from dataclasses import dataclass

CARDS = {
    "girocard": ("girocard", 0x05, "672559******1234", bytes.fromhex("A000000059454301")),
    "visa": ("VISA", 0x0A, "476173******0119", bytes.fromhex("A000000003101000")),
    "mastercard": ("Mastercard", 0x06, "520473******4321", bytes.fromhex("A000000004101000")),
}


@dataclass(frozen=True)
class Outcome:
    result_code: int = 0  # 0 approved, else the ZVT result code of the decline
    pin_retry: bool = False  # an incorrect PIN first, then the right one
    slow: bool = False  # the host answers late (several 04 FF 'waiting for FEP')
    intermediate: tuple[int, ...] = ()  # extra 04 FF statuses shown before the result


DECLINES_BY_CENTS = {
    51: Outcome(0x33, intermediate=(0x14,)),  # host 51: insufficient funds
    64: Outcome(0x64, intermediate=(0x0C,)),  # card not readable
    78: Outcome(0x78, intermediate=(0x09,)),  # card expired
    33: Outcome(0x7A, intermediate=(0x08,)),  # card unknown
}
HELP = """outcomes by the amount's cents (any currency with 2 decimals):
  .51  declined: insufficient funds (host code 51 -> result 33)
  .64  declined: card not readable (result 64)
  .78  declined: card expired (result 78)
  .33  declined: card unknown (result 7A)
  .55  approved after one incorrect PIN (04 FF 15, then PIN again)
  .99  approved after a slow host (several 04 FF 04, --slow-seconds each)
  anything else: approved"""


def outcome_for(amount: int) -> Outcome:
    cents = amount % 100
    if cents in DECLINES_BY_CENTS:
        return DECLINES_BY_CENTS[cents]
    if cents == 55:
        return Outcome(pin_retry=True)
    if cents == 99:
        return Outcome(slow=True)
    return Outcome()
