"""The fixed colour scales of the maps: risk classes for sites, a palette for vendors.

Risk classes
    The default breaks ``(20, 40, 60, 80)`` split the engine's risk score (0–100: sensitivity
    1–5 × 20 × an exposure factor in [0, 1]) into five classes: below 20, 20–40, 40–60, 60–80 and
    80 or more. A class includes its lower break. The colours are ColorBrewer's 5-class YlOrRd
    (sequential, colour-blind safe, prints in grey as a light-to-dark ramp). Sites without
    exposure (no score, or no flight came near) are grey and drawn with a dashed outline, so they
    stay distinguishable without colour.

Vendors
    Flight tracks are coloured by vendor from a palette of dark, saturated hues that stay
    visible on the yellow-to-red site fills; vendors get colours in sorted order, so one table
    always gives the same colours. A track without a vendor is grey.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import numpy as np

from maps.errors import MapError
from maps.text import is_missing

__all__ = [
    "LEAK_BINS",
    "LEAK_COLOURS",
    "LEAK_LABELS",
    "NO_SCORE_COLOUR",
    "RISK_BINS",
    "RISK_COLOURS",
    "UNKNOWN_VENDOR",
    "VENDOR_PALETTE",
    "check_bins",
    "risk_classes",
    "risk_labels",
    "vendor_colours",
    "vendor_name",
]

#: Lower breaks of risk classes 1–4 (class 0 is everything below the first break).
RISK_BINS: tuple[float, ...] = (20.0, 40.0, 60.0, 80.0)

#: ColorBrewer YlOrRd, 5 classes, lowest risk first.
RISK_COLOURS: tuple[str, ...] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")

#: Fill of a site without a risk score.
NO_SCORE_COLOUR = "#9e9e9e"

#: Track colours, assigned to vendors in sorted order and reused cyclically.
VENDOR_PALETTE: tuple[str, ...] = (
    "#1f4e9e",  # dark blue
    "#00897b",  # teal
    "#7b3294",  # purple
    "#3a3a3a",  # near black
    "#2c7bb6",  # mid blue
    "#1b7837",  # green
    "#c51b7d",  # magenta
    "#5e3c99",  # indigo
)

#: Lower breaks of the leak classes of a flight (chance its data left operator control).
LEAK_BINS: tuple[float, ...] = (0.1, 0.5)

#: Leak class colours, lowest first (ColorBrewer RdYlGn, 3 classes, reversed).
LEAK_COLOURS: tuple[str, ...] = ("#1a9850", "#f4a11d", "#d73027")

#: Leak class labels, lowest first.
LEAK_LABELS: tuple[str, ...] = ("below 10 %", "10 – 50 %", "50 % or more")

#: Label and colour of a track whose vendor is missing.
UNKNOWN_VENDOR = ("unknown", "#8c8c8c")


def check_bins(bins: Sequence[float]) -> tuple[float, ...]:
    """Validate risk class breaks.

    Parameters
    ----------
    bins : sequence of float
        Exactly ``len(RISK_COLOURS) - 1`` finite, strictly increasing breaks.

    Returns
    -------
    tuple of float
        The breaks.

    Raises
    ------
    MapError
        If the breaks are not as described.

    Examples
    --------
    >>> check_bins([0.5, 1, 2, 3])
    (0.5, 1.0, 2.0, 3.0)
    """
    values = tuple(float(b) for b in bins)
    wanted = len(RISK_COLOURS) - 1
    arr = np.asarray(values)
    if len(values) != wanted or not np.isfinite(arr).all() or (np.diff(arr) <= 0).any():
        raise MapError(
            f"bins: expected {wanted} finite, strictly increasing risk breaks, got {list(bins)!r}"
        )
    return values


def risk_classes(scores: Iterable[float], *, bins: Sequence[float] = RISK_BINS) -> np.ndarray:
    """Class index of each risk score: 0 (lowest) to 4, or -1 where the score is missing.

    Parameters
    ----------
    scores : iterable of float
        Risk scores; NaN or None for sites without one.
    bins : sequence of float
        Lower breaks of classes 1–4, see :data:`RISK_BINS`.

    Returns
    -------
    numpy.ndarray
        Integer class per score.

    Examples
    --------
    >>> risk_classes([0.0, 20.0, 50.0, 95.0, float("nan")]).tolist()
    [0, 1, 2, 4, -1]
    """
    values = np.asarray([np.nan if s is None else s for s in scores], dtype="float64")
    classes = np.digitize(values, check_bins(bins), right=False)
    return np.where(np.isnan(values), -1, classes)


def _number(x: float) -> str:
    return f"{x:g}"


def risk_labels(*, bins: Sequence[float] = RISK_BINS) -> list[str]:
    """Legend label of each risk class, lowest first.

    Parameters
    ----------
    bins : sequence of float
        Lower breaks of classes 1–4.

    Returns
    -------
    list of str
        One label per class.

    Examples
    --------
    >>> risk_labels()
    ['below 20', '20 – 40', '40 – 60', '60 – 80', '80 or more']
    """
    b = check_bins(bins)
    middle = [f"{_number(lo)} – {_number(hi)}" for lo, hi in itertools.pairwise(b)]
    return [f"below {_number(b[0])}", *middle, f"{_number(b[-1])} or more"]


def vendor_colours(vendors: Iterable[object]) -> dict[str, str]:
    """Colour of each distinct vendor name, in sorted order of the names.

    Parameters
    ----------
    vendors : iterable
        Vendor names; missing or blank ones count as :data:`UNKNOWN_VENDOR`.

    Returns
    -------
    dict
        Vendor name → hex colour, sorted by name, unknown last.

    Examples
    --------
    >>> vendor_colours(["Skydio", "DJI", None, "DJI"])
    {'DJI': '#1f4e9e', 'Skydio': '#00897b', 'unknown': '#8c8c8c'}
    """
    names = {vendor_name(v) for v in vendors}
    known = sorted(names - {UNKNOWN_VENDOR[0]})
    out = {name: VENDOR_PALETTE[i % len(VENDOR_PALETTE)] for i, name in enumerate(known)}
    if UNKNOWN_VENDOR[0] in names:
        out[UNKNOWN_VENDOR[0]] = UNKNOWN_VENDOR[1]
    return out


def vendor_name(value: object) -> str:
    """Vendor name used for colouring: the stripped string, or ``"unknown"`` when missing.

    Parameters
    ----------
    value : object
        A vendor cell.

    Returns
    -------
    str
        The name.

    Examples
    --------
    >>> vendor_name("  DJI "), vendor_name(None), vendor_name(float("nan"))
    ('DJI', 'unknown', 'unknown')
    """
    if is_missing(value):
        return UNKNOWN_VENDOR[0]
    name = str(value).strip()
    return name or UNKNOWN_VENDOR[0]
