"""The customer's refund status link (`[refund_link]`, issue 24): the terminal's link key,
read once at start, and the link of one refund, `{url}/r/{token}`, printed as a QR code
on the customer's voucher; the back office's public page answers it.

The token (protocol/refundlink.py) names this terminal and the refund and expires
`link_days` after the refund was asked for: derived from the journaled request time, so a
refund always gets the same link (a RECOVERED voucher, a DUPLICATE reprint). It is a
bearer link: printed for the customer, never logged."""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from posterm.protocol import refundlink

if TYPE_CHECKING:
    from posterm.daemon.config import Config

KEY_HEX = 2 * refundlink.KEY_BYTES
LOOSE_MODE = 0o027  # group write, or anything for others: not a secret's file
DAY_S = 86400
_HEX = re.compile(r"[0-9a-fA-F]+")


def read_key(path: Path) -> bytes:
    """The link key in `path` (hex, one line; a 0600 or 0640 file); ValueError saying what
    is wrong, in words the operator can act on."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path}: not a file")
        if info.st_mode & LOOSE_MODE:
            mode = stat.S_IMODE(info.st_mode)
            raise ValueError(
                f"{path}: mode {mode:04o}: a secret key's file is 0600 or 0640 (chmod 0640 {path})"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read: {exc.strerror}") from None
    text = raw.decode("ascii", errors="replace").strip()
    if len(text) != KEY_HEX or not _HEX.fullmatch(text):
        raise ValueError(
            f"{path}: not a refund link key ({KEY_HEX} hex digits, as"
            " `posterm-host public link-key TERMINAL` prints it)"
        )
    return bytes.fromhex(text)


@dataclass(frozen=True)
class StatusLinks:
    """Mints the status link of this terminal's refunds."""

    base: str
    terminal_id: str
    days: int
    key: bytes = field(repr=False)

    def expiry(self, requested_at: str) -> int:
        """Unix seconds: `days` after the refund's journaled request time (RFC 3339)."""
        return int(datetime.fromisoformat(requested_at).timestamp()) + self.days * DAY_S

    def for_refund(self, txn_id: str, requested_at: str) -> str:
        token = refundlink.mint(self.key, self.terminal_id, txn_id, self.expiry(requested_at))
        return f"{self.base.rstrip('/')}/r/{token}"


def from_config(config: Config) -> StatusLinks | None:
    """The terminal's links, or None without [refund_link] (vouchers without a link)."""
    section = config.refund_link
    if section is None:
        return None
    return StatusLinks(
        base=section.url,
        terminal_id=config.terminal.id,
        days=section.link_days,
        key=read_key(section.key_file),
    )
