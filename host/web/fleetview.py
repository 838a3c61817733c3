"""The fleet page's search, filters, sort and pages, from its query string
(`/?q=pos-1&payments=no&state=online&mode=pt_down&sort=payments&page=2`): the same for the
page and for `/api/fleet`, so the page's refresh keeps what the operator chose."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from posterm.host.lookup import LookupFailed
from posterm.protocol.errorcodes import ErrorCode

STATES = ("online", "stale", "offline", "unknown")
LEVELS = ("no", "warn", "unknown", "yes")  # worst first
PER_PAGE = 100
MAX_PAGE = 100_000


def _rank(values: tuple[str, ...], value: Any) -> int:
    return values.index(value) if value in values else len(values)


SORTS: dict[str, Callable[[dict[str, Any]], tuple[Any, ...]]] = {
    # the terminals that cannot take payments first, then those in doubt about it
    "payments": lambda t: (_rank(LEVELS, t["payments"]["level"]), t["terminal"]),
    "terminal": lambda t: (t["terminal"],),
    "state": lambda t: (_rank(STATES[::-1], t["state"]), t["terminal"]),
    "mode": lambda t: (str(t.get("mode") or "~"), t["terminal"]),
    # the longest silent first; never seen before all
    "last_seen": lambda t: (str(t.get("last_seen") or ""), t["terminal"]),
}


@dataclass(frozen=True)
class FleetQuery:
    q: str = ""
    payments: str = ""
    state: str = ""
    mode: str = ""
    sort: str = "payments"
    page: int = 1

    def url(self, **change: Any) -> str:
        """This query as a query string, with `change` applied; defaults left out."""
        fields = {**asdict(self), **change}
        default = asdict(FleetQuery())
        return urlencode({k: v for k, v in fields.items() if v != default[k]})


def _bad(message: str) -> LookupFailed:
    return LookupFailed(ErrorCode.BAD_REQUEST, message, status=2)


def _choice(params: Mapping[str, str], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = params.get(key, "") or default
    if value and value not in allowed:
        raise _bad(f"{key} is one of {', '.join(allowed)}, not {value[:40]!r}")
    return value


def parse(params: Mapping[str, str]) -> FleetQuery:
    """The query from the request's parameters; a bad one is refused, naming the key."""
    q, mode = params.get("q", "").strip(), params.get("mode", "").strip()
    if len(q) > 64:
        raise _bad("q (a part of a terminal id) is at most 64 characters")
    if len(mode) > 32 or not all(c.isalnum() or c == "_" for c in mode):
        raise _bad(f"mode is a word such as ready or pt_down, not {mode[:40]!r}")
    page_text = params.get("page", "") or "1"
    if not page_text.isdigit() or not 1 <= int(page_text) <= MAX_PAGE:
        raise _bad(f"page is a whole number from 1, not {page_text[:20]!r}")
    return FleetQuery(
        q=q,
        payments=_choice(params, "payments", LEVELS, ""),
        state=_choice(params, "state", STATES, ""),
        mode=mode,
        sort=_choice(params, "sort", tuple(SORTS), "payments"),
        page=int(page_text),
    )


def select(terminals: list[dict[str, Any]], query: FleetQuery) -> dict[str, Any]:
    """The page of rows the query picks: `rows`, `matched` (all pages), `page`, `pages`."""
    needle = query.q.lower()
    found = [
        t
        for t in terminals
        if needle in t["terminal"].lower()
        and (not query.payments or t["payments"]["level"] == query.payments)
        and (not query.state or t["state"] == query.state)
        and (not query.mode or t.get("mode") == query.mode)
    ]
    found.sort(key=SORTS[query.sort])
    pages = max(1, -(-len(found) // PER_PAGE))
    page = min(query.page, pages)
    return {
        "rows": found[(page - 1) * PER_PAGE : page * PER_PAGE],
        "matched": len(found),
        "page": page,
        "pages": pages,
    }
