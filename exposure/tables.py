"""From merged chunk results to the tables analysts read: passes, sites, attribution, coverage.

Per-site columns beyond DESIGN section 3: distinct ``vendors`` and ``operators``, the number of
30° ``view_sectors`` the site was seen from (seen from many directions, a site can be
reconstructed in 3-D), ``coverage_cell_m`` (the grid cell used for its coverage).

Attribution tables (one per level: drone, vendor, operator) total what each contributed:
flights, passes, distinct sites, seconds in view, sensitivity-weighted seconds in view
(``Σ sensitivity × seconds``), the best NIIRS reached, and the number of sites seen at NIIRS ≥ 5.
The operator is the fleet file's ``operator`` or else its ``agency``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio import features
from rasterio.transform import Affine

from exposure.coverage import site_grid
from exposure.crs import to_geographic
from exposure.kernel import SiteContext
from exposure.quality import niirs, niirs_meaning
from exposure.results import make_passes, make_site_exposure

__all__ = ["attribution_tables", "coverage_by_flight", "coverage_layer", "pass_table", "site_table"]

_LEVELS = {"drone": "drone_key", "vendor": "vendor", "operator": "operator"}


def _flight_meta(flights: pd.DataFrame) -> pd.DataFrame:
    """Per flight: drone key (serial, or the flight itself when unknown), vendor, operator."""
    meta = pd.DataFrame({"flight_id": flights["flight_id"].astype(str).to_numpy()})
    drone = flights["drone_id"].astype("string") if "drone_id" in flights else None
    meta["drone_id"] = drone.to_numpy() if drone is not None else pd.NA
    meta["drone_key"] = np.where(
        pd.isna(meta["drone_id"]), "flight:" + meta["flight_id"], meta["drone_id"].astype(str)
    )
    for col, sources in (
        ("vendor", ("vendor",)),
        ("model", ("model",)),
        ("operator", ("operator", "agency")),
    ):
        value = pd.Series(pd.NA, index=meta.index, dtype="string")
        for src in sources:
            if src in flights:
                value = value.fillna(flights[src].astype("string").reset_index(drop=True))
        meta[col] = value.fillna("unknown")
    return meta


def pass_table(
    raw: pd.DataFrame, flight_ids: np.ndarray, site_ids: np.ndarray, flights: pd.DataFrame
) -> pd.DataFrame:
    """Build the canonical passes table from the merged per-chunk passes."""
    meta = _flight_meta(flights).set_index("flight_id")
    fid = flight_ids[raw["flight"].to_numpy()]
    out = pd.DataFrame(
        {
            "flight_id": fid,
            "drone_id": meta["drone_id"].reindex(fid).to_numpy(),
            "site_id": site_ids[raw["site"].to_numpy()],
            "t_start": pd.to_datetime(raw["t_start"].to_numpy(), utc=True),
            "t_end": pd.to_datetime(raw["t_end"].to_numpy(), utc=True),
            "seconds_in_view": raw["seconds_in_view"].to_numpy(),
            "min_slant_range_m": raw["min_slant_range_m"].to_numpy(),
            "best_gsd_m": raw["best_gsd_m"].to_numpy(),
            "best_niirs": raw["best_niirs"].to_numpy(),
            "mode": np.where(raw["observed"].to_numpy(bool), "observed", "potential"),
            "n_samples": raw["n_samples"].to_numpy(),
            "capturing": pd.array(
                [
                    bool(a) if k else pd.NA
                    for a, k in zip(raw["cap_any"], raw["cap_known"], strict=True)
                ],
                dtype="boolean",
            ),
            "sectors_mask": raw["sectors"].to_numpy(),
        }
    )
    return make_passes(out)


def _popcount(mask: np.ndarray) -> np.ndarray:
    return np.array([bin(int(m)).count("1") for m in mask], dtype=np.int64)


def site_table(
    sites: gpd.GeoDataFrame,
    passes: pd.DataFrame,
    flights: pd.DataFrame,
    cov: np.ndarray,
    cov5: np.ndarray,
    cell_m: np.ndarray,
    risk,
) -> gpd.GeoDataFrame:
    """One row per site with the DESIGN section 3 columns and the extras named above."""
    base = pd.DataFrame(
        {
            "site_id": sites["site_id"].to_numpy(),
            "name": sites["name"].to_numpy(),
            "category": sites["category"].to_numpy(),
            "sensitivity": sites["sensitivity"].to_numpy(),
            "coverage_fraction": cov,
            "coverage_fraction_niirs5": cov5,
            "coverage_cell_m": cell_m,
        }
    )
    meta = _flight_meta(flights)
    p = passes.merge(
        meta[["flight_id", "drone_key", "vendor", "operator"]], on="flight_id", how="left"
    )
    agg = p.groupby("site_id").agg(
        flights=("flight_id", "nunique"),
        drones=("drone_key", "nunique"),
        vendors=("vendor", "nunique"),
        operators=("operator", "nunique"),
        seconds_in_view=("seconds_in_view", "sum"),
        min_slant_range_m=("min_slant_range_m", "min"),
        best_gsd_m=("best_gsd_m", "min"),
        best_niirs=("best_niirs", "max"),
        first_seen=("t_start", "min"),
        last_seen=("t_end", "max"),
        sectors=("sectors_mask", lambda s: np.bitwise_or.reduce(s.to_numpy())),
    )
    base = base.merge(agg, left_on="site_id", right_index=True, how="left")
    for col in ("flights", "drones", "vendors", "operators"):
        base[col] = base[col].fillna(0).astype("int64")
    base["seconds_in_view"] = base["seconds_in_view"].fillna(0.0)
    base["view_sectors"] = _popcount(base["sectors"].fillna(0).to_numpy())
    base = base.drop(columns="sectors")
    base["first_seen"] = pd.to_datetime(base["first_seen"], utc=True)
    base["last_seen"] = pd.to_datetime(base["last_seen"], utc=True)
    base["best_niirs_meaning"] = [niirs_meaning(v) for v in base["best_niirs"]]
    modes = p.groupby("site_id")["mode"].agg(lambda m: "+".join(sorted(set(m))))
    base["mode"] = pd.array(base["site_id"].map(modes), dtype="string")
    base["risk_score"], base["risk_explanation"] = risk(
        base["sensitivity"].to_numpy(),
        base["best_niirs"].to_numpy(),
        base["coverage_fraction"].to_numpy(),
        base["seconds_in_view"].to_numpy(),
    )
    frame = gpd.GeoDataFrame(base, geometry=sites.geometry.to_numpy(), crs=sites.crs)
    return make_site_exposure(frame)


def attribution_tables(
    passes: pd.DataFrame, flights: pd.DataFrame, sites: gpd.GeoDataFrame
) -> dict[str, pd.DataFrame]:
    """Exposure totals per drone, per vendor and per operator (see the module docstring)."""
    meta = _flight_meta(flights)
    sens = sites.set_index("site_id")["sensitivity"]
    p = passes.merge(meta, on="flight_id", how="left", suffixes=("", "_flight"))
    p["weighted_seconds"] = p["seconds_in_view"] * p["site_id"].map(sens).to_numpy()
    p["niirs5_site"] = np.where(p["best_niirs"] >= 5, p["site_id"], None)
    out = {}
    for level, key in _LEVELS.items():
        flights_per = meta.groupby(key)["flight_id"].nunique().rename("flights")
        agg = p.groupby(key).agg(
            passes=("site_id", "size"),
            sites=("site_id", "nunique"),
            seconds_in_view=("seconds_in_view", "sum"),
            weighted_seconds=("weighted_seconds", "sum"),
            best_niirs=("best_niirs", "max"),
            sites_niirs5=("niirs5_site", "nunique"),
        )
        table = pd.concat([flights_per, agg], axis=1)
        table[["passes", "sites", "sites_niirs5"]] = (
            table[["passes", "sites", "sites_niirs5"]].fillna(0).astype("int64")
        )
        table[["seconds_in_view", "weighted_seconds"]] = table[
            ["seconds_in_view", "weighted_seconds"]
        ].fillna(0.0)
        if level == "drone":
            first = meta.drop_duplicates("drone_key").set_index("drone_key")
            table.insert(0, "operator", first["operator"].reindex(table.index))
            table.insert(0, "model", first["model"].reindex(table.index))
            table.insert(0, "vendor", first["vendor"].reindex(table.index))
        name = "drone_id" if level == "drone" else level
        table.index.name = name
        table = table.reset_index().sort_values(
            ["weighted_seconds", name], ascending=[False, True], kind="stable"
        )
        out[level] = table.reset_index(drop=True)
    return out


#: Lower NIIRS bounds of the coverage layer's classes (DESIGN 4.4's levels of meaning).
COVERAGE_CLASSES = (0.0, 1.0, 3.0, 5.0, 6.0, 7.0, 8.0)


def _class_shape(x: np.ndarray, y: np.ndarray, cell: float) -> shapely.Geometry:
    """Union of grid cells (centres on one lattice), traced as the outline of a raster mask.

    Tracing the mask (GDAL's polygonize, 4-connected) gives the same area as a union of the
    cell squares, many times faster; cells touching only at a corner are separate parts.
    """
    ix = np.rint((x - x.min()) / cell).astype(np.int64)
    iy = np.rint((y - y.min()) / cell).astype(np.int64)
    mask = np.zeros((iy.max() + 1, ix.max() + 1), dtype=np.uint8)
    mask[iy, ix] = 1
    origin = Affine(cell, 0.0, x.min() - cell / 2, 0.0, cell, y.min() - cell / 2)
    parts = [
        shapely.geometry.shape(shape)
        for shape, _ in features.shapes(
            mask, mask=mask.astype(bool), connectivity=4, transform=origin
        )
    ]
    return parts[0] if len(parts) == 1 else shapely.multipolygons(parts)


def coverage_layer(
    grids: dict[int, np.ndarray], sites: gpd.GeoDataFrame, ctx: SiteContext, max_cells: int
) -> gpd.GeoDataFrame:
    """Return the coverage layer: per site and NIIRS class, the area of its cells in that class.

    Each row is one site's grid cells whose best NIIRS falls in one class of
    :data:`COVERAGE_CLASSES`, merged into one (Multi)Polygon in EPSG:4326, with ``site_id``,
    ``niirs_from`` (the class's lower bound), ``best_niirs`` and ``best_gsd_m`` (the best in the
    class), ``cells`` and ``cell_m``. Merging keeps the layer small when a drone without a logged
    pose could see whole sites, while every cell still counts once.
    """
    rows, shapes = [], []
    site_ids = sites["site_id"].to_numpy()
    for site in sorted(grids):
        best = grids[site]
        seen = np.isfinite(best)
        if not seen.any():
            continue
        grid = site_grid(ctx.local_geom[site], max_cells=max_cells)
        gsd, x, y = best[seen], grid.x[seen], grid.y[seen]
        level = niirs(gsd)
        cls = np.digitize(level, COVERAGE_CLASSES) - 1
        for c in np.unique(cls):
            sel = cls == c
            local = _class_shape(x[sel], y[sel], grid.cell_m)
            code = int(ctx.epsg[site])
            shapes.append(
                shapely.transform(
                    local,
                    lambda xy, code=code: np.column_stack(to_geographic(xy[:, 0], xy[:, 1], code)),
                )
            )
            rows.append(
                {
                    "site_id": site_ids[site],
                    "niirs_from": COVERAGE_CLASSES[c],
                    "best_niirs": float(level[sel].max()),
                    "best_gsd_m": float(gsd[sel].min()),
                    "cells": int(sel.sum()),
                    "cell_m": grid.cell_m,
                }
            )
    columns = ["site_id", "niirs_from", "best_niirs", "best_gsd_m", "cells", "cell_m"]
    frame = pd.DataFrame(rows, columns=columns)
    return gpd.GeoDataFrame(frame, geometry=shapes or [], crs="EPSG:4326")


def coverage_by_flight(
    flight_cells: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]],
    grids: dict[int, np.ndarray],
    flight_ids: np.ndarray,
    site_ids: np.ndarray,
) -> pd.DataFrame:
    """Sparse per-flight coverage: one row per (site, flight, covered grid cell).

    Columns: ``site_id``, ``flight_id``, ``cell`` (index into the site's grid), ``best_gsd_m``
    (that flight's best weighted GSD on the cell) and ``site_cells`` (cells in the site's grid).
    The coverage fraction of any set of flights F at NIIRS ≥ k is the number of distinct cells
    with a row from F and ``niirs(best_gsd_m) ≥ k``, divided by ``site_cells``.

    Examples
    --------
    >>> t = coverage_by_flight({(0, 1): (np.array([2, 3]), np.array([0.1, 0.2]))},
    ...                        {0: np.full(4, np.inf)}, np.array(["a", "b"]), np.array(["s"]))
    >>> t[["site_id", "flight_id", "cell", "site_cells"]].values.tolist()
    [['s', 'b', 2, 4], ['s', 'b', 3, 4]]
    """
    keys = sorted(flight_cells)
    if not keys:
        return pd.DataFrame(
            {
                "site_id": pd.Series(dtype="string"),
                "flight_id": pd.Series(dtype="string"),
                "cell": pd.Series(dtype="int32"),
                "best_gsd_m": pd.Series(dtype=float),
                "site_cells": pd.Series(dtype="int64"),
            }
        )
    sizes = [len(flight_cells[k][0]) for k in keys]
    site = np.repeat([k[0] for k in keys], sizes)
    flight = np.repeat([k[1] for k in keys], sizes)
    return pd.DataFrame(
        {
            "site_id": pd.array(site_ids[site], dtype="string"),
            "flight_id": pd.array(flight_ids[flight], dtype="string"),
            "cell": np.concatenate([flight_cells[k][0] for k in keys]),
            "best_gsd_m": np.concatenate([flight_cells[k][1] for k in keys]),
            "site_cells": np.array([len(grids[s]) for s in site], dtype=np.int64),
        }
    )
