"""Small inline SVG plots for the dashboard, drawn on the server (no script, no library):
a step line over time with a time axis for the telemetry history, and bars for refund
timeliness."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from markupsafe import Markup, escape

W, H, PAD = 360, 96, 4
LEVEL_W = 58  # room for the level names right of a plot of levels
AXIS = 16  # the time axis under a step plot: its ticks and their labels
PAPER_LEVELS = {"out": 0.0, "near_end": 1.0, "ok": 2.0}
LINK_LEVELS = {"down": 0.0, "up": 1.0}
# the steps between two time ticks, in seconds: the smallest that gives at most MOST_TICKS
TICK_STEPS_S = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
MOST_TICKS = 5
NO_DATA = "no data in this range"


def _svg(body: str, label: str, width: int = W, height: int = H, points: int = 0) -> Markup:
    return Markup(
        f'<svg class="plot" role="img" aria-label="{escape(label)}" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" data-points="{points}"'
        f' xmlns="http://www.w3.org/2000/svg">'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fafafa" stroke="#ccc"/>'
        f"{body}<title>{escape(label)}</title></svg>"
    )


def time_ticks(t0: datetime, t1: datetime) -> list[datetime]:
    """Round times (whole minutes, hours, days in UTC) between t0 and t1, at most
    MOST_TICKS of them, one step apart; t0 alone when the range is shorter than a minute."""
    span = (t1 - t0).total_seconds()
    step = next((s for s in TICK_STEPS_S if span / s <= MOST_TICKS), TICK_STEPS_S[-1])
    while span / step > MOST_TICKS:  # a range longer than MOST_TICKS days
        step *= 2
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    first = -(-int((t0 - epoch).total_seconds()) // step) * step  # rounded up
    ticks = []
    at = epoch + timedelta(seconds=first)
    while at <= t1:
        ticks.append(at)
        at += timedelta(seconds=step)
    return ticks or [t0]


def tick_labels(ticks: Sequence[datetime]) -> list[str]:
    """HH:MM in UTC; the first tick of each day gets its date too when the ticks span days."""
    days = {t.astimezone(UTC).date() for t in ticks}
    out, last_day = [], None
    for tick in ticks:
        at = tick.astimezone(UTC)
        if len(days) > 1 and at.date() != last_day:
            out.append(at.strftime("%d %b %H:%M"))
        else:
            out.append(at.strftime("%H:%M"))
        last_day = at.date()
    return out


def steps(
    points: Sequence[tuple[str, float | None]],
    label: str,
    *,
    top: float | None = None,
    bottom: float | None = 0.0,
    ticks: dict[str, float] | None = None,
    unit: str = "",
) -> Markup:
    """A step line of (RFC 3339 time, value), oldest first, over the real range of the
    points (the first one's time to the last one's), with a time axis of labelled ticks in
    UTC (`data-at` on each: the page's script shows them in the operator's zone). A None
    value is a hole (nothing known). `ticks` names levels on the left (paper ok / out);
    else the value range is written with `unit`. `top`/`bottom`: the value range, else
    the values' own (`bottom` None: from the lowest value, not 0)."""
    plot_h = H - AXIS
    if not points:
        body = f'<text x="{W / 2}" y="{H / 2}" font-size="11" text-anchor="middle">{NO_DATA}</text>'
        return _svg(body, label)
    t0, t1 = datetime.fromisoformat(points[0][0]), datetime.fromisoformat(points[-1][0])
    span = max((t1 - t0).total_seconds(), 1.0)
    known = [v for _, v in points if v is not None]
    low = bottom if bottom is not None else min(known, default=0.0)
    high = top if top is not None else max(known, default=low)
    if high <= low:
        high = low + 1.0

    right = W - PAD - (LEVEL_W if ticks else 0)  # the level names right of the line

    def x(at: datetime) -> float:
        return PAD + (right - PAD) * min(max((at - t0).total_seconds() / span, 0.0), 1.0)

    def y(v: float) -> float:
        return plot_h - PAD - (plot_h - 2 * PAD) * ((v - low) / (high - low))

    # one polyline per run without a hole; equal neighbours make one longer step
    runs: list[list[tuple[float, float, float]]] = [[]]
    times = [datetime.fromisoformat(at) for at, _ in points]
    for i, (_, value) in enumerate(points):
        if value is None:
            runs.append([])
            continue
        x0 = x(times[i])
        x1 = x(times[i + 1]) if i + 1 < len(points) else x0 + 1
        run = runs[-1]
        if run and run[-1][2] == value:
            run[-1] = (run[-1][0], x1, value)
        else:
            run.append((x0, x1, value))
    paths = [
        " ".join(f"{a:.1f},{y(v):.1f} {b:.1f},{y(v):.1f}" for a, b, v in run) for run in runs if run
    ]
    body = "".join(
        f'<polyline points="{p}" fill="none" stroke="#2060c0" stroke-width="2"/>' for p in paths
    )
    for name, level in (ticks or {}).items():
        body += (
            f'<text x="{W - PAD}" y="{y(level) + 4:.1f}" font-size="9" fill="#666"'
            f' text-anchor="end">{escape(name)}</text>'
        )
    if ticks is None and known:
        for value, at_y in ((high, 12), (low, plot_h - PAD - 2)):
            body += (
                f'<text x="{PAD + 2}" y="{at_y}" font-size="10" fill="#666">'
                f"{value:g}{escape(unit)}</text>"
            )
    if not known:
        body += (
            f'<text x="{W / 2}" y="{plot_h / 2}" font-size="11" text-anchor="middle">'
            "nothing told in this range</text>"
        )
    body += f'<line x1="0" y1="{plot_h}" x2="{W}" y2="{plot_h}" stroke="#ccc"/>'
    axis = time_ticks(t0, t1)
    for tick, text in zip(axis, tick_labels(axis), strict=True):
        tx = x(tick)
        anchor = "start" if tx < 30 else "end" if tx > right - 30 else "middle"
        body += (
            f'<line x1="{tx:.1f}" y1="{plot_h}" x2="{tx:.1f}" y2="{plot_h + 3}" stroke="#999"/>'
            f'<text class="tick" x="{tx:.1f}" y="{H - 3}" font-size="9" fill="#444"'
            f' text-anchor="{anchor}" data-at="{tick.astimezone(UTC).isoformat()}">'
            f"{escape(text)}</text>"
        )
    return _svg(body, label, points=len(points))


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
