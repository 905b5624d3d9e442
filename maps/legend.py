"""Legends of the site and track layers, as escaped HTML for :class:`maps.panels.HtmlControl`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from maps.style import (
    LEAK_COLOURS,
    LEAK_LABELS,
    NO_SCORE_COLOUR,
    RISK_BINS,
    RISK_COLOURS,
    UNKNOWN_VENDOR,
    risk_labels,
)
from maps.text import text

__all__ = ["leak_legend_html", "risk_legend_html", "vendor_legend_html"]


def _count(n: int, noun: str) -> str:
    return f'<span class="exposure-count">{n} {noun}{"" if n == 1 else "s"}</span>'


def risk_legend_html(
    classes: Sequence[int] | np.ndarray, *, title: str, bins: Sequence[float] = RISK_BINS
) -> str:
    """Legend of the risk classes, highest first, with the number of sites in each.

    Parameters
    ----------
    classes : sequence of int
        Risk class of every drawn site (-1 for no score), see :func:`maps.style.risk_classes`.
    title : str
        Heading, usually the layer name; escaped here.
    bins : sequence of float
        Risk class breaks.

    Returns
    -------
    str
        HTML.

    Examples
    --------
    >>> html = risk_legend_html([0, 4, -1, 4], title="Sites")
    >>> "80 or more" in html, html.count("2 sites"), "no flight came near" in html
    (True, 1, True)
    """
    counts = np.bincount(np.asarray(classes, dtype="int64") + 1, minlength=len(RISK_COLOURS) + 1)
    labels = risk_labels(bins=bins)
    rows = [
        f'<div class="exposure-row"><span class="exposure-swatch" style="background:{colour}">'
        f"</span>{text(label)}{_count(int(counts[k + 1]), 'site')}</div>"
        for k, (colour, label) in reversed(list(enumerate(zip(RISK_COLOURS, labels, strict=True))))
    ]
    rows.append(
        '<div class="exposure-row"><span class="exposure-swatch exposure-none" '
        f'style="background:{NO_SCORE_COLOUR}"></span>no flight came near'
        f"{_count(int(counts[0]), 'site')}</div>"
    )
    return (
        f'<div class="exposure-legend"><div class="exposure-panel-title">{text(title)}: risk score'
        f'</div>{"".join(rows)}<div class="exposure-note">Risk = sensitivity × exposure '
        "(coverage, best NIIRS, time in view). Hover a site for details.</div></div>"
    )


def vendor_legend_html(colours: Mapping[str, str], counts: Mapping[str, int], *, title: str) -> str:
    """Legend of track colours by vendor, with the number of flights of each.

    Parameters
    ----------
    colours : mapping
        Vendor name (untrusted, escaped here) → colour, in legend order.
    counts : mapping
        Vendor name → number of flights drawn.
    title : str
        Heading, usually the layer name; escaped here.

    Returns
    -------
    str
        HTML.

    Examples
    --------
    >>> html = vendor_legend_html({"<V>": "#000000"}, {"<V>": 2}, title="Tracks")
    >>> "&lt;V&gt;" in html, "<V>" in html, "2 flights" in html
    (True, False, True)
    """
    rows = "".join(
        f'<div class="exposure-row"><span class="exposure-line" style="border-color:{colour}">'
        f"</span>{text(vendor)}{_count(int(counts.get(vendor, 0)), 'flight')}</div>"
        for vendor, colour in colours.items()
    )
    return (
        f'<div class="exposure-legend"><div class="exposure-panel-title">{text(title)} by vendor'
        f"</div>{rows}</div>"
    )


def leak_legend_html(classes: Sequence[int] | np.ndarray, *, title: str) -> str:
    """Legend of track colours by leak class, with the number of flights in each.

    Parameters
    ----------
    classes : sequence of int
        Leak class of every drawn flight (-1 when unknown).
    title : str
        Heading, usually the layer name; escaped here.

    Returns
    -------
    str
        HTML.

    Examples
    --------
    >>> html = leak_legend_html([2, 2, -1], title="Tracks")
    >>> "2 flights" in html, "no estimate" in html
    (True, True)
    """
    counts = np.bincount(np.asarray(classes, dtype="int64") + 1, minlength=len(LEAK_COLOURS) + 1)
    entries = [
        (colour, label, int(counts[k + 1]))
        for k, (colour, label) in reversed(list(enumerate(zip(LEAK_COLOURS, LEAK_LABELS,
                                                              strict=True))))
    ]
    entries.append((UNKNOWN_VENDOR[1], "no estimate", int(counts[0])))
    rows = "".join(
        f'<div class="exposure-row"><span class="exposure-line" style="border-color:{colour}">'
        f"</span>{text(label)}{_count(n, 'flight')}</div>"
        for colour, label, n in entries
    )
    return (
        f'<div class="exposure-legend"><div class="exposure-panel-title">{text(title)}: chance '
        f"the flight's data leaked</div>{rows}</div>"
    )
