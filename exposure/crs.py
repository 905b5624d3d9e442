"""Local metric coordinate systems: UTM by longitude zone, UPS near the poles.

Inputs and outputs of the engine are in EPSG:4326. Metric work happens per site in the site's own
UTM zone (so a national fleet that spans several zones keeps metre accuracy everywhere) or in
Universal Polar Stereographic beyond 84° N / 80° S, as UTM is not defined there.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer

__all__ = ["local_epsg", "to_geographic", "to_local"]


def local_epsg(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.int64]:
    """EPSG code of the local metric CRS for each point.

    UTM north 326zz / south 327zz by 6° zone; UPS north 32661 above 84° N, UPS south 32761
    below 80° S.

    Examples
    --------
    >>> local_epsg([139.7, -122.6, 10.0, 0.0], [35.6, 47.6, -33.9, 89.0]).tolist()
    [32654, 32610, 32732, 32661]
    """
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    zone = np.clip(np.floor((np.mod(lon + 180.0, 360.0)) / 6.0).astype(np.int64) + 1, 1, 60)
    code = np.where(lat >= 0, 32600, 32700) + zone
    code = np.where(lat > 84.0, 32661, code)
    return np.where(lat < -80.0, 32761, code)


@lru_cache(maxsize=64)
def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def to_local(
    lon: ArrayLike, lat: ArrayLike, epsg: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Project geographic coordinates (EPSG:4326) into the metric CRS ``epsg``."""
    return _transformer(4326, int(epsg)).transform(np.asarray(lon, float), np.asarray(lat, float))


def to_geographic(
    x: ArrayLike, y: ArrayLike, epsg: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Project metric coordinates in ``epsg`` back to longitude/latitude (EPSG:4326)."""
    return _transformer(int(epsg), 4326).transform(np.asarray(x, float), np.asarray(y, float))
