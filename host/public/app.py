"""The refund status page's Starlette application, apart from the dashboard: `GET
/r/{token}` only, no login, no cookies, its own rate limit per client (429), a strict CSP,
every value HTML-escaped. A tampered, truncated or expired token, or a refund the store
does not have, all get the one "not found or expired" page (404) with the merchant's
contact and nothing else."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from posterm.host.public import records, timeline, words
from posterm.host.public.config import PublicSection
from posterm.host.public.throttle import Throttle, client_key
from posterm.host.store import Store, StoreError
from posterm.protocol import refundlink
from posterm.protocol.mqtt.events import now_rfc3339

HERE = Path(__file__).parent
log = logging.getLogger("posterm.host.public")
HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
        b"frame-ancestors 'none'; form-action 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
NO_STORE = (b"cache-control", b"no-store")  # unless the response says otherwise
STATIC = {"cache-control": "public, max-age=86400"}  # the page's stylesheet and icon: a
# reloading page takes them from the cache, not from the client's rate limit


DAY = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})")  # a date in a sentence: kept on one line


def parts(text: str) -> list[tuple[str, bool]]:
    """A sentence as (piece, is_date) pieces, for the template to keep each date whole."""
    return [(piece, i % 2 == 1) for i, piece in enumerate(DAY.split(text)) if piece]


class Guard:
    """Security headers on every response, no Set-Cookie ever, and the rate limit."""

    def __init__(self, app: ASGIApp, throttle: Throttle) -> None:
        self.app, self.throttle = app, throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.throttle.allow(client_key(client[0]) if client else "?")

        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k != b"set-cookie"]
                cached = any(k == NO_STORE[0] for k, _ in kept)
                message["headers"] = [*kept, *HEADERS, *([] if cached else [NO_STORE])]
            await send(message)

        if wait > 0:
            response = PlainTextResponse(
                "Too many requests, try again in a minute.\n",
                429,
                headers={"retry-after": str(int(wait) + 1)},
            )
            await response(scope, receive, guarded)
            return
        await self.app(scope, receive, guarded)


class Pages:
    def __init__(
        self, section: PublicSection, master: bytes, store: Store, clock: Callable[[], float]
    ) -> None:
        self.section, self.master, self.store, self.clock = section, master, store, clock
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )

    def not_found(self, request: Request) -> Response:
        lang = words.choose(None, request.headers.get("accept-language"))
        w = words.WORDS[lang]
        body = self.env.get_template("gone.html").render(
            lang=lang,
            title=w["not_found_title"],
            text=w["not_found"],
            contact=w["contact"].format(
                merchant=self.section.merchant_name, contact=self.section.merchant_contact
            ),
        )
        return HTMLResponse(body, 404)

    async def status(self, request: Request) -> Response:
        token = request.path_params.get("token", "")
        try:
            claim = refundlink.verify(self.master, token, self.clock())
            found = records.find(self.store, claim.terminal_id, claim.txn_id)
            if found is None or self.outlived(found):
                return self.not_found(request)
            status = timeline.build(
                found.events,
                found.sale,
                found.closing,
                (self.section.arrival_days[0], self.section.arrival_days[1]),
                lambda at: at.astimezone(self.section.zone).date(),
            )
        except (refundlink.LinkRefused, timeline.TimelineError):
            return self.not_found(request)
        except StoreError:
            log.exception("public: the store cannot be read")
            return PlainTextResponse("Temporarily unavailable, try again later.\n", 503)
        except (KeyError, TypeError, ValueError):  # a stored event the page cannot read
            log.exception(
                "public: refund %s of %s cannot be shown", claim.txn_id, claim.terminal_id
            )
            return self.not_found(request)
        # its own refresh is no new visit, nor a HEAD (a link checker's, a mail scanner's)
        if request.method == "GET" and request.query_params.get("auto") != "1":
            try:
                records.opened(self.store, claim.terminal_id, claim.txn_id, now_rfc3339())
            except StoreError:
                log.warning("public: an opening of %s was not counted", claim.txn_id)
        lang = words.choose(found.lang, request.headers.get("accept-language"))
        body = self.env.get_template("status.html").render(**self.view(status, lang))
        return HTMLResponse(body)

    def outlived(self, found: records.Found) -> bool:
        """Whether the refund is older than the host's own `link_days` (after the host
        last heard of it), whatever expiry its token names: a terminal mints its tokens and
        may name a later one (misconfigured, or hostile); no data after the host's expiry."""
        if found.last_heard is None:
            return False
        return self.clock() > found.last_heard.timestamp() + self.section.link_days * 86400

    def view(self, s: timeline.Status, lang: str) -> dict[str, Any]:
        """What the template shows, every sentence made here (the template escapes)."""
        w = words.WORDS[lang]
        zone = self.section.zone
        merchant, contact = self.section.merchant_name, self.section.merchant_contact

        def when(at: datetime | None) -> str:
            return at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if at else ""

        def day(d: date) -> str:
            return d.isoformat()

        steps = []
        d1, d2 = self.section.arrival_days
        for step in s.steps:
            who = w[f"who_{step.by}"] if step.by else ""
            if step.name == "approved" and s.state == timeline.REJECTED:
                text = w["rejected"].format(who=who)
            elif step.name == "completed" and s.state == timeline.DECLINED:
                text = w["declined"]
            elif step.name == "arrival" and s.arrival is not None:
                text = w["step_arrival"].format(d1=day(s.arrival[0]), d2=day(s.arrival[1]))
            elif step.name == "arrival":
                text = w["step_arrival_wait"].format(n1=d1, n2=d2)
            elif step.state == "done" or step.name == "requested":
                text = w[f"step_{step.name}"].format(who=who)
            else:
                text = w[f"step_{step.name}_wait"]
            steps.append({"state": step.state, "parts": parts(text), "at": when(step.at)})
        refs = [w["ref_txn"].format(txn=s.txn_id)]
        for key, value in (("trace", s.trace), ("receipt", s.receipt_no), ("batch", s.batch_no)):
            if isinstance(value, int):
                refs.append(w[f"ref_{key}"].format(n=value))
        card = w["card_unknown"]
        if s.card_last4:
            card = w["card_value"].format(scheme=s.scheme or w["card"], last4=s.card_last4)
        failed = s.state in (timeline.REJECTED, timeline.DECLINED)
        refresh = None  # a final state: the page stays as it is
        if s.state in (timeline.AWAITING, timeline.IN_PROGRESS):
            refresh = self.section.refresh_s[0]
        elif s.state == timeline.COMPLETED:  # the money moved; the closing comes later
            refresh = self.section.refresh_s[1]
        return {
            "lang": lang,
            "w": w,
            "heading": w["from"].format(merchant=merchant),
            "amount": f"{s.amount} {s.currency}",
            "card": card,
            "date": when(s.requested_at),
            "steps": steps,
            "failed": failed,
            "refs": refs,  # each kept on one line (a customer quotes it)
            "in_progress": w["in_progress"] if refresh else "",
            "refresh": refresh,
            "wrong_card": w["wrong_card"].format(last4=s.card_last4) if s.wrong_card else "",
            "note": w["arrival_note"] if not failed else "",
            "contact": w["next_contact" if failed else "contact"].format(
                merchant=merchant, contact=contact
            ),
        }

    async def css(self, request: Request) -> Response:
        css = (HERE / "templates" / "page.css").read_bytes()
        return Response(css, media_type="text/css", headers=STATIC)

    async def icon(self, request: Request) -> Response:
        """The page's icon (else the browser asks for /favicon.ico: a 404 in its console)."""
        svg = (HERE / "templates" / "icon.svg").read_bytes()
        return Response(svg, media_type="image/svg+xml", headers=STATIC)

    async def anything(self, request: Request) -> Response:
        return self.not_found(request)


def create_app(
    section: PublicSection, master: bytes, store: Store, clock: Callable[[], float] = time.time
) -> ASGIApp:
    """The status page's ASGI app (`clock`: Unix seconds, for the tokens' expiry)."""
    pages = Pages(section, master, store, clock)
    app = Starlette(
        routes=[
            Route("/r/{token}", pages.status, methods=["GET"]),
            Route("/page.css", pages.css, methods=["GET"]),
            Route("/icon.svg", pages.icon, methods=["GET"]),
            Route("/{rest:path}", pages.anything, methods=["GET"]),
        ]
    )
    return Guard(app, Throttle(section.rate_per_minute))
