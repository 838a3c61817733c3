"""The dashboard's Starlette application: sessions (kept at the host, `sessions.py`; the
cookie HttpOnly, SameSite=Strict, Secure unless `[web] cookie_secure = false`), login,
the CSRF check on every POST, the roles, security headers, and the routes of `pages.py`
and `api.py`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from posterm.host.config import HostConfig, WebUser
from posterm.host.store import Store
from posterm.host.web import audit, auth, summary
from posterm.host.web.actions import Commander
from posterm.host.web.sessions import ServerSessions, Sessions
from posterm.protocol.errorcodes import ErrorCode

HERE = Path(__file__).parent
HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; "
        b"style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Adds the headers of `HEADERS` to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def urlpart(value: Any) -> str:
    """One part of a URL's path or query, every character but the unreserved ones
    percent-encoded (Jinja's `urlencode` leaves '/' as it is)."""
    return quote(str(value), safe="")


class Web:
    """What the routes share: config, store, the commander, the templates."""

    def __init__(
        self, config: HostConfig, store: Store, send: Callable[[str, dict[str, Any]], None]
    ) -> None:
        self.config, self.store = config, store
        self.commander = Commander(config, store, send)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.filters["urlpart"] = urlpart
        self.throttle = auth.Throttle()
        self.money = summary.DayMoney()  # today's takings and refunds, read as they come

    def user(self, request: Request) -> WebUser | None:
        return auth.user_named(self.config.web, request.session.get("user"))

    def csrf(self, request: Request) -> str:
        token = request.session.get(auth.CSRF_KEY)
        if not isinstance(token, str):
            token = auth.new_csrf()
            request.session[auth.CSRF_KEY] = token
        return token

    def page(
        self, request: Request, name: str, context: dict[str, Any], status: int = 200
    ) -> Response:
        user = self.user(request)
        return self.templates.TemplateResponse(
            request,
            name,
            {
                "user": user,
                "operator": user is not None and auth.may_act(user),
                "csrf": self.csrf(request),
                **context,
            },
            status_code=status,
        )

    async def guard(self, request: Request, *, operator: bool) -> WebUser | Response:
        """Every POST: a session (401), its CSRF token in the header or the form (403),
        and for actions the operator role (403)."""
        user = self.user(request)
        if user is None:
            return JSONResponse(
                {"ok": False, "code": ErrorCode.LOGIN, "error": "log in first"}, 401
            )
        given = request.headers.get(auth.CSRF_HEADER)
        if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            value = (await request.form()).get(auth.CSRF_FIELD)
            given = value if isinstance(value, str) else None
        if not auth.csrf_ok(request.session.get(auth.CSRF_KEY), given):
            return JSONResponse(
                {"ok": False, "code": ErrorCode.CSRF, "error": "missing or wrong CSRF token"}, 403
            )
        if operator and not auth.may_act(user):
            audit.write(
                self.store,
                user=user.name,
                role=user.role,
                action="refused",
                target=request.url.path,
                ok=False,
                result={"code": ErrorCode.FORBIDDEN},
            )
            return JSONResponse(
                {"ok": False, "code": ErrorCode.FORBIDDEN, "error": f"{user.role}s read only"}, 403
            )
        return user


def create_app(
    config: HostConfig, store: Store, send: Callable[[str, dict[str, Any]], None], secret: str
) -> Starlette:
    from posterm.host.enrol import http as enrol_http  # noqa: PLC0415
    from posterm.host.web import (  # noqa: PLC0415 (they import this module)
        api,
        downloads,
        pages,
        resolving,
        sitejobs,
    )

    web = Web(config, store, send)
    routes = [
        *pages.routes(web),
        *api.routes(web),
        *sitejobs.routes(web),  # close the day for a site
        *downloads.routes(web),  # /refunds.csv, /reconcile.csv
        *resolving.routes(web),  # the terminal page's Resolve buttons
        *enrol_http.routes(config, store),  # no login: the one-time code is the credential
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            ServerSessions,
            secure=config.web.cookie_secure,
            sessions=Sessions(store, lambda n: auth.user_named(config.web, n), secret),
        ),
    ]
    return Starlette(routes=routes, middleware=middleware)


def login_required(request: Request) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"ok": False, "code": ErrorCode.LOGIN, "error": "log in first"}, 401)
    return RedirectResponse("/login", 303)
