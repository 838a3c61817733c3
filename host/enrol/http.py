"""`POST /api/enroll` and `POST /api/renew` on the host's web server: no login (the
one-time code, or the current certificate's key, is the credential); JSON in, the
terminal's certificate (and settings) out, a 4xx with `{ok: false, code, error}` on a
refusal (nothing changes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from posterm.host.config import HostConfig
from posterm.host.enrol import EnrolError, grant, renew
from posterm.host.store import Store

MAX_BODY = 16384


def routes(config: HostConfig, store: Store) -> list[Route]:
    def endpoint(work: Callable[[HostConfig, Store, Any], dict[str, Any]]) -> Any:
        async def handle(request: Request) -> Response:
            raw = await request.body()
            try:
                if len(raw) > MAX_BODY:
                    raise EnrolError(f"the request is over {MAX_BODY} bytes", status=413)
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise EnrolError("a JSON object is expected") from None
                answer = await run_in_threadpool(work, config, store, body)
            except EnrolError as exc:
                return JSONResponse(
                    {"ok": False, "code": exc.code, "error": exc.message}, exc.status
                )
            return JSONResponse(answer)

        return handle

    return [
        Route("/api/enroll", endpoint(grant.enrol), methods=["POST"]),
        Route("/api/renew", endpoint(renew.renew), methods=["POST"]),
    ]
