"""postermd's `[refund_link]` (issue 24): the refund status link's base URL, this
terminal's link key file and the link's lifetime; a key file that cannot serve is refused
at start with the file and the reason, and the links it mints verify at the host."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import pytest

from posterm.daemon import placeholders, statuslink
from posterm.daemon.config import ConfigError, load_config
from posterm.protocol import refundlink

MASTER = bytes(range(32))
TID = "pos-1"
MINIMAL = f"""
[terminal]
id = "{TID}"
[payment]
url = "tcp://127.0.0.1:20007"
[printer]
url = "tcp://127.0.0.1:9100"
"""


def key_file(tmp_path: Path, text: str | None = None, mode: int = 0o640) -> Path:
    path = tmp_path / "refund-link.key"
    if text is None:
        text = refundlink.terminal_key(MASTER, TID).hex() + "\n"
    path.write_text(text, encoding="ascii")
    os.chmod(path, mode)
    return path


def config_with(tmp_path: Path, section: str) -> Path:
    path = tmp_path / "posterm.toml"
    path.write_text(MINIMAL + "[refund_link]\n" + section, encoding="utf-8")
    return path


def test_without_the_section_there_is_no_link(tmp_path: Path) -> None:
    """GIVEN a config without [refund_link] WHEN loaded THEN no section and no links:
    vouchers as before."""
    path = tmp_path / "posterm.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    config = load_config(path)
    assert config.refund_link is None and statuslink.from_config(config) is None


def test_a_good_section_mints_links_the_host_verifies(tmp_path: Path) -> None:
    """GIVEN [refund_link] with a URL and a 0640 key file (the terminal key of MASTER) WHEN
    loaded and a link minted for refund R1 requested at a known time THEN link_days is 60,
    the link is URL/r/TOKEN, the token verifies under MASTER naming this terminal and R1,
    expiring 60 days after the request; minted again, the same link."""
    key = key_file(tmp_path)
    config = load_config(
        config_with(tmp_path, f'url = "https://refunds.shop.test/"\nkey_file = "{key}"\n')
    )
    assert config.refund_link is not None and config.refund_link.link_days == 60
    links = statuslink.from_config(config)
    assert links is not None and "key" not in repr(links).replace("key_file", "")
    requested = "2026-03-01T10:00:00.000Z"
    link = links.for_refund("R1", requested)
    assert link.startswith("https://refunds.shop.test/r/")
    token = link.removeprefix("https://refunds.shop.test/r/")
    start = 1772359200  # 2026-03-01T10:00:00Z
    claim = refundlink.verify(MASTER, token, now=start + 59 * 86400)
    assert (claim.terminal_id, claim.txn_id, claim.expires) == (TID, "R1", start + 60 * 86400)
    assert links.for_refund("R1", requested) == link
    with pytest.raises(refundlink.LinkRefused):
        refundlink.verify(MASTER, token, now=start + 60 * 86400)


@pytest.mark.parametrize(
    ("text", "mode", "why"),
    [
        (None, 0o644, "mode 0644: a secret key's file is 0600 or 0640"),
        (None, 0o660, "mode 0660"),
        ("abcd\n", 0o600, "not a refund link key (64 hex digits"),
        ("zz" * 32, 0o600, "not a refund link key"),
        ("00" * 33, 0o600, "not a refund link key"),
    ],
)
def test_a_key_file_that_cannot_serve_is_refused_naming_it(
    tmp_path: Path, text: str | None, mode: int, why: str
) -> None:
    """GIVEN a key file readable by others, group-writable, too short, not hex or too
    long WHEN the config is loaded THEN ConfigError naming refund_link.key_file, the file
    and the reason."""
    key = key_file(tmp_path, text, mode)
    path = config_with(tmp_path, f'url = "https://r.shop.test"\nkey_file = "{key}"\n')
    with pytest.raises(ConfigError, match=re.escape(f"refund_link.key_file: {key}: ")) as info:
        load_config(path)
    assert why in str(info.value)


def test_a_missing_or_unreadable_key_file_is_refused(tmp_path: Path) -> None:
    """GIVEN a key file that does not exist, then a directory WHEN loaded THEN refused
    under refund_link.key_file with the reason."""
    missing = tmp_path / "none.key"
    path = config_with(tmp_path, f'url = "https://r.shop.test"\nkey_file = "{missing}"\n')
    with pytest.raises(ConfigError, match=r"refund_link\.key_file: .*cannot be read"):
        load_config(path)
    path = config_with(tmp_path, f'url = "https://r.shop.test"\nkey_file = "{tmp_path}"\n')
    with pytest.raises(ConfigError, match=r"refund_link\.key_file: .*not a file"):
        load_config(path)


@pytest.mark.parametrize(
    ("lines", "key"),
    [
        ('url = "ftp://r.shop.test"', "refund_link.url"),
        ('url = "https://r.shop.test/?x=1"', "refund_link.url"),
        ('url = "https://r.shop.test/#top"', "refund_link.url"),
        (f'url = "https://{"r" * 200}.test"', "refund_link.url"),
        ('url = "https://r.shop test"', "refund_link.url"),
        ('url = "https://r.shop.test"\nlink_days = 0', "refund_link.link_days"),
        ('url = "https://r.shop.test"\nkeyfile = "/x"', "refund_link.keyfile"),
    ],
)
def test_bad_values_are_refused_naming_the_key(tmp_path: Path, lines: str, key: str) -> None:
    """GIVEN a non-http URL, one with a query or fragment, one too long for the QR code,
    a lifetime of 0 days, a misspelt key WHEN loaded THEN ConfigError naming the key."""
    good = key_file(tmp_path)
    path = config_with(tmp_path, f'{lines}\nkey_file = "{good}"\n')
    with pytest.raises(ConfigError, match=re.escape(key)):
        load_config(path)


def test_the_packaged_placeholder_host_is_refused(tmp_path: Path) -> None:
    """GIVEN refund_link.url on a .example host WHEN postermd checks for placeholders THEN
    the key and host are named."""
    key = key_file(tmp_path)
    path = config_with(tmp_path, f'url = "https://refunds.example"\nkey_file = "{key}"\n')
    assert "refund_link.url names refunds.example" in (
        placeholders.refusal(load_config(path)) or ""
    )


def test_a_random_key_reads_back_as_written(tmp_path: Path) -> None:
    """GIVEN a 0600 file with a random key in upper-case hex WHEN read THEN those bytes."""
    raw = secrets.token_bytes(32)
    assert statuslink.read_key(key_file(tmp_path, raw.hex().upper(), 0o600)) == raw
