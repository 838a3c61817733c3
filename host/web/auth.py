"""Who may use the dashboard: the users of `[[web.users]]` with argon2 password hashes
(argon2-cffi), the session's secret, CSRF tokens kept in the session, and the roles
(`operator` may act, `viewer` reads only)."""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from posterm.host.config import WebConfig, WebUser

log = logging.getLogger("posterm.host.web")

OPERATOR = "operator"
CSRF_KEY = "csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
MIN_SECRET = 32  # bytes of a session secret file
PRUNE_AT = 10_000  # throttle keys kept before the expired ones are dropped

_hasher = PasswordHasher()
# verified against when the name is unknown, so a wrong name takes as long as a wrong password
_DUMMY = _hasher.hash(secrets.token_hex(16))


class WebAuthError(Exception):
    """The dashboard's access settings cannot be used (the secret file)."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(config: WebConfig, name: str, password: str) -> WebUser | None:
    """The user whose name and password these are, else None."""
    user = next((u for u in config.users if u.name == name), None)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


class Throttle:
    """Login attempts, counted before the password is hashed: `attempt()` takes a slot
    under a lock and counts it as failed at once, so sixty wrong passwords sent at the same
    moment get `per_name` argon2 checks, not sixty; a right one refused the same way.

    What an operator expects, and what is counted (in a sliding window of `window_s`):
    - per (client, name) `per_name` attempts: a guesser gets a few tries at a name;
    - per client `per_client` attempts under any names: nor can it spray many names;
    - nothing per name alone: failures under a name (known or unknown) from one client never
      lock the operator out of her own browser elsewhere. A lockout per name would let anyone
      who knows it keep her out; a guesser spread over many addresses is slowed by argon2.
    A success clears its (client, name) failures and takes its own attempt off the client's
    count. The client is the connection's address, or X-Forwarded-For's from a proxy in
    `[web] forwarded_allow_ips` (uvicorn's proxy headers): behind a proxy without it,
    every user is the proxy's one client."""

    def __init__(self, per_name: int = 5, per_client: int = 20, window_s: float = 300.0) -> None:
        self.per_name, self.per_client, self.window_s = per_name, per_client, window_s
        self._stamps: dict[tuple[str, ...], list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, ...], now: float) -> list[float]:
        kept = [t for t in self._stamps.get(key, []) if now - t < self.window_s]
        if kept:
            self._stamps[key] = kept
        else:
            self._stamps.pop(key, None)
        return kept

    def attempt(self, client: str, name: str) -> float | None:
        """The attempt's stamp (for `succeeded`), counted as a failure from now on; None
        when a limit is reached: then the password must not be checked."""
        now = time.monotonic()
        pair, alone = (client, name), (client,)
        with self._lock:
            if len(self._stamps) > PRUNE_AT:  # many clients and names: drop the old ones
                for key in list(self._stamps):
                    self._recent(key, now)
            if (
                len(self._recent(pair, now)) >= self.per_name
                or len(self._recent(alone, now)) >= self.per_client
            ):
                return None
            for key in (pair, alone):
                self._stamps.setdefault(key, []).append(now)
            return now

    def succeeded(self, client: str, name: str, stamp: float) -> None:
        with self._lock:
            self._stamps.pop((client, name), None)
            mine = self._stamps.get((client,), [])
            if stamp in mine:
                mine.remove(stamp)


def user_named(config: WebConfig, name: object) -> WebUser | None:
    """The configured user a session names (None if the config no longer has them)."""
    return next((u for u in config.users if u.name == name), None)


def may_act(user: WebUser) -> bool:
    return user.role == OPERATOR


def session_secret(path: Path | None) -> str:
    """The secret that keys the session ids (sessions.py): the file's contents, else a new
    one for this process (sessions then end with it)."""
    if path is None:
        log.info("web: no [web] session_secret_file: sessions last as long as this process")
        return secrets.token_hex(32)
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise WebAuthError(f"[web] session_secret_file {path}: {exc}") from None
    if len(secret) < MIN_SECRET:
        raise WebAuthError(f"[web] session_secret_file {path}: at least {MIN_SECRET} characters")
    return secret


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: object, given: str | None) -> bool:
    return (
        isinstance(expected, str)
        and bool(expected)
        and given is not None
        and hmac.compare_digest(expected.encode(), given.encode())
    )
