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
    """Failed logins per name and per client address: after `limit` within `window_s`,
    further attempts are refused until the oldest failure leaves the window."""

    def __init__(self, limit: int = 5, window_s: float = 300.0) -> None:
        self.limit, self.window_s = limit, window_s
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(key, []) if now - t < self.window_s]
        if kept:
            self._failures[key] = kept
        else:
            self._failures.pop(key, None)
        return kept

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.limit for k in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, []).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


def user_named(config: WebConfig, name: object) -> WebUser | None:
    """The configured user a session names (None if the config no longer has them)."""
    return next((u for u in config.users if u.name == name), None)


def may_act(user: WebUser) -> bool:
    return user.role == OPERATOR


def session_secret(path: Path | None) -> str:
    """The secret that signs session cookies: the file's contents, else a new one for this
    process (sessions then end with it)."""
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
    return (isinstance(expected, str) and bool(expected) and given is not None
            and hmac.compare_digest(expected.encode(), given.encode()))  # fmt: skip
