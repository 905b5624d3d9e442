"""Small charts for the briefing, written as inline SVG.

Inline SVG prints sharply, scales with the page, needs no script and no file beside the page,
and its labels are text a reader can select and search. Every label is escaped; numbers are
formatted here. The charts are deliberately plain: horizontal bars for comparisons between
categories, a step line for the replacement curve.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from maps.text import text

__all__ = ["bar_chart_svg", "paired_bar_chart_svg", "step_chart_svg", "week_hour_chart_svg"]

_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
_INK, _MUTED, _GRID = "#1f2933", "#52606d", "#d9e2ec"
_ROW, _LABEL_W, _WIDTH = 22, 190, 640


def _nice_max(value: float) -> float:
    # The axis ends at 1, 2 or 5 times a power of ten, so the grid lines get round labels.
    if not np.isfinite(value) or value <= 0:
        return 1.0
    power = 10 ** np.floor(np.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _svg(height: int, body: str, *, title: str) -> str:
    return (
        f'<svg class="exposure-chart" role="img" '
        f'viewBox="0 0 {_WIDTH} {height}" width="100%" style="max-width:{_WIDTH}px" '
        f'font-family=\'{_FONT}\' font-size="12">'
        f"<title>{text(title)}</title>{body}</svg>"
    )


def _grid(x0: float, width: float, top: float, bottom: float, top_value: float,
          fmt: Callable[[float], str]) -> str:  # fmt: skip
    parts = []
    for k in range(5):
        x = x0 + width * k / 4
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{_GRID}"/>'
            f'<text x="{x:.1f}" y="{bottom + 14}" fill="{_MUTED}" text-anchor="middle">'
            f"{text(fmt(top_value * k / 4))}</text>"
        )
    return "".join(parts)


def bar_chart_svg(
    labels: Sequence[object],
    values: Sequence[float],
    *,
    title: str,
    value_format: Callable[[float], str] = lambda v: f"{v:,.0f}",
    colours: Sequence[str] | None = None,
) -> str:
    """Horizontal bar chart, one bar per label, in the order given.

    Parameters
    ----------
    labels : sequence
        Bar labels (untrusted; escaped).
    values : sequence of float
        Bar lengths (NaN is drawn as no bar).
    title : str
        Accessible title of the chart.
    value_format : callable
        Formats a value for the bar end and the axis.
    colours : sequence of str, optional
        One colour per bar (default: one dark blue).

    Returns
    -------
    str
        An ``<svg>`` element.

    Examples
    --------
    >>> svg = bar_chart_svg(["nuclear", "<dam>"], [3, 1], title="Sites in view")
    >>> svg.count("<rect"), "&lt;dam&gt;" in svg, "<dam>" in svg
    (2, True, False)
    """
    vals = np.asarray(values, dtype="float64")
    top_value = _nice_max(np.nanmax(vals) if len(vals) and np.isfinite(vals).any() else 0.0)
    plot_w = _WIDTH - _LABEL_W - 70
    height = _ROW * len(vals) + 30
    rows = []
    for i, (label, v) in enumerate(zip(labels, vals, strict=True)):
        y = 4 + i * _ROW
        w = 0.0 if not np.isfinite(v) else plot_w * max(v, 0.0) / top_value
        colour = colours[i] if colours is not None else "#1f4e9e"
        rows.append(
            f'<text x="{_LABEL_W - 8}" y="{y + 14}" fill="{_INK}" text-anchor="end">'
            f"{text(label)}</text>"
            f'<rect x="{_LABEL_W}" y="{y + 3}" width="{w:.1f}" height="{_ROW - 8}" '
            f'fill="{colour}" rx="2"><title>{text(label)}: {text(value_format(v))}</title></rect>'
            f'<text x="{_LABEL_W + w + 5:.1f}" y="{y + 14}" fill="{_MUTED}">'
            f"{text(value_format(v)) if np.isfinite(v) else '—'}</text>"
        )
    grid = _grid(_LABEL_W, plot_w, 2, height - 22, top_value, value_format)
    return _svg(height, grid + "".join(rows), title=title)


def paired_bar_chart_svg(
    labels: Sequence[object],
    first: Sequence[float],
    second: Sequence[float],
    *,
    names: tuple[str, str],
    title: str,
    value_format: Callable[[float], str] = lambda v: f"{100 * v:.0f} %",
) -> str:
    """Two bars per label (e.g. observed and leaked coverage), with a key.

    Parameters
    ----------
    labels : sequence
        Group labels (untrusted; escaped).
    first, second : sequence of float
        The two values of each group.
    names : tuple of str
        What the first and second bars are, for the key.
    title : str
        Accessible title of the chart.
    value_format : callable
        Formats a value.

    Returns
    -------
    str
        An ``<svg>`` element.

    Examples
    --------
    >>> svg = paired_bar_chart_svg(["a"], [0.5], [0.1], names=("seen", "leaked"), title="t")
    >>> svg.count("<rect"), "50 %" in svg
    (4, True)
    """
    a = np.asarray(first, dtype="float64")
    b = np.asarray(second, dtype="float64")
    both = np.concatenate([a, b])
    top_value = _nice_max(np.nanmax(both) if np.isfinite(both).any() else 0.0)
    plot_w = _WIDTH - _LABEL_W - 70
    row = 2 * _ROW - 6
    height = row * len(a) + 52
    colours = ("#1f4e9e", "#d73027")
    parts = [
        f'<rect x="{_LABEL_W + 150 * k}" y="4" width="12" height="12" fill="{colours[k]}"/>'
        f'<text x="{_LABEL_W + 150 * k + 17}" y="14" fill="{_INK}">{text(names[k])}</text>'
        for k in (0, 1)
    ]
    for i, label in enumerate(labels):
        y = 24 + i * row
        parts.append(
            f'<text x="{_LABEL_W - 8}" y="{y + 20}" fill="{_INK}" text-anchor="end">'
            f"{text(label)}</text>"
        )
        for k, v in enumerate((a[i], b[i])):
            w = 0.0 if not np.isfinite(v) else plot_w * max(v, 0.0) / top_value
            yy = y + 3 + k * (_ROW - 7)
            shown = text(value_format(v)) if np.isfinite(v) else "—"
            parts.append(
                f'<rect x="{_LABEL_W}" y="{yy}" width="{w:.1f}" height="{_ROW - 9}" '
                f'fill="{colours[k]}" rx="2"><title>{text(label)}, {text(names[k])}: {shown}'
                f'</title></rect><text x="{_LABEL_W + w + 5:.1f}" y="{yy + 11}" '
                f'fill="{_MUTED}" font-size="11">{shown}</text>'
            )
    grid = _grid(_LABEL_W, plot_w, 22, height - 22, top_value, value_format)
    return _svg(height, grid + "".join(parts), title=title)


def step_chart_svg(
    x: Sequence[float],
    y: Sequence[float],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_format: Callable[[float], str] = lambda v: f"{v:,.0f}",
    y_format: Callable[[float], str] = lambda v: f"{100 * v:.0f} %",
) -> str:
    """Draw a rising step curve from (0, 0), such as risk reduction against replacement cost.

    Parameters
    ----------
    x, y : sequence of float
        Points of the curve, in order (cumulative values).
    title : str
        Accessible title of the chart.
    x_label, y_label : str
        Axis titles.
    x_format, y_format : callable
        Format axis values.

    Returns
    -------
    str
        An ``<svg>`` element.

    Examples
    --------
    >>> svg = step_chart_svg([1000, 4000], [0.5, 0.8], title="t", x_label="cost",
    ...                      y_label="reduction")
    >>> "<path" in svg, "80 %" in svg
    (True, True)
    """
    xs = np.asarray(x, dtype="float64")
    ys = np.asarray(y, dtype="float64")
    ok = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    left, right, top, bottom = 70, _WIDTH - 20, 12, 220
    x_max = _nice_max(xs.max() if len(xs) else 0.0)
    y_max = _nice_max(ys.max() if len(ys) else 0.0)

    def px(v: float) -> float:
        return left + (right - left) * v / x_max

    def py(v: float) -> float:
        return bottom - (bottom - top) * v / y_max

    parts = []
    for k in range(5):
        yv, xv = y_max * k / 4, x_max * k / 4
        parts.append(
            f'<line x1="{left}" y1="{py(yv):.1f}" x2="{right}" y2="{py(yv):.1f}" '
            f'stroke="{_GRID}"/><text x="{left - 6}" y="{py(yv) + 4:.1f}" fill="{_MUTED}" '
            f'text-anchor="end">{text(y_format(yv))}</text>'
            f'<text x="{px(xv):.1f}" y="{bottom + 16}" fill="{_MUTED}" text-anchor="middle">'
            f"{text(x_format(xv))}</text>"
        )
    path = [f"M{px(0):.1f},{py(0):.1f}"]
    previous = 0.0
    for xv, yv in zip(xs, ys, strict=True):
        path.append(f"L{px(xv):.1f},{py(previous):.1f}L{px(xv):.1f},{py(yv):.1f}")
        previous = yv
    parts.append(f'<path d="{"".join(path)}" fill="none" stroke="#1b7837" stroke-width="2.5"/>')
    parts.extend(
        f'<circle cx="{px(xv):.1f}" cy="{py(yv):.1f}" r="3" fill="#1b7837">'
        f"<title>{text(x_format(xv))}: {text(y_format(yv))}</title></circle>"
        for xv, yv in zip(xs, ys, strict=True)
    )
    parts.append(
        f'<text x="{(left + right) / 2}" y="{bottom + 34}" fill="{_INK}" text-anchor="middle">'
        f"{text(x_label)}</text><text x=\"14\" y=\"{(top + bottom) / 2}\" fill=\"{_INK}\" "
        f'text-anchor="middle" transform="rotate(-90 14 {(top + bottom) / 2})">'
        f"{text(y_label)}</text>"
    )
    return _svg(bottom + 44, "".join(parts), title=title)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# ColorBrewer Blues, 5 classes: cells shaded by their share of the busiest cell.
_BLUES = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")


def week_hour_chart_svg(
    weekday: Sequence[int],
    hour: Sequence[int],
    *,
    title: str,
    third_party: Sequence[bool] | None = None,
    usual: tuple[int, int] | None = None,
) -> str:
    """Visits by weekday (rows, Monday first) and hour of the day (columns), as a grid.

    A cell's shade grows with the fleet's visits in it (the number is written in it); an orange
    dot marks third parties' visits; the usual slot, when given, is outlined in red.

    Parameters
    ----------
    weekday, hour : sequence of int
        Each visit's local weekday (0 = Monday) and hour; others are ignored.
    title : str
        Accessible title of the chart.
    third_party : sequence of bool, optional
        Which visits are third parties' (counted apart).
    usual : tuple of int, optional
        ``(weekday, hour)`` of the usual slot.

    Returns
    -------
    str
        An ``<svg>`` element.

    Examples
    --------
    >>> svg = week_hour_chart_svg([1, 1, 4], [10, 10, 23], title="<Dam>", usual=(1, 10),
    ...                           third_party=[False, False, True])
    >>> "Tue 10:00–11:00: 2 visits" in svg, "Fri 23:00–24:00: 1 third-party" in svg
    (True, True)
    >>> "&lt;Dam&gt;" in svg, svg.count('stroke="#d73027"')
    (True, 1)
    """
    wd = np.asarray(weekday, dtype="float64")
    hr = np.asarray(hour, dtype="float64")
    other = (np.zeros(len(wd), bool) if third_party is None
             else np.asarray(third_party, dtype=bool))
    ok = (wd >= 0) & (wd < 7) & (hr >= 0) & (hr < 24)
    cell = np.where(ok, wd * 24 + hr, 0).astype("int64")
    own = np.bincount(cell[ok & ~other], minlength=168)
    theirs = np.bincount(cell[ok & other], minlength=168)
    left, top, w, h = 38, 18, 24.0, 18.0
    top_count = max(int(own.max(initial=0)), 1)
    parts = [
        f'<text x="{left + w * k + w / 2:.1f}" y="{top - 5}" fill="{_MUTED}" '
        f'text-anchor="middle" font-size="10">{k:02d}</text>'
        for k in range(0, 24, 3)
    ]
    for d in range(7):
        y = top + d * h
        parts.append(f'<text x="{left - 6}" y="{y + 13}" fill="{_INK}" text-anchor="end">'
                     f"{_DAYS[d]}</text>")
        for k in range(24):
            n, t = int(own[d * 24 + k]), int(theirs[d * 24 + k])
            shade = _BLUES[min(4, int(np.ceil(4 * n / top_count)))] if n else "#ffffff"
            ink = "#ffffff" if n and 4 * n / top_count > 2 else _INK
            x = left + k * w
            said = [f"{n} visit{'' if n == 1 else 's'}"] * bool(n) + [f"{t} third-party"] * bool(t)
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{h}" fill="{shade}" '
                f'stroke="{_GRID}"><title>{_DAYS[d]} {k:02d}:00–{k + 1:02d}:00: '
                f'{", ".join(said) or "no visit"}</title></rect>'
            )
            if n:
                parts.append(f'<text x="{x + w / 2:.1f}" y="{y + 13}" fill="{ink}" '
                             f'text-anchor="middle" font-size="10">{n}</text>')
            if t:
                parts.append(f'<circle cx="{x + w - 4:.1f}" cy="{y + 4}" r="3" fill="#f46d43">'
                             f"<title>{t} third-party visit{'' if t == 1 else 's'}</title>"
                             "</circle>")
    if usual is not None and 0 <= usual[0] < 7 and 0 <= usual[1] < 24:
        parts.append(f'<rect x="{left + usual[1] * w:.1f}" y="{top + usual[0] * h}" '
                     f'width="{w:.1f}" height="{h}" fill="none" stroke="#d73027" '
                     'stroke-width="2.5"/>')
    return _svg(int(top + 7 * h + 6), "".join(parts), title=title)
