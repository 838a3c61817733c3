"""The dashboard's JSON API: what the pages poll (`GET`) and the operator's actions
(`POST`, CSRF token in the `X-CSRF-Token` header, operators only; a viewer gets 403).

A transaction is named by its terminal and its id in every URL
(`/api/terminals/{tid}/refunds/{txn}/approve`). An action's JSON body names it again
(`{"action": "approve", "terminal": …, "txn": …}`) and must agree with the URL: a URL a
terminal-chosen id bent into another one (`../eod`) runs nothing."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from posterm.host import history, lookup, reconcile
from posterm.host.alerts import acks
from posterm.host.web import audit, data, fleetview
from posterm.host.web.app import Web, login_required
from posterm.host.web.terminalplots import RANGES, pick_range
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt.events import now_rfc3339

NOT_JSON = {"ok": False, "code": ErrorCode.BAD_REQUEST, "error": "a JSON object is expected"}


def routes(web: Web) -> list[Route]:
    def reader(build: Any) -> Any:
        def endpoint(request: Request) -> Response:
            if web.user(request) is None:
                return login_required(request)
            try:
                return JSONResponse(build(request))
            except lookup.LookupFailed as exc:
                return JSONResponse(
                    {"ok": False, "code": exc.code, "error": exc.message},
                    400 if exc.status == 2 else 404,
                )

        return endpoint

    def fleet(request: Request) -> dict[str, Any]:
        query = fleetview.parse(request.query_params)  # a bad one: 400, bad_request
        shown = data.first_screen(web.store, web.config, query, web.money)
        return {"now": now_rfc3339(), **shown, "query": asdict(query)}

    def terminal(request: Request) -> dict[str, Any]:
        tid = request.path_params["tid"]
        rows = [t for t in data.fleet(web.store, web.config) if t["terminal"] == tid]
        if not rows:
            raise lookup.LookupFailed(ErrorCode.UNKNOWN_TERMINAL, f"no terminal {tid}")
        return {
            "terminal": rows[0],
            "telemetry": web.store.telemetry_history(
                tid, history.since(RANGES[pick_range(request.query_params.get("range"))])
            ),
            "events": web.store.events(terminal=tid, newest_first=True, limit=50),
        }

    def refunds(request: Request) -> dict[str, Any]:
        rows = data.refunds(web.store, pending=request.query_params.get("pending") == "1")
        return {"refunds": rows, "stats": lookup.refund_stats(rows)}

    def receipts(request: Request) -> dict[str, Any]:
        q = request.query_params
        newest, note = lookup.search(
            web.store,
            q.get("terminal") or None,
            amount=q.get("amount"),
            last4=q.get("last4"),
            since=q.get("from"),
            until=q.get("to"),
        )
        return {"transactions": newest[::-1], "note": note}

    def receipt(request: Request) -> dict[str, Any]:
        return lookup.show(web.store, request.path_params["txn"], request.path_params["tid"])

    def reconciliation(request: Request) -> dict[str, Any]:
        try:
            day = reconcile.parse_day(request.query_params.get("date"))
            return {
                "date": day.isoformat(),
                "batches": reconcile.reconcile(
                    web.store, day=day, terminal=request.query_params.get("terminal")
                ),
            }
        except reconcile.ReconcileError as exc:
            raise lookup.LookupFailed(exc.code, exc.message, exc.status) from None

    def audit_log(request: Request) -> dict[str, Any]:
        """`?user=&action=&page=&per_page=`: a page of the log, newest first."""
        try:
            return audit.page(web.store, **audit.parse_query(request.query_params)).json()
        except audit.AuditQueryError as exc:
            raise lookup.LookupFailed(ErrorCode.BAD_REQUEST, str(exc), 2) from None

    async def body(request: Request) -> dict[str, Any] | None:
        try:
            value = await request.json()
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def checked(request: Request, action: str) -> Response | None:
        """The action's body names the action and what the URL names: None when it does."""
        want = {
            "action": action,
            **{
                k: request.path_params[p]
                for k, p in (("terminal", "tid"), ("txn", "txn"))
                if p in request.path_params
            },
        }
        if await body(request) == want:
            return None
        return JSONResponse(
            NOT_JSON
            | {
                "error": f"the body must be {json.dumps(want)}: it"
                " names the action and the target of the URL"
            },
            400,
        )

    def decide(decision: str) -> Any:
        async def endpoint(request: Request) -> Response:
            user = await web.guard(request, operator=True)
            if isinstance(user, Response):
                return user
            if (refused := await checked(request, decision)) is not None:
                return refused
            p = request.path_params
            out = await run_in_threadpool(web.commander.refund, user, p["tid"], p["txn"], decision)
            return JSONResponse(out, _status(out))

        return endpoint

    async def reprint(request: Request) -> Response:
        user = await web.guard(request, operator=True)
        if isinstance(user, Response):
            return user
        if (refused := await checked(request, "reprint")) is not None:
            return refused
        p = request.path_params
        out = await run_in_threadpool(web.commander.reprint, user, p["tid"], p["txn"])
        return JSONResponse(out, _status(out))

    async def close_day(request: Request) -> Response:
        user = await web.guard(request, operator=True)
        if isinstance(user, Response):
            return user
        if (refused := await checked(request, "eod")) is not None:
            return refused
        out = await run_in_threadpool(web.commander.close_day, user, request.path_params["tid"])
        return JSONResponse(out, _status(out))

    async def alert_action(request: Request) -> Response:
        """POST /api/alerts/{id}/ack `{"action": "ack", "alert": ID, "note": …}` or
        /mute `{"action": "mute", "alert": ID, "for": "2h"}`: by the logged-in operator."""
        user = await web.guard(request, operator=True)
        if isinstance(user, Response):
            return user
        action, alert_id = request.path_params["action"], request.path_params["alert_id"]
        if action not in ("ack", "mute"):
            return JSONResponse(
                {"ok": False, "code": ErrorCode.BAD_REQUEST, "error": "ack or mute"}, 404
            )
        got = await body(request)
        if got is None or got.get("action") != action or got.get("alert") != alert_id:
            want = {"action": action, "alert": alert_id}
            return JSONResponse(
                NOT_JSON | {"error": f"the body must name {json.dumps(want)} as the URL does"},
                400,
            )
        out = await run_in_threadpool(alert_word, user, action, alert_id, got)
        status = 200 if out["ok"] else {2: 400}.get(out.pop("status"), 404)
        if out.get("code") == ErrorCode.ALERT_CLEARED:
            status = 409
        return JSONResponse(out, status)

    def alert_word(user: Any, action: str, alert_id: str, got: dict[str, Any]) -> dict[str, Any]:
        now = now_rfc3339()
        try:
            if action == "ack":
                note = got.get("note", "")
                if not isinstance(note, str):
                    raise acks.AlertActionError(ErrorCode.BAD_REQUEST, "note: a string", 2)
                row = acks.acknowledge(web.store, alert_id, by=user.name, note=note, now=now)
            else:
                span = got.get("for")
                if not isinstance(span, str):
                    raise acks.AlertActionError(ErrorCode.BAD_REQUEST, "for: like 30m, 2h", 2)
                row = acks.mute(
                    web.store, alert_id, by=user.name, seconds=acks.duration_s(span), now=now
                )
            out: dict[str, Any] = {"ok": True, "alert": row}
        except acks.AlertActionError as exc:
            out = {"ok": False, "code": exc.code, "error": exc.message, "status": exc.status}
        audit.write(
            web.store,
            user=user.name,
            role=user.role,
            action=f"alert.{action}",
            target=alert_id,
            ok=bool(out["ok"]),
            result={k: v for k, v in out.items() if k != "status"},
        )
        return out

    return [
        Route("/api/fleet", reader(fleet)),
        Route("/api/terminals/{tid}", reader(terminal)),
        Route("/api/refunds", reader(refunds)),
        Route("/api/receipts", reader(receipts)),
        Route("/api/terminals/{tid}/receipts/{txn:path}", reader(receipt)),
        Route("/api/reconcile", reader(reconciliation)),
        Route("/api/audit", reader(audit_log)),
        Route(
            "/api/terminals/{tid}/refunds/{txn:path}/approve", decide("approve"), methods=["POST"]
        ),
        Route("/api/terminals/{tid}/refunds/{txn:path}/reject", decide("reject"), methods=["POST"]),
        Route("/api/terminals/{tid}/receipts/{txn:path}/reprint", reprint, methods=["POST"]),
        Route("/api/terminals/{tid}/eod", close_day, methods=["POST"]),
        Route("/api/alerts/{alert_id}/{action:str}", alert_action, methods=["POST"]),
    ]


def _status(out: dict[str, Any]) -> int:
    """200 with the terminal's answer (ok or refused); 404 unknown; 504 no reply in time."""
    code = out.get("code")
    if out.get("ok") or "reply" in out:
        return 200
    statuses: dict[str, int] = {
        ErrorCode.UNKNOWN_TXN: 404,
        ErrorCode.UNKNOWN_TERMINAL: 404,
        ErrorCode.NO_REPLY: 504,
        ErrorCode.BAD_REQUEST: 400,
        ErrorCode.AMBIGUOUS_TXN: 409,
    }
    return statuses.get(str(code), 500)
