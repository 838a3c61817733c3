"""The ESC/POS receipt printer: `Printer`, the `Receipt` model and layouts, errors."""

from posterm.drivers.printer.errors import (
    PrinterConfigError,
    PrinterCoverOpen,
    PrinterError,
    PrinterGone,
    PrinterOffline,
    PrinterPaperOut,
    PrinterTimeout,
    ReceiptError,
)
from posterm.drivers.printer.printer import Printer
from posterm.drivers.printer.receipt import Receipt
from posterm.drivers.printer.render import Renderer

__all__ = [
    "Printer",
    "PrinterConfigError",
    "PrinterCoverOpen",
    "PrinterError",
    "PrinterGone",
    "PrinterOffline",
    "PrinterPaperOut",
    "PrinterTimeout",
    "Receipt",
    "ReceiptError",
    "Renderer",
]
