"""Small inline SVG plots for the dashboard, drawn on the server (no script, no library):
a step line over time for the telemetry history, and bars for refund timeliness."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape

W, H, PAD = 360, 80, 4
PAPER_LEVELS = {"out": 0.0, "near_end": 1.0, "ok": 2.0}
LINK_LEVELS = {"down": 0.0, "up": 1.0}


def _svg(body: str, label: str, width: int = W, height: int = H) -> Markup:
    return Markup(
        f'<svg class="plot" role="img" aria-label="{escape(label)}" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fafafa" stroke="#ccc"/>'
        f"{body}<title>{escape(label)}</title></svg>"
    )


def steps(
    points: Sequence[tuple[str, float | None]],
    label: str,
    *,
    start: str,
    end: str,
    top: float | None = None,
    ticks: dict[str, float] | None = None,
) -> Markup:
    """A step line of (RFC 3339 time, value) between `start` and `end`; a None value is a
    hole (nothing known). `ticks` names levels on the left (e.g. paper ok / out)."""
    t0, t1 = datetime.fromisoformat(start), datetime.fromisoformat(end)
    span = max((t1 - t0).total_seconds(), 1.0)
    known = [v for _, v in points if v is not None]
    high = top if top is not None else max([*known, 1.0])
    high = high if high > 0 else 1.0

    def x(at: str) -> float:
        return PAD + (W - 2 * PAD) * min(
            max((datetime.fromisoformat(at) - t0).total_seconds() / span, 0.0), 1.0
        )

    def y(v: float) -> float:
        return H - PAD - (H - 2 * PAD) * (v / high)

    paths, current = [], ""
    for i, (at, value) in enumerate(points):
        if value is None:
            if current:
                paths.append(current)
            current = ""
            continue
        nxt = points[i + 1][0] if i + 1 < len(points) else None
        x1 = x(nxt) if nxt is not None else x(at) + 1
        seg = f"{x(at):.1f},{y(value):.1f} {x1:.1f},{y(value):.1f}"
        current = f"{current} {seg}" if current else seg
    if current:
        paths.append(current)
    body = "".join(
        f'<polyline points="{p}" fill="none" stroke="#2060c0" stroke-width="2"/>' for p in paths
    )
    for name, level in (ticks or {}).items():
        body += (
            f'<text x="{W - PAD}" y="{y(level) + 4:.1f}" font-size="9" fill="#666"'
            f' text-anchor="end">{escape(name)}</text>'
        )
    if ticks is None:
        body += f'<text x="{PAD + 2}" y="12" font-size="10" fill="#666">max {high:g}</text>'
    if not known:
        body += f'<text x="{W / 2}" y="{H / 2}" font-size="11" text-anchor="middle">no data</text>'
    return _svg(body, label)


def bars(rows: Sequence[tuple[str, float | None, float | None]], label: str) -> Markup:
    """Per name: the median (filled) and p95 (outlined) in seconds, one row each."""
    row_h, name_w = 22, 120
    height = max(len(rows), 1) * row_h + 2 * PAD
    high = max([v for _, m, p in rows for v in (m, p) if v is not None] or [1.0])
    scale = (W - name_w - 50) / high
    body = ""
    for i, (name, median, p95) in enumerate(rows):
        top = PAD + i * row_h
        body += f'<text x="{PAD}" y="{top + 15}" font-size="11">{escape(name)}</text>'
        if p95 is not None:
            body += (
                f'<rect x="{name_w}" y="{top + 3}" width="{p95 * scale:.1f}" height="16"'
                ' fill="none" stroke="#c06020"/>'
            )
        if median is not None:
            body += (
                f'<rect x="{name_w}" y="{top + 6}" width="{median * scale:.1f}"'
                ' height="10" fill="#2060c0"/>'
            )
        text = "no completed refund" if median is None else f"{median:g} s / p95 {p95:g} s"
        body += (
            f'<text x="{W - PAD}" y="{top + 15}" font-size="10" text-anchor="end"'
            f' fill="#333">{escape(text)}</text>'
        )
    if not rows:
        body += f'<text x="{W / 2}" y="18" font-size="11" text-anchor="middle">no refunds</text>'
    return _svg(body, label, height=height)
