"""Small server-rendered SVG charts for the staff pages: histograms, an AI-vs-human scatter and
interval ("forest") plots. Pure (no Django, no plotting library at run time): inline SVG prints
sharply, needs no image endpoint, and the numbers are in the page's own markup.

Every label is escaped here, so the pages may mark the result safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

FONT = 'font-family="system-ui, sans-serif" font-size="10"'
BAR = "#4c78a8"
POINT = "#4c78a8"
AXIS = "#555"
GRID = "#ddd"


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    label = escape(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{label}"><title>{label}</title>' + "".join(body) + "</svg>"
    )


def histogram(counts: Sequence[int], edges: Sequence[float], *, title: str, width: int = 320, height: int = 140) -> str:
    """Bars of `counts` over bins `edges` (len(counts) + 1 edges)."""
    left, right, top, bottom = 28, 8, 16, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(counts, default=0) or 1
    bar_w = plot_w / max(1, len(counts))
    body = [f'<text x="{left}" y="11" {FONT} fill="{AXIS}">{escape(title)}</text>']
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{AXIS}"/>')
    body.append(f'<text x="{left - 4}" y="{top + 8}" {FONT} text-anchor="end" fill="{AXIS}">{peak}</text>')
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        x = left + i * bar_w
        body.append(
            f'<rect x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
            f'fill="{BAR}"><title>{edges[i]:g}-{edges[i + 1]:g}: {count}</title></rect>'
        )
    for i, edge in enumerate(edges):
        if i % 2 == 0:
            x = left + i * bar_w
            body.append(f'<text x="{x:.1f}" y="{height - 8}" {FONT} text-anchor="middle" fill="{AXIS}">{edge:g}</text>')
    return _svg(width, height, title, body)


def scatter(
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    title: str,
    x_label: str = "AI score",
    y_label: str = "human score",
    size: int = 260,
    limit: int = 2000,
) -> str:
    """Points on 0-10 x 0-10 with the line of perfect agreement; at most `limit` points."""
    pad = 30
    plot = size - 2 * pad

    def px(v: float) -> float:
        return pad + plot * max(0.0, min(10.0, v)) / 10

    def py(v: float) -> float:
        return size - pad - plot * max(0.0, min(10.0, v)) / 10

    body = [f'<text x="{pad}" y="14" {FONT} fill="{AXIS}">{escape(title)}</text>']
    for tick in range(0, 11, 2):
        body.append(
            f'<line x1="{px(tick):.1f}" y1="{py(0):.1f}" x2="{px(tick):.1f}" y2="{py(10):.1f}" stroke="{GRID}"/>'
        )
        body.append(
            f'<line x1="{px(0):.1f}" y1="{py(tick):.1f}" x2="{px(10):.1f}" y2="{py(tick):.1f}" stroke="{GRID}"/>'
        )
        body.append(f'<text x="{px(tick):.1f}" y="{size - pad + 12}" {FONT} text-anchor="middle">{tick}</text>')
        body.append(f'<text x="{pad - 5}" y="{py(tick) + 3:.1f}" {FONT} text-anchor="end">{tick}</text>')
    body.append(f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(10)}" y2="{py(10)}" stroke="{AXIS}" stroke-dasharray="4 3"/>')
    for x, y in list(zip(xs, ys, strict=True))[:limit]:
        body.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{POINT}" fill-opacity="0.55"/>')
    body.append(
        f'<text x="{pad + plot / 2}" y="{size - 4}" {FONT} text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="10" y="{pad + plot / 2}" {FONT} text-anchor="middle" '
        f'transform="rotate(-90 10 {pad + plot / 2})">{escape(y_label)}</text>'
    )
    return _svg(size, size, title, body)


def intervals(
    rows: Sequence[tuple[str, float | None, float | None, float | None]],
    *,
    title: str,
    low: float,
    high: float,
    reference: float | None = None,
    width: int = 420,
) -> str:
    """One line per (label, value, ci_low, ci_high): a dot with its confidence interval."""
    left, right, top, row_h = 120, 16, 20, 18
    height = top + row_h * max(1, len(rows)) + 20
    plot_w = width - left - right

    def px(v: float) -> float:
        return left + plot_w * (max(low, min(high, v)) - low) / (high - low)

    body = [f'<text x="4" y="12" {FONT} fill="{AXIS}">{escape(title)}</text>']
    if reference is not None:
        body.append(
            f'<line x1="{px(reference):.1f}" y1="{top - 4}" x2="{px(reference):.1f}" y2="{height - 18}" '
            f'stroke="{AXIS}" stroke-dasharray="3 3"/>'
        )
    for i, (label, value, lo, hi) in enumerate(rows):
        y = top + i * row_h + row_h / 2
        body.append(f'<text x="{left - 6}" y="{y + 3:.1f}" {FONT} text-anchor="end">{escape(label[:22])}</text>')
        if lo is not None and hi is not None:
            body.append(f'<line x1="{px(lo):.1f}" y1="{y:.1f}" x2="{px(hi):.1f}" y2="{y:.1f}" stroke="{BAR}"/>')
        if value is not None:
            body.append(
                f'<circle cx="{px(value):.1f}" cy="{y:.1f}" r="3.5" fill="{BAR}"><title>{escape(label)}: '
                f"{value:.2f}{f' [{lo:.2f}, {hi:.2f}]' if lo is not None and hi is not None else ''}</title></circle>"
            )
        else:
            body.append(f'<text x="{left + 4}" y="{y + 3:.1f}" {FONT} fill="{AXIS}">n/a</text>')
    for tick in (low, (low + high) / 2, high):
        body.append(f'<text x="{px(tick):.1f}" y="{height - 6}" {FONT} text-anchor="middle">{tick:g}</text>')
    return _svg(width, height, title, body)
