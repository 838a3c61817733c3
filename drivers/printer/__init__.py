"""The ESC/POS receipt printer: `Printer`, the `Receipt` model and layouts, errors."""

from posterm.drivers.printer.errors import (
    PrinterCoverOpen,
    PrinterError,
    PrinterGone,
    PrinterOffline,
    PrinterPaperOut,
    PrinterTimeout,
)
from posterm.drivers.printer.printer import Printer
from posterm.drivers.printer.receipt import Receipt

__all__ = [
    "Printer",
    "PrinterCoverOpen",
    "PrinterError",
    "PrinterGone",
    "PrinterOffline",
    "PrinterPaperOut",
    "PrinterTimeout",
    "Receipt",
]
