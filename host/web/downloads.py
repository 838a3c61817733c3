"""The dashboard's CSV downloads beside their pages: `/refunds.csv` (every refund, or
`?pending=1` those awaiting approval) and `/reconcile.csv?date=YYYY-MM-DD` (the day's
reconciliation, as `posterm-host reconcile --csv`). A bad parameter is a 400 that says so."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from posterm.host import lookup, reconcile
from posterm.host.web import data, export
from posterm.host.web.app import Web, login_required

CSV = "text/csv; charset=utf-8"


def _download(body: str, name: str) -> Response:
    return Response(
        body,
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{export.filename_part(name)}"'},
    )


def routes(web: Web) -> list[Route]:
    def refunds_csv(request: Request) -> Response:
        if web.user(request) is None:
            return login_required(request)
        pending = request.query_params.get("pending", "")
        if pending not in ("", "0", "1"):
            return PlainTextResponse(f"pending is 1 or 0, not {pending[:20]!r}\n", 400)
        rows = lookup.refunds(web.store, pending=pending == "1")
        return _download(export.refunds_csv(rows), f"refunds-{data.today()}.csv")

    def reconcile_csv(request: Request) -> Response:
        if web.user(request) is None:
            return login_required(request)
        text = request.query_params.get("date") or data.today()
        try:
            day = reconcile.parse_day(text)
            rows = reconcile.reconcile(web.store, day=day)
        except reconcile.ReconcileError as exc:
            return PlainTextResponse(exc.message + "\n", 400)
        return _download(reconcile.to_csv(rows), f"reconciliation-{day.isoformat()}.csv")

    return [
        Route("/refunds.csv", refunds_csv),
        Route("/reconcile.csv", reconcile_csv),
    ]
