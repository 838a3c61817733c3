"""The terminal's view of the receipt printer: ready or not, print a journaled receipt.

Wraps the ESC/POS driver: turns a journaled receipt body (plain data) into the driver's
receipt model, and every driver failure into `PrintFailed`, so the receipts module never
depends on the driver's exception tree.
"""

from __future__ import annotations

import logging

log = logging.getLogger("posterm.printer")


class PrintFailed(Exception):
    """The receipt is not (completely) printed; it stays pending."""
