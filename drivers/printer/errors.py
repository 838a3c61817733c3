"""The printer driver's exceptions: the receipt is not (completely) printed."""

from __future__ import annotations


class PrinterError(Exception):
    """Base: the job did not print, or not completely."""


class PrinterOffline(PrinterError):
    """Offline, or no valid status answer (unknown is never taken for ready)."""


class PrinterCoverOpen(PrinterError):
    pass


class PrinterPaperOut(PrinterError):
    pass


class PrinterTimeout(PrinterError):
    """A write did not complete within the timeout."""


class PrinterGone(PrinterError):
    """The device could not be opened or went away (cable, USB, connection)."""
