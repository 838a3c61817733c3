"""The refund status link in an enrolment answer (issue 24): when the back office serves
the customers' refund page, its answer carries `refund_link: {"key": HEX, "url": URL}`;
`posterm enroll` writes the key into its own 0640 file and `[refund_link]` into
posterm.toml (daemon/statuslink.py mints the links). No `refund_link`: no link."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from posterm.daemon.statuslink import KEY_HEX

KEY_NAME = "refund-link.key"
_HEX = re.compile(f"[0-9a-fA-F]{{{KEY_HEX}}}")


class LinkRefused(ValueError):
    """The answer's refund_link is not one postermd could use."""


def parse(answer: dict[str, Any]) -> tuple[str, bytes] | None:
    """(base URL, key file content) of the answer's refund_link; None without one."""
    link = answer.get("refund_link")
    if link is None:
        return None
    if not isinstance(link, dict):
        raise LinkRefused("the back office's refund_link is not an object {key, url}")
    key, url = link.get("key"), link.get("url")
    if not isinstance(key, str) or not _HEX.fullmatch(key):
        raise LinkRefused(f"the back office's refund_link.key is not {KEY_HEX} hex digits")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise LinkRefused("the back office's refund_link.url is not an http(s):// URL")
    return url, (key.lower() + "\n").encode()


def section(existing: Any, url: str, key_file: Path) -> dict[str, Any]:
    """[refund_link] for the config: the answer's URL and key file; an existing section's
    other keys (link_days) kept."""
    table = dict(existing) if isinstance(existing, dict) else {}
    table.update({"url": url, "key_file": str(key_file)})
    return table
