"""The ZVT protocol layer's exceptions: every failure on untrusted bytes is a `ZvtError`."""

from __future__ import annotations


class ZvtError(Exception):
    """Base of every error the ZVT codec, transports and client raise."""


class ZvtDecodeError(ZvtError):
    """Bytes that are not a valid APDU, BMP, TLV or message."""


class ZvtEncodeError(ZvtError):
    """A value that cannot be put on the wire (out of range, too long)."""


class ZvtFramingError(ZvtError):
    """A serial frame that is broken: bad CRC, bad DLE sequence, T1 gap, oversize."""
