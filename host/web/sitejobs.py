"""Close the day for a site from the dashboard: `GET /sites/{site}/eod` asks to confirm
(which terminals will be sent it, which are offline), the confirming `POST` starts the job
in a thread of its own (`host/sitebatch.py`) and redirects to its progress page
`/sites/{site}/eod/{job}`, which refreshes itself until every terminal is done, failed,
unanswered or offline. The job's outcome lands in the audit log."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from posterm.host import sitebatch
from posterm.host.web import audit
from posterm.host.web.app import Web, login_required, urlpart
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt import commands

KEPT = 50  # the newest jobs whose progress pages stay readable


@dataclass
class Job:
    site: str
    by: str
    role: str
    progress: dict[str, sitebatch.Progress] = field(default_factory=dict)
    finished: bool = False
    error: str | None = None

    def rows(self) -> list[sitebatch.Progress]:
        return [self.progress[t] for t in sorted(self.progress)]


class Jobs:
    """The dashboard's site jobs, newest last (in memory: a restart forgets the pages,
    never what the terminals did; that is in their events and the audit log)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    def add(self, job: Job) -> str:
        job_id = secrets.token_hex(8)
        with self._lock:
            self._jobs[job_id] = job
            while len(self._jobs) > KEPT:
                self._jobs.pop(next(iter(self._jobs)))
        return job_id

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def update(self, job: Job, p: sitebatch.Progress) -> None:
        with self._lock:
            job.progress[p.terminal] = p


def _run(web: Web, jobs: Jobs, job: Job, plan: Any, key: Ed25519PrivateKey) -> None:
    try:
        final = sitebatch.close_site(
            web.store,
            web.config,
            plan,
            key=key,
            publish=web.commander.send,
            reply=web.store.reply,
            on_change=lambda p: jobs.update(job, p),
        )
        ok = all(p.status == "done" for p in final)
        result: dict[str, Any] = {"terminals": [p.as_dict() for p in final]}
    except sitebatch.SiteBatchError as exc:
        job.error, ok, result = exc.message, False, {"code": exc.code, "error": exc.message}
    finally:
        job.finished = True
    audit.write(
        web.store,
        user=job.by,
        role=job.role,
        action="eod.site",
        target=job.site,
        ok=ok,
        result=result,
    )


def _key(web: Web) -> Ed25519PrivateKey:
    path = web.config.private_key
    if path is None or not path.exists():
        raise sitebatch.SiteBatchError(
            ErrorCode.NO_KEY, "signed commands need [keys] private_key (posterm-host keygen)"
        )
    return commands.load_private_key(path.read_bytes())


def routes(web: Web) -> list[Route]:
    jobs = Jobs()

    def confirm(request: Request) -> Response:
        if web.user(request) is None:
            return login_required(request)
        site = request.path_params["site"]
        try:
            first, _ = sitebatch.start(web.store, web.config, site)
        except sitebatch.SiteBatchError as exc:
            status = 400 if exc.code == ErrorCode.BAD_REQUEST else 404
            return web.page(request, "error.html", {"error": exc.message}, status)
        return web.page(request, "site_eod.html", {"site": site, "rows": first, "job": None})

    async def begin(request: Request) -> Response:
        user = await web.guard(request, operator=True)
        if isinstance(user, Response):
            return user
        site = request.path_params["site"]
        try:
            key = _key(web)  # before anything is planned or shown as sent
            plan = await run_in_threadpool(sitebatch.start, web.store, web.config, site)
        except sitebatch.SiteBatchError as exc:
            status = 400 if exc.code == ErrorCode.BAD_REQUEST else 404
            return web.page(request, "error.html", {"error": exc.message}, status)
        job = Job(site, user.name, user.role, {p.terminal: p for p in plan[0]})
        job_id = jobs.add(job)
        threading.Thread(
            target=_run,
            args=(web, jobs, job, plan, key),
            name=f"eod-{site}",
            daemon=True,
        ).start()
        return RedirectResponse(f"/sites/{urlpart(site)}/eod/{job_id}", 303)

    def progress(request: Request) -> Response:
        if web.user(request) is None:
            return login_required(request)
        job = jobs.get(request.path_params["job"])
        if job is None or job.site != request.path_params["site"]:
            return web.page(request, "error.html", {"error": "no such close of the day"}, 404)
        return web.page(
            request, "site_eod.html", {"site": job.site, "rows": job.rows(), "job": job}
        )

    return [
        Route("/sites/{site}/eod", confirm, methods=["GET"]),
        Route("/sites/{site}/eod", begin, methods=["POST"]),
        Route("/sites/{site}/eod/{job}", progress, methods=["GET"]),
    ]
