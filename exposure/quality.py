"""Image quality: ground sample distance and NIIRS.

Formulas
--------
- Slant-range GSD, perpendicular to the line of sight: ``GSD = p · R / f`` (pixel pitch ``p``,
  slant range ``R``, focal length ``f``).
- NGA General Image Quality Equation 5 (GIQE 5) weights GSD by the viewing angle:
  ``GSD_w = GSD / sin(ε)^(1/4)``, ε the elevation of the camera seen from the target.
- GIQE 5 with GSD in inches::

      NIIRS = 9.57 − 3.32·log10(GSD_w) + 3.32·(1 − exp(−1.9/SNR))·log10(RER)
              − 2·log10(RER)^4 − 1.8/SNR

- Default simplification for SNR 50 and RER 0.5, with GSD in metres:
  ``NIIRS ≈ 4.2 − log2(GSD_w)``: one level per doubling of GSD. Clamped to [0, 9].
- Video frames rate about half a NIIRS level below stills of the same GSD (compression and
  motion blur): ``video=True`` subtracts :data:`VIDEO_NIIRS_PENALTY`.
- Horizon distance with standard refraction: ``3.86 km · √h[m]``.
- Reach of a camera: ``R_max = min(cap, horizon, range at which NIIRS falls below a useful
  level)`` (:func:`reach_m`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "NIIRS_MEANINGS",
    "VIDEO_NIIRS_PENALTY",
    "gsd_m",
    "horizon_m",
    "niirs",
    "niirs_giqe5",
    "niirs_meaning",
    "range_for_niirs_m",
    "reach_m",
    "slant_gsd_m",
    "weighted_gsd_m",
]

_INCHES_PER_M = 1.0 / 0.0254

#: NIIRS levels lost by a video frame against a still of the same GSD (DESIGN 4.4: "about 0.5").
VIDEO_NIIRS_PENALTY = 0.5

#: What each NIIRS level lets an interpreter see (civil / visible NIIRS), lowest level first.
NIIRS_MEANINGS: tuple[tuple[float, str], ...] = (
    (0.0, "nothing interpretable"),
    (1.0, "large airfields and port facilities distinguishable"),
    (3.0, "site layout and large buildings"),
    (5.0, "equipment types, rail cars by type"),
    (6.0, "car types"),
    (7.0, "equipment details"),
    (8.0, "readable markings"),
)


def gsd_m(
    range_m: ArrayLike, pixel_pitch_mm: ArrayLike, focal_mm: ArrayLike
) -> NDArray[np.float64]:
    """Slant-range ground sample distance ``p · R / f`` in metres.

    Examples
    --------
    >>> round(float(gsd_m(3000.0, 0.0016, 28.8)), 3)  # Mavic 3 tele at 3 km
    0.167
    """
    return (
        np.asarray(pixel_pitch_mm, float) * np.asarray(range_m, float) / np.asarray(focal_mm, float)
    )


def weighted_gsd_m(gsd: ArrayLike, elevation_rad: ArrayLike) -> NDArray[np.float64]:
    """GIQE 5 viewing-angle weighting ``GSD / sin(ε)^(1/4)``; infinite at or below the horizon.

    Examples
    --------
    >>> weighted_gsd_m([0.1, 0.1, 0.1], np.radians([90.0, 30.0, 0.0])).round(4).tolist()
    [0.1, 0.1189, inf]
    """
    s = np.sin(np.asarray(elevation_rad, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            s > 0, np.asarray(gsd, float) / np.power(np.maximum(s, 1e-300), 0.25), np.inf
        )


def niirs(gsd_weighted_m: ArrayLike, *, video: ArrayLike = False) -> NDArray[np.float64]:
    """Simplified NIIRS ``4.2 − log2(GSD_w)`` for SNR 50 and RER 0.5, clamped to [0, 9].

    Parameters
    ----------
    gsd_weighted_m : array_like
        Weighted GSD in metres (:func:`weighted_gsd_m`).
    video : bool or array_like of bool
        Rate a video frame rather than a still: :data:`VIDEO_NIIRS_PENALTY` lower.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> niirs([0.17, 0.27, np.inf]).round(1).tolist()
    [6.8, 6.1, 0.0]
    >>> niirs([0.17, 0.17], video=[False, True]).round(1).tolist()
    [6.8, 6.3]
    """
    g = np.asarray(gsd_weighted_m, float)
    with np.errstate(divide="ignore"):
        return np.clip(4.2 - np.log2(g) - _video_penalty(video), 0.0, 9.0)


def _video_penalty(video: ArrayLike) -> NDArray[np.float64]:
    return np.where(np.asarray(video, bool), VIDEO_NIIRS_PENALTY, 0.0)


def niirs_giqe5(
    gsd_weighted_m: ArrayLike, *, rer: float = 0.5, snr: float = 50.0, video: ArrayLike = False
) -> NDArray[np.float64]:
    """Full GIQE 5 NIIRS from the weighted GSD in metres, clamped to [0, 9].

    Parameters
    ----------
    gsd_weighted_m : array_like
        Weighted GSD in metres.
    rer : float
        Relative edge response of the imaging chain (0.5 is typical of a good small camera).
    snr : float
        Signal-to-noise ratio.
    video : bool or array_like of bool
        Rate a video frame rather than a still: :data:`VIDEO_NIIRS_PENALTY` lower.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    NGA's published check: RER 0.35, GSD 20.8 in, SNR 50, straight overhead → NIIRS 5.0.

    >>> round(float(niirs_giqe5(20.8 * 0.0254, rer=0.35, snr=50)), 1)
    5.0
    """
    g_in = np.asarray(gsd_weighted_m, float) * _INCHES_PER_M
    lr = np.log10(rer)
    with np.errstate(divide="ignore"):
        value = (
            9.57
            - 3.32 * np.log10(g_in)
            + 3.32 * (1 - np.exp(-1.9 / snr)) * lr
            - 2 * lr**4
            - 1.8 / snr
        )
    return np.clip(value - _video_penalty(video), 0.0, 9.0)


def niirs_meaning(level: float) -> str:
    """Plain-language meaning of a NIIRS level (NA for a missing level).

    Examples
    --------
    >>> niirs_meaning(5.4)
    'NIIRS 5: equipment types, rail cars by type'
    """
    if level is None or not np.isfinite(level):
        return "not seen"
    text = NIIRS_MEANINGS[0][1]
    for threshold, words in NIIRS_MEANINGS:
        if level >= threshold:
            text = words
    return f"NIIRS {int(np.floor(level))}: {text}"


def horizon_m(height_m: ArrayLike) -> NDArray[np.float64]:
    """Distance to the radio/optical horizon with standard refraction, ``3860 · √h`` metres."""
    return 3860.0 * np.sqrt(np.maximum(np.asarray(height_m, float), 0.0))


def range_for_niirs_m(
    level: ArrayLike, pixel_pitch_mm: ArrayLike, focal_mm: ArrayLike
) -> NDArray[np.float64]:
    """Slant range at which the simplified NIIRS falls to ``level`` looking straight down.

    ``R_k = GSD_k · f / p`` with ``GSD_k = 2^(4.2 − k)`` metres.

    Examples
    --------
    >>> round(float(range_for_niirs_m(6.5, 0.0016, 28.8)))  # Mavic 3 tele
    3655
    """
    gsd_k = np.power(2.0, 4.2 - np.asarray(level, float))
    return gsd_k * np.asarray(focal_mm, float) / np.asarray(pixel_pitch_mm, float)


def slant_gsd_m(
    horizontal_m: ArrayLike,
    vertical_m: ArrayLike,
    pixel_pitch_mm: ArrayLike,
    focal_mm: ArrayLike,
    *,
    weighted: bool = True,
) -> NDArray[np.float64]:
    """GSD of a ground point seen from a camera, from their horizontal and vertical separation.

    The slant range is ``hypot(horizontal, vertical)``; with ``weighted`` the GSD is weighted
    for the elevation angle ``atan2(vertical, horizontal)`` of the camera seen from the point
    (GIQE 5), so a point seen at a grazing angle rates worse than one at the same range below.

    Parameters
    ----------
    horizontal_m, vertical_m : array_like
        Horizontal distance and height of the camera above the point, metres.
    pixel_pitch_mm, focal_mm : array_like
        Camera pixel pitch and focal length, millimetres.
    weighted : bool
        Apply the GIQE 5 viewing-angle weighting.

    Returns
    -------
    numpy.ndarray
        Metres; infinite where the camera is not above the point (weighted only).

    Examples
    --------
    >>> slant_gsd_m([0.0, 100.0], [100.0, 100.0], 0.004, 10.0).round(4).tolist()
    [0.04, 0.0617]
    """
    horizontal = np.asarray(horizontal_m, float)
    vertical = np.asarray(vertical_m, float)
    gsd = gsd_m(np.hypot(horizontal, vertical), pixel_pitch_mm, focal_mm)
    if not weighted:
        return gsd
    return weighted_gsd_m(gsd, np.arctan2(vertical, horizontal))


def reach_m(
    height_m: ArrayLike,
    pixel_pitch_mm: ArrayLike,
    focal_mm: ArrayLike,
    *,
    max_range_m: float = 5000.0,
    useful_niirs: float = 2.0,
) -> NDArray[np.float64]:
    """Slant range beyond which a camera is taken to see nothing useful, ``R_max``.

    ``R_max = min(max_range_m, horizon distance, range at which the simplified NIIRS looking
    straight down falls to useful_niirs)``; NaN where the height is unknown.

    Parameters
    ----------
    height_m : array_like
        Height of the camera above the ground, metres.
    pixel_pitch_mm, focal_mm : array_like
        Camera pixel pitch and focal length, millimetres.
    max_range_m : float
        The user's cap.
    useful_niirs : float
        NIIRS below which imagery is of no use.

    Returns
    -------
    numpy.ndarray
        Metres.

    Examples
    --------
    A Mavic 3 wide camera (3.28 µm, 12.29 mm) at 100 m reaches 5 km (the cap), at 1 m only
    its horizon:

    >>> reach_m([100.0, 1.0, np.nan], 0.00328, 12.29).round().tolist()
    [5000.0, 3860.0, nan]
    """
    h = np.asarray(height_m, float)
    limit = np.minimum(
        np.minimum(max_range_m, horizon_m(h)),
        range_for_niirs_m(useful_niirs, pixel_pitch_mm, focal_mm),
    )
    return np.where(np.isfinite(h), limit, np.nan)
