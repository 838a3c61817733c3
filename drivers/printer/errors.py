"""The printer driver's exceptions: the receipt is not (completely) printed, or bad input."""

from __future__ import annotations


class PrinterError(Exception):
    """Base: the job did not print, or not completely."""


class PrinterOffline(PrinterError):
    """Offline, in error, or no valid status answer (unknown is never taken for ready)."""


class PrinterCoverOpen(PrinterError):
    """The cover is open."""


class PrinterPaperOut(PrinterError):
    """The paper ran out (before the job, or in the middle of it)."""


class PrinterTimeout(PrinterError):
    """A write, or the job as a whole, did not complete within its time limit."""


class PrinterGone(PrinterError):
    """The device could not be opened or went away (cable, USB, connection)."""


class PrinterConfigError(PrinterError, ValueError):
    """A bad printer URL, width, encoding or time limit; nothing was sent."""


class ReceiptError(PrinterError, ValueError):
    """A receipt that cannot be printed as given (bad field, unknown key); nothing was sent."""
