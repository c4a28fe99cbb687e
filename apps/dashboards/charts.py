"""Server-rendered SVG charts: readable without JavaScript, labelled for screen readers (a title,
a description and a text label on every bar), colours with AA contrast on white."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

BAR = "#1d4ed8"  # 8.6:1 on white
TEXT = "#1f2937"


def bar_chart(
    points: Sequence[tuple[str, Decimal | int]],
    *,
    title: str,
    value_label: Callable[[Decimal | int], str] = str,
    width: int = 720,
    height: int = 240,
) -> SafeString:
    """Vertical bars, one per (label, value); the value is written above each bar."""
    top, bottom, left = 24, 40, 8
    plot_h = height - top - bottom
    count = max(len(points), 1)
    slot = (width - left * 2) / count
    peak = max((float(v) for _, v in points), default=0) or 1.0
    bars = []
    for index, (label, value) in enumerate(points):
        h = max(float(value) / peak * plot_h, 1 if value else 0)
        x = left + index * slot + slot * 0.15
        y = top + plot_h - h
        bars.append(
            (
                f"{x:.1f}",
                f"{y:.1f}",
                f"{slot * 0.7:.1f}",
                f"{h:.1f}",
                BAR,
                f"{label}: {value_label(value)}",
                f"{x + slot * 0.35:.1f}",
                f"{y - 4:.1f}",
                value_label(value) if count <= 16 else "",
                f"{top + plot_h + 16:.1f}",
                label if count <= 16 or index % -(-count // 10) == 0 else "",
            )
        )
    body = format_html_join(
        "",
        '<g><rect x="{0}" y="{1}" width="{2}" height="{3}" fill="{4}"><title>{5}</title></rect>'
        '<text x="{6}" y="{7}" text-anchor="middle" font-size="11">{8}</text>'
        '<text x="{6}" y="{9}" text-anchor="middle" font-size="11">{10}</text></g>',
        bars,
    )
    return format_html(
        '<svg class="chart" role="img" aria-labelledby="{0}-t {0}-d" viewBox="0 0 {1} {2}" '
        'preserveAspectRatio="xMidYMid meet" fill="{3}">'
        '<title id="{0}-t">{4}</title><desc id="{0}-d">{5}</desc>'
        '<line x1="{6}" y1="{7}" x2="{8}" y2="{7}" stroke="{3}"/>{9}</svg>',
        _slug(title),
        width,
        height,
        TEXT,
        title,
        "; ".join(f"{label}: {value_label(value)}" for label, value in points) or "No data in this range.",
        left,
        top + plot_h,
        width - left,
        body,
    )


def hbar_chart(
    points: Sequence[tuple[str, Decimal | int]],
    *,
    title: str,
    value_label: Callable[[Decimal | int], str] = str,
    width: int = 520,
) -> SafeString:
    """Horizontal bars with the label on the left and the value on the right."""
    row, label_w, value_w = 26, 170, 110
    height = max(len(points), 1) * row + 8
    peak = max((float(v) for _, v in points), default=0) or 1.0
    span = width - label_w - value_w
    rows = [
        (
            f"{4 + i * row + 17}",
            label[:28],
            label_w,
            f"{4 + i * row + 4}",
            f"{max(float(v) / peak * span, 1 if v else 0):.1f}",
            BAR,
            f"{label}: {value_label(v)}",
            f"{width - 4}",
            value_label(v),
        )
        for i, (label, v) in enumerate(points)
    ]
    body = format_html_join(
        "",
        '<g><text x="0" y="{0}" font-size="12">{1}</text>'
        '<rect x="{2}" y="{3}" height="18" width="{4}" fill="{5}"><title>{6}</title></rect>'
        '<text x="{7}" y="{0}" text-anchor="end" font-size="12">{8}</text></g>',
        rows,
    )
    return format_html(
        '<svg class="chart hbar" role="img" aria-labelledby="{0}-t {0}-d" viewBox="0 0 {1} {2}" fill="{3}">'
        '<title id="{0}-t">{4}</title><desc id="{0}-d">{5}</desc>{6}</svg>',
        _slug(title),
        width,
        height,
        TEXT,
        title,
        "; ".join(f"{label}: {value_label(v)}" for label, v in points) or "No data in this range.",
        body,
    )


def _slug(text: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in text.lower())[:40]
