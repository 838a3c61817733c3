"""The refund link's master key (32 random bytes in `[public] key_file`, 0600, made by
`posterm-host public init`) and the links the host mints with it: `{url}/r/{token}`, the
token signed with the terminal's link key (protocol/refundlink.py)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from posterm.host.public.config import PublicSection
from posterm.protocol import refundlink


class PublicError(Exception):
    """The status page cannot run: its key is missing or unusable (the message says how to
    fix it)."""


def init(path: Path) -> None:
    """Write a new master key to `path` (0600); PublicError if one is there already (a new
    key would break every link given out)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise PublicError(
            f"{path}: a key is there already (every link given out uses it)"
        ) from None
    except OSError as exc:
        raise PublicError(f"{path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(os.urandom(refundlink.KEY_BYTES))
        out.flush()
        os.fsync(out.fileno())


def load(path: Path) -> bytes:
    """The master key in `path`; PublicError if it is missing, not 32 bytes, or readable by
    others than its owner."""
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PublicError(
            f"{path}: no refund link key: make it with `posterm-host public init`"
        ) from None
    except OSError as exc:
        raise PublicError(f"{path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PublicError(f"{path}: readable by others: chmod 600 {path}")
    if len(raw) != refundlink.KEY_BYTES:
        raise PublicError(f"{path}: not a refund link key ({refundlink.KEY_BYTES} bytes)")
    return raw


@dataclass(frozen=True)
class Links:
    """Mints the customer's links of one host: `url(tid, txn, since)`."""

    master: bytes
    base_url: str
    link_days: int

    @classmethod
    def of(cls, section: PublicSection) -> Links:
        return cls(load(section.key_file), section.url, section.link_days)

    def terminal_key(self, terminal_id: str) -> bytes:
        return refundlink.terminal_key(self.master, terminal_id)

    def url(self, terminal_id: str, txn_id: str, since: float) -> str:
        """The link to `txn_id` of `terminal_id`, valid `link_days` from `since` (Unix s)."""
        expires = int(since) + self.link_days * 86400
        token = refundlink.mint(self.terminal_key(terminal_id), terminal_id, txn_id, expires)
        return f"{self.base_url}/r/{token}"
