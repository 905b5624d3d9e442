"""Turn untrusted values into escaped, human-readable HTML text.

Every string that reaches the page (site names, drone ids, provenance values) may come from a
file, so it passes through :func:`text` before it is written into tooltips, legends or panels.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "MISSING",
    "is_missing",
    "iso_times",
    "text",
    "texts",
]

#: What a tooltip shows for a value the table does not have.
MISSING = "—"

_REFERENCE_LIKE = re.compile(r"url\(|@import|:(?=//)", re.IGNORECASE)


def _neutral(match: re.Match[str]) -> str:
    found = match.group(0)
    if found == ":":
        return "&#58;"
    if found.startswith("@"):
        return "&#64;" + found[1:]
    return found[:-1] + "&#40;"


def is_missing(value: object) -> bool:
    """Tell whether a cell is missing (None, NaN, NaT or NA).

    Parameters
    ----------
    value : object
        One cell.

    Returns
    -------
    bool
        True for a missing value.

    Examples
    --------
    >>> is_missing(None), is_missing(float("nan")), is_missing(pd.NA), is_missing("x")
    (True, True, True, False)
    """
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def text(value: object) -> str:
    """Return ``value`` as HTML-escaped text, or :data:`MISSING` when it is missing.

    Besides ``& < > " '``, the characters that would make text look like a reference to the
    offline check (:func:`maps.assets.offline_problems`) become character references: the
    ``:`` of ``://``, the ``(`` of ``url(`` and the ``@`` of ``@import``. A site named after a
    URL then reads the same on screen but never puts a literal ``http://`` into the page, so the
    check can treat every literal one as a reference the page would fetch.

    Parameters
    ----------
    value : object
        Anything; it is converted with :func:`str`.

    Returns
    -------
    str
        Safe to insert as HTML text or as a double- or single-quoted attribute value.

    Examples
    --------
    >>> text('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    >>> text("see https://example.org"), text("URL(x)"), text(float("nan"))
    ('see https&#58;//example.org', 'URL&#40;x)', '—')
    """
    if is_missing(value):
        return MISSING
    return _REFERENCE_LIKE.sub(_neutral, html.escape(str(value), quote=True))


def texts(values: Iterable[object]) -> list[str]:
    """Apply :func:`text` to every value.

    Parameters
    ----------
    values : iterable
        Values of one column.

    Returns
    -------
    list of str
        Escaped text, :data:`MISSING` where a value is missing.

    Examples
    --------
    >>> texts(["a&b", None])
    ['a&amp;b', '—']
    """
    return [text(v) for v in values]


def iso_times(values: pd.Series) -> list[str]:
    """Format a datetime column as ISO 8601 UTC strings to the second.

    Parameters
    ----------
    values : pandas.Series
        Datetimes, timezone-aware or naive (naive ones are taken as UTC), or strings that
        :func:`pandas.to_datetime` reads.

    Returns
    -------
    list of str
        ``YYYY-MM-DDTHH:MM:SSZ``, or :data:`MISSING` for NaT.

    Examples
    --------
    >>> iso_times(pd.Series(pd.to_datetime(["2024-05-01 10:00:00.7", None], utc=True)))
    ['2024-05-01T10:00:00Z', '—']
    """
    times = pd.to_datetime(values, utc=True)
    formatted = times.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return [MISSING if pd.isna(t) else str(t) for t in formatted]
