"""The fleet page's search, filters, groups, sort and pages, from its query string
(`/?q=pos-1&payments=no&state=online&mode=pt_down&site=north&tag=till&group=site&page=2`):
the same for the page and for `/api/fleet`, so the page's refresh keeps what the operator
chose. Grouped by site, the rows come site by site (no site last), each with its `group`
label; grouped by tag, a terminal is under each of its tags (no tag last); pages count
rows as shown."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from posterm.host.enrol.codes import SITE, TAG
from posterm.host.lookup import LookupFailed
from posterm.protocol.errorcodes import ErrorCode

STATES = ("online", "stale", "offline", "unknown")
GROUPS = ("site", "tag")
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
    site: str = ""
    tag: str = ""
    group: str = ""
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
    site, tag = params.get("site", "").strip(), params.get("tag", "").strip()
    if site and not SITE.fullmatch(site):
        raise _bad(f"site is 1-24 of A-Z a-z 0-9 _ -, not {site[:40]!r}")
    if tag and not TAG.fullmatch(tag):
        raise _bad(f"tag is 1-32 of a-z 0-9 _ -, not {tag[:40]!r}")
    page_text = params.get("page", "") or "1"
    if not page_text.isdigit() or not 1 <= int(page_text) <= MAX_PAGE:
        raise _bad(f"page is a whole number from 1, not {page_text[:20]!r}")
    return FleetQuery(
        q=q,
        payments=_choice(params, "payments", LEVELS, ""),
        state=_choice(params, "state", STATES, ""),
        mode=mode,
        site=site,
        tag=tag,
        group=_choice(params, "group", GROUPS, ""),
        sort=_choice(params, "sort", tuple(SORTS), "payments"),
        page=int(page_text),
    )


def select(terminals: list[dict[str, Any]], query: FleetQuery) -> dict[str, Any]:
    """The page of rows the query picks: `rows` (grouped: each with its `group` label),
    `matched` (terminals, all pages), `page`, `pages`."""
    needle = query.q.lower()
    found = [
        t
        for t in terminals
        if needle in t["terminal"].lower()
        and (not query.payments or t["payments"]["level"] == query.payments)
        and (not query.state or t["state"] == query.state)
        and (not query.mode or t.get("mode") == query.mode)
        and (not query.site or t.get("site") == query.site)
        and (not query.tag or query.tag in (t.get("tags") or ()))
    ]
    found.sort(key=SORTS[query.sort])
    shown = _grouped(found, query.group)
    pages = max(1, -(-len(shown) // PER_PAGE))
    page = min(query.page, pages)
    return {
        "rows": shown[(page - 1) * PER_PAGE : page * PER_PAGE],
        "matched": len(found),
        "page": page,
        "pages": pages,
    }


def _grouped(rows: list[dict[str, Any]], group: str) -> list[dict[str, Any]]:
    """`rows` group by group (named ones by name, then none), each row with its label;
    the rows' order kept within a group."""
    if not group:
        return rows
    keyed: list[tuple[str, dict[str, Any]]] = []
    for t in rows:
        if group == "site":
            keyed.append((t.get("site") or "", t))
        else:
            keyed.extend((tag, t) for tag in (t.get("tags") or [""]))
    keyed.sort(key=lambda kt: (kt[0] == "", kt[0]))  # stable: the chosen sort within
    none = "no site" if group == "site" else "no tag"
    return [{**t, "group": f"{group} {key}" if key else none} for key, t in keyed]
