"""Small bar charts as inline SVG (no plotting library, no network): the summary panel's plots.

    histogram(np.array([1, 1, 2, 5]), "images per record")
      -> {"title": "images per record", "svg": "<svg ...>...</svg>", "count": 4,
          "bars": [{"label": "1", "count": 2}, {"label": "2", "count": 1}, {"label": "5", "count": 1}]}

Small integer ranges get one bar per value; wide ranges (token lengths, pixel sizes) get 20 equal bins.
"""

from __future__ import annotations

from html import escape

import numpy as np

WIDTH, HEIGHT, PAD = 360, 140, 18
_MAX_BARS = 20


def _bars(values: np.ndarray) -> list[dict]:
    if not len(values):
        return []
    lo, hi = int(values.min()), int(values.max())
    if hi - lo < _MAX_BARS:
        counts = np.bincount(values - lo, minlength=hi - lo + 1)
        return [{"label": str(lo + i), "count": int(c)} for i, c in enumerate(counts)]
    edges = np.linspace(lo, hi + 1, _MAX_BARS + 1).astype(np.int64)
    counts, _ = np.histogram(values, bins=edges)
    return [{"label": f"{edges[i]}–{edges[i + 1] - 1}", "count": int(c)} for i, c in enumerate(counts)]


def histogram(values, title: str, note: str = "") -> dict:
    values = np.asarray(values, dtype=np.int64)
    values = values[values >= 0]  # -1: not known (a record that cannot be read)
    bars = _bars(values)
    top = max((b["count"] for b in bars), default=0) or 1
    width = (WIDTH - 2 * PAD) / max(1, len(bars))
    rects = []
    for i, b in enumerate(bars):
        h = (HEIGHT - 2 * PAD) * b["count"] / top
        x, y = PAD + i * width, HEIGHT - PAD - h
        rects.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(1.0, width - 2):.1f}" height="{h:.1f}">'
            f"<title>{escape(b['label'])}: {b['count']:,}</title></rect>"
        )
    labels = ""
    if 0 < len(bars) <= 12:  # few bars: each gets its label
        labels = (
            "".join(
                f'<text x="{PAD + (i + 0.5) * width:.1f}" y="{HEIGHT - 4}" text-anchor="middle">{escape(b["label"])}</text>'
                for i, b in enumerate(bars)
            )
            + f'<text x="{PAD}" y="{PAD - 6}">max bar {top:,}</text>'
        )
    elif bars:
        labels = (
            f'<text x="{PAD}" y="{HEIGHT - 4}">{escape(bars[0]["label"])}</text>'
            f'<text x="{WIDTH - PAD}" y="{HEIGHT - 4}" text-anchor="end">{escape(bars[-1]["label"])}</text>'
            f'<text x="{PAD}" y="{PAD - 6}">max bar {top:,}</text>'
        )
    svg = (
        f'<svg class="plot" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(title)}">{"".join(rects)}{labels}</svg>'
    )
    return {"title": title, "note": note, "svg": svg, "count": int(len(values)), "bars": bars}
