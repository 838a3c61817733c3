"""The dashboard's pages, rendered on the server (Jinja2): login, fleet, terminal,
refunds, receipts, audit. The fleet screen refreshes itself from `/api/fleet`."""

from __future__ import annotations

from typing import Any, TypedDict

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from posterm.host import history, lookup, reconcile
from posterm.host.public import records as public_records
from posterm.host.web import audit, auth, data, export, fleetview, terminalplots
from posterm.host.web.app import Web, login_required

EVENTS_SHOWN = 50
TXNS_SHOWN = 30  # the newest of the last TXN_HOURS (older ones: the receipt lookup)
TXN_HOURS = 48


class _Criteria(TypedDict):
    amount: str | None
    last4: str | None
    since: str | None
    until: str | None


def _criteria(q: Any) -> _Criteria:
    """The receipt search's criteria out of a query string (empty: not given)."""
    return {
        "amount": q.get("amount") or None,
        "last4": q.get("last4") or None,
        "since": q.get("from") or None,
        "until": q.get("to") or None,
    }


def routes(web: Web) -> list[Route]:
    def login_page(request: Request) -> Response:
        plain = request.url.scheme == "http" and web.config.web.cookie_secure
        return web.page(request, "login.html", {"error": None, "plain_http": plain})

    async def login(request: Request) -> Response:
        form = await request.form()
        given = form.get(auth.CSRF_FIELD)
        if not auth.csrf_ok(
            request.session.get(auth.CSRF_KEY), given if isinstance(given, str) else None
        ):
            return web.page(
                request,
                "login.html",
                {"error": "The form expired: try again.", "plain_http": False},
                403,
            )
        name, password = str(form.get("name", ""))[:64], str(form.get("password", ""))
        client = request.client.host if request.client else "-"
        stamp = web.throttle.attempt(client, name)  # counted before the hash
        if stamp is None:  # counted in the client's row of the window, not a row each
            audit.throttled(web.store, client=client, user=name)
            return web.page(
                request,
                "login.html",
                {"error": "Too many failed logins: wait a few minutes.", "plain_http": False},
                429,
            )
        user = await run_in_threadpool(auth.authenticate, web.config.web, name, password)
        audit.write(
            web.store,
            user=name,
            role=user.role if user else "-",
            action="login",
            target="",
            ok=user is not None,
            result={"client": client},
        )
        if user is None:
            return web.page(
                request,
                "login.html",
                {"error": "Wrong name or password.", "plain_http": False},
                401,
            )
        web.throttle.succeeded(client, name, stamp)
        request.session.clear()
        request.session.update({"user": user.name, auth.CSRF_KEY: auth.new_csrf()})
        return RedirectResponse("/", 303)

    async def logout(request: Request) -> Response:
        checked = await web.guard(request, operator=False)
        if isinstance(checked, Response):
            return checked
        request.session.clear()
        return RedirectResponse("/login", 303)

    def fleet(request: Request) -> Response:
        if web.user(request) is None:
            return login_required(request)
        try:
            query = fleetview.parse(request.query_params)
        except lookup.LookupFailed as exc:
            return web.page(request, "error.html", {"error": exc.message}, 400)
        return web.page(
            request, "fleet.html", data.first_screen(web.store, web.config, query, web.money)
        )

    def terminal(request: Request) -> Response:
        if web.user(request) is None:
            return login_required(request)
        tid = request.path_params["tid"]
        row = next((t for t in data.fleet(web.store, web.config) if t["terminal"] == tid), None)
        if row is None:
            return web.page(request, "error.html", {"error": f"no terminal {tid}"}, 404)
        try:
            picked = terminalplots.pick_range(request.query_params.get("range"))
        except lookup.LookupFailed as exc:
            return web.page(request, "error.html", {"error": exc.message}, 400)
        txns = lookup.find(web.store, tid, since=history.since(TXN_HOURS))[-TXNS_SHOWN:][::-1]
        events = web.store.events(terminal=tid, newest_first=True, limit=EVENTS_SHOWN)
        alerts = [a for a in data.open_alerts(web.store) if a["terminal"] == tid]
        return web.page(
            request,
            "terminal.html",
            {
                "t": row,
                "history": terminalplots.build(web.store, tid, picked),
                "events": events,
                "txns": txns,
                "alerts": alerts,
            },
        )

    def refunds(request: Request) -> Response:
        if web.user(request) is None:
            return login_required(request)
        rows = public_records.with_opens(web.store, data.refunds(web.store, pending=False))
        return web.page(
            request,
            "refunds.html",
            {
                "pending": [r for r in rows if r["awaiting_approval"]],
                "recent": rows[::-1][:50],
                "plot": data.timeliness_plot(rows),
            },
        )

    def receipts(request: Request) -> Response:
        """The receipt lookup: a transaction by (terminal, txn), or a search of one
        terminal or of every terminal (terminal empty: any) by amount, card and time."""
        if web.user(request) is None:
            return login_required(request)
        q = request.query_params
        form = {k: q.get(k, "") for k in ("terminal", "from", "to", "amount", "last4", "txn")}
        found: list[dict[str, Any]] = []
        error = note = None
        searched = any(k in q for k in form)
        try:
            if form["txn"]:
                found = [lookup.show(web.store, form["txn"], form["terminal"] or None)]
            elif searched:
                found, note = lookup.search(web.store, form["terminal"] or None, **_criteria(q))
        except lookup.LookupFailed as exc:
            error = exc.message
        terminals = [t["terminal"] for t in data.fleet(web.store, web.config)]
        return web.page(
            request,
            "receipts.html",
            {
                "form": form,
                "found": found,
                "error": error,
                "note": note,
                "terminals": terminals,
                "searched": searched,
            },
        )

    def receipts_csv(request: Request) -> Response:
        """The receipt lookup's transactions as CSV (same parameters; every match, of one
        terminal or of every terminal)."""
        if web.user(request) is None:
            return login_required(request)
        tid = request.query_params.get("terminal") or None
        try:
            found = lookup.find(web.store, tid, **_criteria(request.query_params))
        except lookup.LookupFailed as exc:
            status = 400 if exc.status == 2 else 404
            return PlainTextResponse(exc.message + "\n", status)
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in tid or "fleet")
        return Response(
            export.transactions_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="transactions-{name}.csv"'},
        )

    def reconciliation(request: Request) -> Response:
        if web.user(request) is None:
            return login_required(request)
        day, rows, error = request.query_params.get("date") or data.today(), [], None
        try:
            rows = reconcile.reconcile(web.store, day=reconcile.parse_day(day))
        except reconcile.ReconcileError as exc:
            error = exc.message
        return web.page(request, "reconcile.html", {"day": day, "rows": rows, "error": error})

    def audit_page(request: Request) -> Response:
        if web.user(request) is None:
            return login_required(request)
        q = request.query_params
        shown = {"user": q.get("user", "")[:64], "action": q.get("action", "")[:64]}
        try:
            found = audit.page(web.store, **audit.parse_query(q))
        except audit.AuditQueryError as exc:
            return web.page(
                request, "audit.html", {"found": None, "error": str(exc), "filters": shown}, 400
            )
        return web.page(request, "audit.html", {"found": found, "error": None, "filters": shown})

    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", fleet),
        Route("/terminals/{tid}", terminal),
        Route("/refunds", refunds),
        Route("/receipts", receipts),
        Route("/receipts.csv", receipts_csv),
        Route("/reconcile", reconciliation),
        Route("/audit", audit_page),
    ]
