"""The refund status link's token: minted by a terminal with its own link key, verified by
the host with its master key; every tampering, expiry or swap refused with one reason."""

from __future__ import annotations

import base64
import os

import pytest

from posterm.protocol import refundlink
from posterm.protocol.refundlink import LinkRefused

MASTER = bytes(range(32))
NOW = 1_800_000_000


def _token(tid: str = "pos-7", txn: str = "R-000123", expires: int = NOW + 3600) -> str:
    return refundlink.mint(refundlink.terminal_key(MASTER, tid), tid, txn, expires)


def test_a_token_minted_with_the_terminals_key_verifies_with_the_master_key() -> None:
    """GIVEN a token minted by pos-7 for R-000123 WHEN the host verifies it THEN it names them."""
    claim = refundlink.verify(MASTER, _token(), NOW)
    assert claim == refundlink.Claim("pos-7", "R-000123", NOW + 3600)


def test_every_flipped_byte_is_refused() -> None:
    """GIVEN a good token WHEN any one character is changed THEN it is refused, same reason."""
    token = _token()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    for i, ch in enumerate(token):
        for other in (alphabet[(alphabet.index(ch) + 1) % len(alphabet)], "%", " "):
            bad = token[:i] + other + token[i + 1 :]
            with pytest.raises(LinkRefused, match=r"^not found or expired$"):
                refundlink.verify(MASTER, bad, NOW)


def test_truncated_expired_and_swapped_tokens_are_refused() -> None:
    """GIVEN tokens truncated, expired, of another master, or re-labelled with another
    terminal or a later expiry WHEN verified THEN each is refused."""
    token = _token()
    head, mac = token.split(".")
    payload = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))

    def relabel(new: bytes) -> str:
        return base64.urlsafe_b64encode(new).rstrip(b"=").decode() + "." + mac

    bad = [
        token[:-1],
        token[:10],
        "",
        "." + mac,
        head + ".",
        token + ".x",
        relabel(payload.replace(b"pos-7", b"pos-8")),
        relabel(payload.replace(str(NOW + 3600).encode(), str(NOW + 9_999_999).encode())),
        relabel(payload.replace(str(NOW + 3600).encode(), b"0" + str(NOW + 3600).encode())),
        "x" * 1000,
    ]
    for t in bad:
        with pytest.raises(LinkRefused):
            refundlink.verify(MASTER, t, NOW)
    with pytest.raises(LinkRefused):
        refundlink.verify(MASTER, token, NOW + 3600)  # expired at its second
    with pytest.raises(LinkRefused):
        refundlink.verify(os.urandom(32), token, NOW)


def test_a_terminal_cannot_mint_for_another_terminal() -> None:
    """GIVEN pos-7's link key WHEN it mints a token naming pos-8 THEN the host refuses it."""
    forged = refundlink.mint(refundlink.terminal_key(MASTER, "pos-7"), "pos-8", "R-1", NOW + 60)
    with pytest.raises(LinkRefused):
        refundlink.verify(MASTER, forged, NOW)


def test_bad_mint_arguments_are_refused() -> None:
    """GIVEN ids with a newline, a short key or a bad expiry WHEN minting THEN ValueError."""
    key = refundlink.terminal_key(MASTER, "pos-7")
    for args in (("pos-7\n", "R-1", NOW), ("pos-7", "R 1", NOW), ("pos-7", "R-1", 0)):
        with pytest.raises(ValueError):
            refundlink.mint(key, *args)
    with pytest.raises(ValueError):
        refundlink.mint(key[:16], "pos-7", "R-1", NOW)
    with pytest.raises(ValueError):
        refundlink.terminal_key(MASTER[:31], "pos-7")
