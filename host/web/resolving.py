"""`POST /api/terminals/{tid}/resolve/{txn}` with `{"action": "resolve", "terminal": TID,
"txn": TXN, "outcome": "charged"|"not-charged"}`: the terminal page's Resolve buttons for
an operation in doubt, the same signed `txn.resolve` as `posterm-host resolve`. A body that
does not name what the URL names, or another outcome, is refused (400) and sends nothing."""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from posterm.host.web.app import Web
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt import commands, wire

OUTCOMES = ("charged", "not-charged")


def _refused(message: str) -> Response:
    return JSONResponse({"ok": False, "code": ErrorCode.BAD_REQUEST, "error": message}, 400)


def routes(web: Web) -> list[Route]:
    async def resolve(request: Request) -> Response:
        user = await web.guard(request, operator=True)
        if isinstance(user, Response):
            return user
        tid, txn = request.path_params["tid"], request.path_params["txn"]
        try:
            got: Any = await request.json()
        except ValueError:
            got = None
        want = {"action": "resolve", "terminal": tid, "txn": txn}
        if (
            not isinstance(got, dict)
            or {k: got.get(k) for k in want} != want
            or set(got)
            != {
                *want,
                "outcome",
            }
        ):
            return _refused(
                f"the body must be {json.dumps({**want, 'outcome': 'charged'})} (or"
                " not-charged): it names the action and the target of the URL"
            )
        outcome = got["outcome"]
        if outcome not in OUTCOMES:
            return _refused(f"outcome is charged or not-charged, not {str(outcome)[:20]!r}")
        try:  # the terminal would refuse it anyway: say so before anything is sent
            args = {"txn": txn, "outcome": outcome, "by": user.name}
            wire.check_command(commands.build(tid, "txn.resolve", args))
        except (wire.WireError, ValueError) as exc:
            return _refused(f"the terminal or transaction id does not fit: {exc}")
        out = await run_in_threadpool(web.commander.resolve, user, tid, txn, outcome)
        status = 200 if out.get("ok") or "reply" in out else 504
        if out.get("code") == ErrorCode.UNKNOWN_TERMINAL:
            status = 404
        elif out.get("code") == ErrorCode.BAD_REQUEST:
            status = 400
        return JSONResponse(out, status)

    return [Route("/api/terminals/{tid}/resolve/{txn:path}", resolve, methods=["POST"])]
