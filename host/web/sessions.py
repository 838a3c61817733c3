"""The dashboard's sessions, kept at the host (table `web_sessions`): the cookie holds only
a random id; the row holds the user and the CSRF token, keyed by the id's HMAC under the
session secret (the table alone opens nothing; a new secret, as each process makes
without `[web] session_secret_file`, ends every session). Logging out deletes the row: a
copied cookie is dead at once. A row keeps a tag of the user's password hash: a changed
password in `[[web.users]]` (or a user removed) ends the user's sessions. A login always
gets a fresh id.

`ServerSessions` is the ASGI middleware: it fills `scope["session"]` (what Starlette's
`request.session` reads) and writes it back when a handler changed it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.cookies import CookieError, SimpleCookie
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from posterm.host.config import WebUser
from posterm.host.db import DatabaseError, Tx
from posterm.host.store import Store, StoreError
from posterm.protocol.mqtt.events import rfc3339

COOKIE = "posterm_session"
LOGGED_IN_S = 8 * 3600  # a session's life after its login
ANONYMOUS_S = 3600  # a login form's CSRF token's


def password_tag(user: WebUser) -> str:
    """What a session remembers of the password: another hash, another tag."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


class Sessions:
    """The rows of `web_sessions`."""

    def __init__(
        self, store: Store, users: Callable[[object], WebUser | None], secret: str
    ) -> None:
        self.store, self.users, self.secret = store, users, secret.encode()

    def _key(self, session_id: str) -> str:
        return hmac.new(self.secret, session_id.encode(), hashlib.sha256).hexdigest()

    def load(self, session_id: str | None) -> tuple[str | None, dict[str, Any]]:
        """(the row's key, the session) of a live session; (None, {}) otherwise."""
        if not session_id:
            return None, {}
        key = self._key(session_id)
        rows = self._rows(
            "SELECT username, password_tag, csrf FROM web_sessions WHERE"
            " session_key = ? AND expires_at > ?",
            (key, _now()),
        )
        if not rows:
            return None, {}
        row = rows[0]
        if not row["username"]:
            return key, {"csrf": row["csrf"]}
        user = self.users(row["username"])
        if user is None or password_tag(user) != row["password_tag"]:
            return None, {}  # removed, or the password changed: this session is over
        return key, {"user": user.name, "csrf": row["csrf"]}

    def save(self, key: str | None, before: dict[str, Any], after: dict[str, Any]) -> str | None:
        """Writes a changed session; the new cookie value ("" to clear it), None to keep."""
        if after == before:
            return None
        try:
            with self.store.db.tx() as tx:
                return self._write(tx, key, before, after)
        except DatabaseError as exc:
            raise StoreError(str(exc)) from exc

    def _write(
        self, tx: Tx, key: str | None, before: dict[str, Any], after: dict[str, Any]
    ) -> str | None:
        if key is not None and (not after or after.get("user") != before.get("user")):
            tx.execute("DELETE FROM web_sessions WHERE session_key = ?", (key,))
            key = None  # logged out, or logged in: never the id seen before the login
        if not after:
            return ""
        csrf = str(after.get("csrf", ""))
        if key is not None:
            tx.execute("UPDATE web_sessions SET csrf = ? WHERE session_key = ?", (csrf, key))
            return None
        user = self.users(after.get("user"))
        now = datetime.now(UTC)
        life = LOGGED_IN_S if user is not None else ANONYMOUS_S
        session_id = secrets.token_urlsafe(32)
        tx.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (rfc3339(now),))
        tx.execute(
            "INSERT INTO web_sessions (session_key, username, password_tag, csrf,"
            " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                self._key(session_id),
                user.name if user else "",
                password_tag(user) if user else "",
                csrf,
                rfc3339(now),
                rfc3339(now + timedelta(seconds=life)),
            ),
        )
        return session_id

    def _rows(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        try:
            return self.store.db.rows(sql, args)
        except DatabaseError as exc:
            raise StoreError(str(exc)) from exc


class ServerSessions:
    """The middleware: the session of the request's cookie in, the changes out."""

    def __init__(self, app: ASGIApp, *, sessions: Sessions, secure: bool) -> None:
        self.app, self.sessions = app, sessions
        self.flags = "; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key, loaded = await run_in_threadpool(self.sessions.load, _cookie(scope))
        session = scope["session"] = dict(loaded)

        async def with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                value = await run_in_threadpool(self.sessions.save, key, loaded, dict(session))
                if value is not None:
                    age = LOGGED_IN_S if "user" in session else ANONYMOUS_S
                    cookie = f"{COOKIE}={value}; Max-Age={age if value else 0}{self.flags}"
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"set-cookie", cookie.encode("latin-1")),
                    ]
            await send(message)

        await self.app(scope, receive, with_cookie)


def _cookie(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:  # a malformed header: no session
                return None
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


def _now() -> str:
    return rfc3339(datetime.now(UTC))
