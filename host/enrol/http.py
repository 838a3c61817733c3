"""`POST /api/enroll` on the host's web server: no login (the one-time code is the
credential); JSON {code, csr} in, the terminal's certificate and settings out, a 4xx with
`{ok: false, code, error}` on a refusal (nothing changes)."""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from posterm.host.config import HostConfig
from posterm.host.enrol import EnrolError, grant
from posterm.host.store import Store

MAX_BODY = 16384


def routes(config: HostConfig, store: Store) -> list[Route]:
    async def enroll(request: Request) -> Response:
        raw = await request.body()
        try:
            if len(raw) > MAX_BODY:
                raise EnrolError(f"the request is over {MAX_BODY} bytes", status=413)
            try:
                body = json.loads(raw)
            except ValueError:
                raise EnrolError("a JSON object {code, csr} is expected") from None
            answer = await run_in_threadpool(grant.enrol, config, store, body)
        except EnrolError as exc:
            return JSONResponse({"ok": False, "code": exc.code, "error": exc.message}, exc.status)
        return JSONResponse(answer)

    return [Route("/api/enroll", enroll, methods=["POST"])]
