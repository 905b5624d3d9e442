"""The result tables that ``exposure assess`` writes, and their validating constructors.

``site_exposure`` (one row per site, the site's polygon, EPSG:4326)
    ``site_id``, ``name``, ``category``, ``sensitivity``, ``flights``, ``drones``, ``vendors``,
    ``operators`` (distinct counts), ``seconds_in_view``, ``min_slant_range_m``,
    ``best_gsd_m``, ``best_niirs``, ``best_niirs_meaning`` (what that level lets an interpreter
    see), ``coverage_fraction``, ``coverage_fraction_niirs5``, ``coverage_cell_m`` (the site's
    grid cell), ``first_seen``, ``last_seen``, ``view_sectors`` (how many of twelve 30°
    directions around the site it was seen from: seen from many directions, a site can be
    reconstructed in 3-D), ``mode`` (``observed``, ``potential`` or ``observed+potential``),
    ``risk_score``, ``risk_explanation``.
    Sites nobody came near are listed with ``flights == 0`` and NA metrics.

``passes`` (one row per contiguous stretch of one flight with one site in view; no geometry)
    ``flight_id``, ``drone_id``, ``site_id``, ``t_start``, ``t_end``, ``seconds_in_view``,
    ``min_slant_range_m``, ``best_gsd_m``, ``best_niirs``, ``mode``, ``n_samples``,
    ``capturing`` (True if the camera recorded during the pass, NA when the log does not say),
    ``sectors_mask`` (bit k set when the drone was seen in the 30° sector starting k·30°
    clockwise from north of the site's centroid).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from exposure.errors import ExposureError

__all__ = ["PASS_COLUMNS", "SITE_EXPOSURE_COLUMNS", "make_passes", "make_site_exposure"]

PASS_COLUMNS: dict[str, str] = {
    "flight_id": "string",
    "drone_id": "string",
    "site_id": "string",
    "t_start": "datetime64[ns, UTC]",
    "t_end": "datetime64[ns, UTC]",
    "seconds_in_view": "float64",
    "min_slant_range_m": "float64",
    "best_gsd_m": "float64",
    "best_niirs": "float64",
    "mode": "string",
    "n_samples": "int64",
    "capturing": "boolean",
    "sectors_mask": "int64",
}

SITE_EXPOSURE_COLUMNS: dict[str, str] = {
    "site_id": "string",
    "name": "string",
    "category": "string",
    "sensitivity": "int64",
    "flights": "int64",
    "drones": "int64",
    "vendors": "int64",
    "operators": "int64",
    "seconds_in_view": "float64",
    "min_slant_range_m": "float64",
    "best_gsd_m": "float64",
    "best_niirs": "float64",
    "best_niirs_meaning": "string",
    "coverage_fraction": "float64",
    "coverage_fraction_niirs5": "float64",
    "coverage_cell_m": "float64",
    "first_seen": "datetime64[ns, UTC]",
    "last_seen": "datetime64[ns, UTC]",
    "view_sectors": "int64",
    "mode": "string",
    "risk_score": "float64",
    "risk_explanation": "string",
}

MODES = ("observed", "potential")


def _typed(frame: pd.DataFrame, columns: dict[str, str], what: str) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame]
    if missing:
        raise ExposureError(f"{what}: missing columns {missing}")
    out = frame.reset_index(drop=True)
    try:
        return out.astype(columns)[list(columns) + [c for c in out.columns if c not in columns]]
    except (TypeError, ValueError) as exc:
        raise ExposureError(f"{what}: {exc}") from None


def make_passes(frame: pd.DataFrame) -> pd.DataFrame:
    """Validate and type the passes table.

    Parameters
    ----------
    frame : pandas.DataFrame
        With every column of :data:`PASS_COLUMNS`; extra columns are kept after them.

    Returns
    -------
    pandas.DataFrame
        Typed copy, sorted by ``site_id``, ``t_start`` and ``flight_id``.

    Raises
    ------
    ExposureError
        On a missing column, an unknown mode, negative seconds or ``t_end`` before ``t_start``.
    """
    out = _typed(frame, PASS_COLUMNS, "passes")
    problems = []
    if (~out["mode"].isin(MODES)).any():
        problems.append(f"mode must be one of {MODES}")
    if (out["seconds_in_view"] < 0).any():
        problems.append("negative seconds_in_view")
    if (out["t_end"] < out["t_start"]).any():
        problems.append("t_end before t_start")
    if problems:
        raise ExposureError("passes: " + "; ".join(problems))
    return out.sort_values(["site_id", "t_start", "flight_id"], kind="stable").reset_index(
        drop=True
    )


def make_site_exposure(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Validate and type the per-site exposure table.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        With every column of :data:`SITE_EXPOSURE_COLUMNS` and the site polygons in EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        Typed copy, sorted by decreasing ``risk_score`` (NA last), then ``site_id``.

    Raises
    ------
    ExposureError
        On a missing column or CRS, or coverage fractions outside [0, 1].
    """
    if frame.crs is None:
        raise ExposureError("site_exposure: no CRS")
    out = _typed(pd.DataFrame(frame), SITE_EXPOSURE_COLUMNS, "site_exposure")
    for col in ("coverage_fraction", "coverage_fraction_niirs5"):
        v = out[col].dropna()
        if ((v < 0) | (v > 1)).any():
            raise ExposureError(f"site_exposure: {col} outside [0, 1]")
    out = out.sort_values(
        ["risk_score", "site_id"], ascending=[False, True], na_position="last", kind="stable"
    ).reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=frame.crs)
