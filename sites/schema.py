"""The canonical ``sites`` table and its validating constructor.

``sites`` (one row per site, Polygon or MultiPolygon geometry, EPSG:4326)
    ``site_id`` (str, stable across runs), ``name``, ``category`` (see
    :mod:`sites.taxonomy`), ``sensitivity`` (int 1-5), ``source`` (where the row came from, e.g.
    ``"geonucleardata:42"``), ``floor_m``, ``ceiling_m`` (vertical limits in metres, NaN where
    unknown), ``vertical_ref`` (``"AGL"``, ``"AMSL"`` or NA), ``schedule`` (text, NA = always),
    ``geometry_origin`` (``"polygon"``, or ``"point+<radius>m"`` / ``"line+<radius>m"`` when
    built from a point or a line), ``restriction`` and ``zone_reason`` (for UAS geozones, NA
    otherwise; see :mod:`sites.geozones`).

Vertical limits: ``vertical_ref`` names the reference of both limits (``"AGL"`` above ground,
``"AMSL"`` above mean sea level, ``"WGS84"`` above the ellipsoid); where the floor and the
ceiling use different references it is ``"<floor ref>/<ceiling ref>"``, e.g. ``"AGL/AMSL"``.
A schedule is the JSON text described in :mod:`sites.schedule`; NA means always active.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from sites.errors import SiteDataError
from sites.taxonomy import CATEGORIES, DEFAULT_SENSITIVITY

__all__ = ["SITE_COLUMNS", "make_sites"]

CRS = "EPSG:4326"

SITE_COLUMNS: dict[str, str] = {
    "site_id": "string",
    "name": "string",
    "category": "string",
    "sensitivity": "int64",
    "source": "string",
    "floor_m": "float64",
    "ceiling_m": "float64",
    "vertical_ref": "string",
    "schedule": "string",
    "geometry_origin": "string",
    "restriction": "string",
    "zone_reason": "string",
}


def make_sites(frame: gpd.GeoDataFrame, *, source: str = "sites") -> gpd.GeoDataFrame:
    """Build the canonical sites table.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        With a CRS, a polygonal geometry column, ``site_id``, ``name`` and ``category``;
        ``sensitivity`` defaults by category (NA values too); other columns of
        :data:`SITE_COLUMNS` default to NA. Reprojected to EPSG:4326. Not modified.
    source : str
        Name used in error messages (usually the file path).

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :data:`SITE_COLUMNS` and geometry, CRS EPSG:4326.

    Raises
    ------
    SiteDataError
        Listing every problem at once: no CRS, missing columns, repeated ``site_id``, unknown
        category, sensitivity outside 1-5, or geometry that is missing, empty, not polygonal or
        invalid (readers repair with ``make_valid`` before they get here).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> f = gpd.GeoDataFrame({"site_id": ["s1"], "name": ["Plant"], "category": ["nuclear"]},
    ...                      geometry=[shapely.box(0, 0, 0.01, 0.01)], crs="EPSG:4326")
    >>> row = make_sites(f).iloc[0]
    >>> int(row["sensitivity"]), row["geometry_origin"]
    (5, 'polygon')
    """
    if frame.crs is None:
        raise SiteDataError(
            f"{source}: the data has no CRS (expected e.g. EPSG:4326); refusing to guess"
        )
    missing = [c for c in ("site_id", "name", "category") if c not in frame]
    if missing:
        raise SiteDataError(f"{source}: missing required site columns {missing}")
    frame = frame.to_crs(CRS)
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    problems = []
    for name, dtype in SITE_COLUMNS.items():
        if name == "sensitivity":
            continue
        if name in frame:
            values = frame[name].reset_index(drop=True)
            try:
                out[name] = values.astype(dtype)
            except (TypeError, ValueError) as exc:
                problems.append(f"column {name!r} cannot be read as {dtype}: {exc}")
        elif dtype == "string":
            out[name] = pd.Series(pd.NA, index=out.index, dtype="string")
        else:
            out[name] = np.nan
    if "geometry_origin" not in frame:
        out["geometry_origin"] = pd.Series("polygon", index=out.index, dtype="string")
    if problems:
        raise SiteDataError(f"{source}: " + "; ".join(problems))

    bad_cat = ~out["category"].isin(CATEGORIES)
    if bad_cat.any():
        problems.append(
            f"unknown category {sorted(set(out['category'][bad_cat].fillna('<NA>')))} "
            f"(expected one of {', '.join(CATEGORIES)})"
        )
    default = out["category"].map(DEFAULT_SENSITIVITY)
    if "sensitivity" in frame:
        raw = frame["sensitivity"].reset_index(drop=True)
        given = pd.to_numeric(raw, errors="coerce")
        unreadable = given.isna() & raw.notna()
        if unreadable.any():
            problems.append(
                f"sensitivity must be a number 1-5, found {sorted(set(map(str, raw[unreadable])))}"
            )
        sens = given.where(given.notna(), default)
    else:
        sens = default
    bad_sens = ~sens.isin([1, 2, 3, 4, 5]) & ~bad_cat
    if bad_sens.any():
        problems.append(f"sensitivity must be an integer 1-5, found {sorted(set(sens[bad_sens]))}")
    for col in ("site_id", "name"):
        if out[col].isna().any():
            problems.append(f"{int(out[col].isna().sum())} sites without a {col}")
    dup = out["site_id"].duplicated() & out["site_id"].notna()
    if dup.any():
        problems.append(f"site_id repeated: {sorted(set(out['site_id'][dup]))[:5]}")

    geoms = np.asarray(frame.geometry.array, dtype=object)
    kinds = shapely.get_type_id(geoms)
    polygonal = np.isin(kinds, [3, 6])  # Polygon, MultiPolygon
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        first = int(np.flatnonzero(empty)[0])
        problems.append(f"{int(empty.sum())} sites without geometry (first: row {first})")
    nonpoly = ~polygonal & ~empty
    if nonpoly.any():
        first = int(np.flatnonzero(nonpoly)[0])
        problems.append(
            f"{int(nonpoly.sum())} sites are not polygons (first: row {first}, "
            f"{shapely.get_type_id(geoms[first])} = {geoms[first].geom_type}); "
            "points and lines must be buffered by the reader"
        )
    invalid = polygonal & ~empty & ~shapely.is_valid(geoms)
    if invalid.any():
        first = int(np.flatnonzero(invalid)[0])
        problems.append(
            f"{int(invalid.sum())} invalid polygons (first: row {first}, "
            f"{shapely.is_valid_reason(geoms[first])})"
        )
    if problems:
        raise SiteDataError(f"{source}: " + "; ".join(problems))
    out["sensitivity"] = sens.astype("int64")
    out = out[list(SITE_COLUMNS)]
    return gpd.GeoDataFrame(out, geometry=geoms, crs=CRS)
