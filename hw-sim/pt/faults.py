"""Fault switches of the simulated PT, set by flag at start and at run time by control."""

from __future__ import annotations

import threading

FAULTS = {
    "drop_before_status": "drop the link after the debit, before the 04 0F (PT auto-reverses)",
    "drop_before_completion": "drop the link after the 04 0F was acknowledged, before 06 0F",
    "corrupt_byte": "corrupt one byte of the next APDU the PT sends",
    "withhold_acks": "do not ACK the ECR's next frame (serial)",
    "nak_first": "NAK the first try of the ECR's next frame (serial)",
    "split_writes": "send every APDU in 2-byte TCP writes (sticky)",
    "merge_writes": "hold APDUs back and send them merged into one TCP write (sticky)",
    "refuse_refunds": "refunds end with 06 1E result 83, function not possible (sticky)",
    "no_status_ack_timeout": "wait only 1 s for the ECR's ack of the 04 0F (sticky)",
    "abort_after_status": "after the ECR acknowledged the 04 0F (payment kept), end with "
    "06 1E 66 instead of the receipt and completion",
    "refuse_repeat_receipt": "repeat receipt ends with 06 1E 83, function not possible (sticky)",
    "repeat_receipt_unsupported": "repeat receipt is refused with 84 83, not supported (sticky)",
    "refund_unsupported": "the refund command is refused with 84 83, not supported (sticky)",
    "hold_at_pin": "payments and refunds wait at the PIN pad (04 FF 01 every 0.5 s) until "
    "this is cleared (sticky)",
}
STICKY = {
    "split_writes",
    "merge_writes",
    "refuse_refunds",
    "no_status_ack_timeout",
    "refuse_repeat_receipt",
    "repeat_receipt_unsupported",
    "refund_unsupported",
    "hold_at_pin",
}


class Faults:
    """One-shot faults fire once and clear; sticky ones stay until cleared."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._on: set[str] = set()

    def set(self, name: str, on: bool = True) -> None:
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(FAULTS))}")
        with self._lock:
            if on:
                self._on.add(name)
            else:
                self._on.discard(name)

    def active(self, name: str) -> bool:
        with self._lock:
            return name in self._on

    def take(self, name: str) -> bool:
        """True if `name` is on; a one-shot fault is cleared by taking it."""
        with self._lock:
            if name not in self._on:
                return False
            if name not in STICKY:
                self._on.discard(name)
            return True

    def snapshot(self) -> list[str]:
        with self._lock:
            return sorted(self._on)
