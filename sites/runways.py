"""Runway polygons from the OurAirports runway list (``runways.csv``).

Each runway with both ends' coordinates (``le_latitude_deg``/``le_longitude_deg`` for the
low-numbered end, ``he_…`` for the other) becomes a rectangle in the UTM zone of its midpoint
(UPS near the poles): centred on the midpoint of the two ends, along the line between them,
``length_ft`` long (the published length; the ends' distance where it is missing) and
``width_ft`` wide, feet × 0.3048. ``site_id`` is ``runway:<id>`` (OurAirports' runway id),
``name`` ``<airport_ident> runway <le_ident>/<he_ident>``, ``category`` ``airport``,
``geometry_origin`` ``runway``. Closed runways are kept: the pavement is still there.

Rows are rejected, and counted by reason, for: ``"missing id"``, ``"missing threshold
coordinates"`` (either end without latitude and longitude, the usual case for small fields),
``"unparseable coordinates"``, ``"coordinates out of range"``, ``"thresholds coincide"``,
``"missing width"`` (or one that is not positive), and ``"thresholds disagree with length_ft"``
(the ends are more than twice or less than half the published length apart: one of them is
wrong, and the rectangle would be too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely

from sites.build import build_sites, resolve_sensitivity
from sites.catalogs import _read_csv
from sites.errors import SiteDataError
from sites.geometry import _utm_epsg

__all__ = ["RUNWAY_COLUMNS", "read_runways", "runway_rectangles"]

FEET = 0.3048
#: Columns of OurAirports' runways.csv that the reader needs.
RUNWAY_COLUMNS = (
    "id",
    "airport_ident",
    "length_ft",
    "width_ft",
    "le_ident",
    "le_latitude_deg",
    "le_longitude_deg",
    "he_ident",
    "he_latitude_deg",
    "he_longitude_deg",
)
#: Accepted ratio between the ends' distance and the published length.
LENGTH_RATIO = (0.5, 2.0)

FloatArray = npt.NDArray[np.float64]


def runway_rectangles(
    lon1: npt.ArrayLike,
    lat1: npt.ArrayLike,
    lon2: npt.ArrayLike,
    lat2: npt.ArrayLike,
    length_m: npt.ArrayLike,
    width_m: npt.ArrayLike,
) -> tuple[npt.NDArray[np.object_], FloatArray]:
    """Rectangles along the line between two ends, in the UTM zone of their midpoint.

    Parameters
    ----------
    lon1, lat1, lon2, lat2 : array_like
        The two ends, in degrees.
    length_m : array_like
        Length of each rectangle; NaN to use the ends' distance.
    width_m : array_like
        Width of each rectangle.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Polygons in EPSG:4326, and the ends' distance on the ground in metres.

    Examples
    --------
    >>> import pyproj
    >>> (r,), d = runway_rectangles([139.78], [35.54], [139.80], [35.56], [3000.0], [60.0])
    >>> area = abs(pyproj.Geod(ellps="WGS84").geometry_area_perimeter(r)[0])
    >>> round(area / (3000 * 60), 4), round(float(d[0]))
    (1.0, 2866)
    """
    lon1, lat1, lon2, lat2, length, width = (
        np.asarray(a, dtype=float).ravel()
        for a in np.broadcast_arrays(lon1, lat1, lon2, lat2, length_m, width_m)
    )
    n = len(lon1)
    out = np.full(n, None, dtype=object)
    dist = np.full(n, np.nan)
    # the midpoint's zone; the short way round across the antimeridian
    dlon = (lon2 - lon1 + 180.0) % 360.0 - 180.0
    mid_lon = (lon1 + dlon / 2.0 + 180.0) % 360.0 - 180.0
    codes = _utm_epsg(mid_lon, (lat1 + lat2) / 2.0)
    for code in np.unique(codes):  # one transformer per zone, as in sites.geometry
        group = codes == code
        forward = pyproj.Transformer.from_crs(4326, int(code), always_xy=True)
        back = pyproj.Transformer.from_crs(int(code), 4326, always_xy=True)
        x1, y1 = forward.transform(lon1[group], lat1[group])
        x2, y2 = forward.transform(lon2[group], lat2[group])
        # UTM stretches ground distances by its scale factor k (0.9996 on the central meridian,
        # more away from it); lengths on the ground become k times longer on the map
        k = pyproj.Proj(int(code)).get_factors(
            (lon1[group] + lon2[group]) / 2.0, (lat1[group] + lat2[group]) / 2.0
        ).meridional_scale
        dx, dy = x2 - x1, y2 - y1
        d = np.hypot(dx, dy)
        safe = np.where(d > 0.0, d, 1.0)
        # coinciding ends have no direction (such rows are rejected): any direction will do
        ux, uy = np.where(d > 0.0, dx / safe, 1.0), np.where(d > 0.0, dy / safe, 0.0)
        half = np.where(np.isfinite(length[group]), length[group] * k, d) / 2.0
        side = width[group] * k / 2.0
        cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
        # corners: along ±half, across ±side (the normal is (-uy, ux)), counter-clockwise
        sa = np.array([-1.0, 1.0, 1.0, -1.0, -1.0])
        sc = np.array([-1.0, -1.0, 1.0, 1.0, -1.0])
        px = cx[:, None] + sa * (half * ux)[:, None] - sc * (side * uy)[:, None]
        py = cy[:, None] + sa * (half * uy)[:, None] + sc * (side * ux)[:, None]
        lon, lat = back.transform(px.ravel(), py.ravel())
        ring = np.stack([np.reshape(lon, px.shape), np.reshape(lat, py.shape)], axis=-1)
        out[group] = shapely.polygons(ring)
        dist[group] = d / k
    return out, dist


def read_runways(
    path: str | PathLike[str],
    *,
    airports: Iterable[str] | None = None,
    sensitivity: int | Mapping[str, int] | None = None,
) -> gpd.GeoDataFrame:
    r"""Read OurAirports' ``runways.csv`` into the sites table, one rectangle per runway.

    Parameters
    ----------
    path : str or path-like
        The CSV file.
    airports : iterable of str, optional
        Keep only the runways of these airports (``airport_ident``, e.g. ICAO codes).
    sensitivity : int or mapping, optional
        1-5 for every runway (or ``{"airport": k}``); default: the airport category's.

    Returns
    -------
    geopandas.GeoDataFrame
        The sites table with ``attrs["read_report"]``.

    Raises
    ------
    SiteDataError
        If the file is missing or unreadable, lacks the columns of :data:`RUNWAY_COLUMNS`,
        or no runway belongs to ``airports``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> header = ("id,airport_ident,length_ft,width_ft,le_ident,le_latitude_deg,"
    ...           "le_longitude_deg,he_ident,he_latitude_deg,he_longitude_deg\n")
    >>> rows = ("1,RJTT,9843,197,16L,35.55,139.78,34R,35.53,139.80\n"
    ...         "2,00AK,2500,40,N,,,S,,\n")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "runways.csv")
    ...     _ = p.write_text(header + rows)
    ...     s = read_runways(p)
    >>> s.loc[0, ["site_id", "name", "category", "geometry_origin"]].tolist()
    ['runway:1', 'RJTT runway 16L/34R', 'airport', 'runway']
    >>> s.attrs["read_report"]["rejected"]
    {'missing threshold coordinates': 1}
    """
    path = Path(path)
    table = _read_csv(path)
    missing = [c for c in RUNWAY_COLUMNS if c not in table]
    if missing:
        raise SiteDataError(
            f"{path}: missing columns {missing} (expected OurAirports' runways.csv)"
        )
    if airports is not None:
        wanted = {a.strip().upper() for a in airports}
        table = table[table["airport_ident"].str.strip().str.upper().isin(wanted)]
        if not len(table):
            raise SiteDataError(f"{path}: no runway of the airports {sorted(wanted)[:10]}")
    table = table.reset_index(drop=True)

    ends = ["le_longitude_deg", "le_latitude_deg", "he_longitude_deg", "he_latitude_deg"]
    text = table[ends]
    lon1, lat1, lon2, lat2 = (
        pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float) for c in ends
    )
    length = pd.to_numeric(table["length_ft"], errors="coerce").to_numpy(dtype=float) * FEET
    width = pd.to_numeric(table["width_ft"], errors="coerce").to_numpy(dtype=float) * FEET
    absent = text.isna().any(axis=1).to_numpy()
    unparseable = ~absent & ~np.isfinite(np.column_stack([lon1, lat1, lon2, lat2])).all(axis=1)
    with np.errstate(invalid="ignore"):
        out_of_range = (np.abs(np.column_stack([lat1, lat2])) > 90).any(axis=1) | (
            np.abs(np.column_stack([lon1, lon2])) > 180
        ).any(axis=1)
    usable = ~(absent | unparseable | out_of_range)
    geometry = np.full(len(table), None, dtype=object)
    dist = np.full(len(table), np.nan)
    geometry[usable], dist[usable] = runway_rectangles(
        lon1[usable], lat1[usable], lon2[usable], lat2[usable], length[usable],
        np.where(np.isfinite(width[usable]), width[usable], 1.0),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = dist / length
    disagree = np.isfinite(ratio) & ((ratio < LENGTH_RATIO[0]) | (ratio > LENGTH_RATIO[1]))
    reason = np.select(
        [
            table["id"].isna().to_numpy(),
            absent,
            unparseable,
            out_of_range,
            dist == 0.0,
            ~(width > 0),
            disagree,
        ],
        [
            "missing id",
            "missing threshold coordinates",
            "unparseable coordinates",
            "coordinates out of range",
            "thresholds coincide",
            "missing width",
            "thresholds disagree with length_ft",
        ],
        default="",
    ).astype(object)
    reason[reason == ""] = None
    ident = table["id"].fillna("").str.strip()
    category = pd.Series("airport", index=table.index, dtype=object)
    sens, problems = resolve_sensitivity(sensitivity, category, None)
    records = pd.DataFrame(
        {
            "site_id": "runway:" + ident,
            "id_derived": False,
            "name": table["airport_ident"].fillna("?") + " runway "
            + table["le_ident"].fillna("?") + "/" + table["he_ident"].fillna("?"),
            "category": category,
            "radius_m": np.nan,
            "source": path.name + ":" + ident,
            "reason": reason,
            "geometry_origin": "runway",
        }
    )
    if sens is not None:
        records["sensitivity"] = sens
    return build_sites(records, geometry, path=str(path), problems=problems)
