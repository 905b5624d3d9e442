"""The exposure engine: samples × sites → passes and per-site metrics.

How a site comes to be "in view" here (potential mode, DESIGN 4.6): a sample sees a site when
the slant range from the drone to the nearest point of the site is within the drone's reach
``R_max = min(max_range_m, horizon distance, range at which NIIRS falls below useful_niirs)``,
whatever the camera's actual pointing. Resolution is rated at the camera's longest focal length
(the worst case: the operator or a compromised app could zoom). Coverage assumes a camera looking
straight down at its widest focal length and counts the share of the site's grid cells that fell
inside at least one nadir footprint.

Time in view: every sample stands for the time to the next sample of its flight, capped at
``max_sample_gap_s`` (a gap of minutes in a log is not time in view). Passes: consecutive in-view
samples of one flight and one site; a gap longer than ``pass_gap_s`` starts a new pass.

Risk score (0-100)::

    risk = sensitivity × 20 × (0.4·q + 0.4·c + 0.2·t)
    q = best_niirs / 9,  c = coverage_fraction,  t = 1 − exp(−seconds_in_view / 600 s)

Image quality (q) and how much of the site was imaged (c) weigh most; time in view saturates over
about ten minutes, after which longer loitering adds little an adversary did not already have.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from exposure.cameras import DEFAULT_CAMERA, Camera, identify_cameras, load_cameras
from exposure.coverage import coverage_fractions, nadir_best_gsd, site_grid
from exposure.crs import local_epsg, to_local
from exposure.errors import ExposureError
from exposure.footprint import nadir_half_sizes
from exposure.quality import (
    gsd_m,
    horizon_m,
    niirs,
    niirs_meaning,
    range_for_niirs_m,
    weighted_gsd_m,
)
from exposure.results import make_passes, make_site_exposure

__all__ = ["Assessment", "assess", "risk_score"]

_M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class Assessment:
    """What :func:`assess` returns.

    Attributes
    ----------
    site_exposure : geopandas.GeoDataFrame
        One row per site (see :mod:`exposure.results`).
    passes : pandas.DataFrame
        One row per pass.
    parameters : dict
        The parameters used.
    assumptions : list of str
        What the engine assumed, in words, for the manifest and the map.
    counts : dict of str to int
        Samples in, samples without a usable height, candidate pairs, passes, exposed sites.
    """

    site_exposure: gpd.GeoDataFrame
    passes: pd.DataFrame
    parameters: dict[str, object] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def risk_score(
    sensitivity: np.ndarray, best_niirs: np.ndarray, coverage: np.ndarray, seconds: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Risk score 0-100 and its explanation per site (formula in the module docstring).

    Examples
    --------
    >>> score, why = risk_score(np.array([5]), np.array([9.0]), np.array([1.0]),
    ...                         np.array([np.inf]))
    >>> float(score[0])
    100.0
    >>> risk_score(np.array([3]), np.array([np.nan]), np.array([0.0]), np.array([0.0]))[0].tolist()
    [0.0]
    """
    q = np.nan_to_num(np.asarray(best_niirs, float), nan=0.0) / 9.0
    c = np.nan_to_num(np.asarray(coverage, float), nan=0.0)
    t = 1.0 - np.exp(-np.nan_to_num(np.asarray(seconds, float), nan=0.0) / 600.0)
    score = np.asarray(sensitivity, float) * 20.0 * (0.4 * q + 0.4 * c + 0.2 * t)
    why = [
        f"{s:g} sensitivity × 20 × (0.4·NIIRS {qq * 9:.1f}/9 + 0.4·coverage {cc:.3f} "
        f"+ 0.2·time {tt:.2f}) = {r:.1f}"
        for s, qq, cc, tt, r in zip(sensitivity, q, c, t, score, strict=True)
    ]
    return score, why


def _flight_cameras(
    flights: pd.DataFrame, cameras: dict[str, Camera], camera: str | None
) -> tuple[dict[str, Camera], list[str]]:
    """Camera per flight (see :func:`identify_cameras`), and a note on the defaulted ones."""
    chosen = identify_cameras(flights, cameras, camera=camera)
    notes = []
    if camera is not None:
        notes.append(f"camera {camera} used for every flight")
    defaulted = chosen.loc[chosen["camera_match"].str.startswith("none"), "flight_id"]
    if len(defaulted):
        notes.append(
            f"{len(defaulted)} flights name no known camera; {DEFAULT_CAMERA} assumed "
            f"(e.g. {', '.join(map(str, defaulted[:3]))})"
        )
    keys = zip(chosen["flight_id"], chosen["camera"], strict=True)
    return {f: cameras[k] for f, k in keys}, notes


def _sample_seconds(flight: np.ndarray, time_ns: np.ndarray, cap_s: float) -> np.ndarray:
    """Seconds each sample stands for: time to the next sample of its flight, capped (last: 0)."""
    dt = np.diff(time_ns).astype(float) / 1e9
    same = flight[1:] == flight[:-1]
    out = np.zeros(len(time_ns))
    out[:-1] = np.where(same, np.clip(dt, 0.0, cap_s), 0.0)
    return out


def _candidate_pairs(lon: np.ndarray, lat: np.ndarray, sites: gpd.GeoDataFrame, reach_m: float):
    """(sample, site) index pairs whose sample lies in the site's bounding box grown by reach_m."""
    b = sites.geometry.bounds.to_numpy()
    lat_pad = reach_m / _M_PER_DEG
    max_lat = np.minimum(np.maximum(np.abs(b[:, 1]), np.abs(b[:, 3])) + lat_pad, 89.9)
    lon_pad = reach_m / (_M_PER_DEG * np.cos(np.radians(max_lat)))
    boxes = shapely.box(b[:, 0] - lon_pad, b[:, 1] - lat_pad, b[:, 2] + lon_pad, b[:, 3] + lat_pad)
    tree = shapely.STRtree(boxes)
    return tree.query(shapely.points(lon, lat), predicate="intersects")


def assess(
    samples: gpd.GeoDataFrame,
    flights: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    cameras: dict[str, Camera] | None = None,
    camera: str | None = None,
    max_range_m: float = 5000.0,
    useful_niirs: float = 2.0,
    max_sample_gap_s: float = 10.0,
    pass_gap_s: float = 30.0,
    coverage_max_cells: int = 10_000,
) -> Assessment:
    """Compute passes and per-site exposure for a fleet's samples against a site catalogue.

    Parameters
    ----------
    samples, flights : geopandas.GeoDataFrame
        Canonical tables from :mod:`flightlogs`; not modified.
    sites : geopandas.GeoDataFrame
        Canonical sites table from :mod:`sites`; not modified.
    cameras : dict of str to Camera, optional
        Camera catalogue; the bundled one by default.
    camera : str, optional
        Catalogue key to use for every flight instead of each flight's own camera.
    max_range_m : float
        User cap on the reach of any camera.
    useful_niirs : float
        NIIRS below which imagery is useless; bounds the reach.
    max_sample_gap_s : float
        Cap on the time one sample stands for.
    pass_gap_s : float
        Gap in view that ends a pass.
    coverage_max_cells : int
        Bound on each site's coverage-grid size.

    Returns
    -------
    Assessment

    Raises
    ------
    ExposureError
        If a table lacks a CRS or the CRSs differ, or a parameter is out of range.
    CameraError
        If a camera key is unknown.
    """
    problems = []
    for name, table in (("samples", samples), ("flights", flights), ("sites", sites)):
        if table.crs is None:
            problems.append(f"{name} has no CRS")
    if not problems and not (samples.crs == sites.crs):
        problems.append(f"samples CRS {samples.crs} differs from sites CRS {sites.crs}")
    for name, value in (
        ("max_range_m", max_range_m),
        ("max_sample_gap_s", max_sample_gap_s),
        ("pass_gap_s", pass_gap_s),
        ("coverage_max_cells", coverage_max_cells),
    ):
        if not value > 0:
            problems.append(f"{name} must be positive, got {value}")
    if problems:
        raise ExposureError("assess: " + "; ".join(problems))
    cameras = load_cameras() if cameras is None else cameras
    per_flight, assumptions = _flight_cameras(flights, cameras, camera)
    drone_of = dict(zip(flights["flight_id"], flights["drone_id"], strict=True))
    parameters = {
        "camera": camera,
        "max_range_m": max_range_m,
        "useful_niirs": useful_niirs,
        "max_sample_gap_s": max_sample_gap_s,
        "pass_gap_s": pass_gap_s,
        "coverage_max_cells": coverage_max_cells,
        "mode": "potential",
    }

    s = samples.sort_values(["flight_id", "time"], kind="stable").reset_index(drop=True)
    fid = s["flight_id"].to_numpy(dtype=object)
    t_ns = s["time"].to_numpy(dtype="datetime64[ns]").astype("int64")
    seconds = _sample_seconds(fid, t_ns, max_sample_gap_s)
    lon, lat = s["lon"].to_numpy(float), s["lat"].to_numpy(float)
    h_raw = s["height_agl_m"].to_numpy(float)
    h = np.maximum(h_raw, 0.0)
    cams = [per_flight[f] for f in fid]
    pitch = np.array([c.pixel_pitch_mm for c in cams])
    f_long = np.array([c.focal_max_mm for c in cams])
    f_wide = np.array([c.focal_min_mm for c in cams])
    hfov = np.array([c.hfov_rad() for c in cams])
    vfov = np.array([c.vfov_rad() for c in cams])
    usable = np.isfinite(h)
    reach = np.minimum(
        np.minimum(max_range_m, horizon_m(h)), range_for_niirs_m(useful_niirs, pitch, f_long)
    )
    reach = np.where(usable, reach, 0.0)

    assumptions.append(
        "potential mode: a site is in view when within reach of the drone, whatever the camera "
        "pointed at; resolution rated at the camera's longest focal length"
    )
    assumptions.append(
        "coverage assumes a camera pointing straight down at its widest focal length"
    )
    refs = set(s["height_ref"].dropna().unique())
    if "takeoff" in refs:
        assumptions.append(
            "heights are above the take-off point (no DEM): the ground under the drone is taken "
            "as level with the take-off point"
        )
    if (~usable).any():
        assumptions.append(f"{int((~usable).sum())} samples have no height and were not assessed")
    if s["yaw_deg"].isna().any():
        assumptions.append(
            f"{int(s['yaw_deg'].isna().sum())} samples have no heading: footprints north-up"
        )

    idx = np.flatnonzero(usable & (reach > 0))
    pairs = (
        _candidate_pairs(lon[idx], lat[idx], sites, max_range_m)
        if len(idx)
        else np.empty((2, 0), int)
    )
    pi, si = idx[pairs[0]], pairs[1]
    counts = {
        "samples": len(s),
        "samples_without_height": int((~usable).sum()),
        "candidate_pairs": len(pi),
    }

    site_geom = np.asarray(sites.geometry.array, dtype=object)
    centroids = shapely.centroid(site_geom)
    site_epsg = local_epsg(shapely.get_x(centroids), shapely.get_y(centroids))
    local_geom = np.empty(len(sites), dtype=object)
    for code in np.unique(site_epsg):
        sel = site_epsg == code
        local_geom[sel] = shapely.transform(
            site_geom[sel],
            lambda xy, code=code: np.column_stack(to_local(xy[:, 0], xy[:, 1], code)),
        )

    # Distance from each candidate sample to its site, in the site's own UTM zone.
    px, py = np.empty(len(pi)), np.empty(len(pi))
    pair_epsg = site_epsg[si]
    for code in np.unique(pair_epsg):
        sel = pair_epsg == code
        px[sel], py[sel] = to_local(lon[pi[sel]], lat[pi[sel]], code)
    d_h = shapely.distance(shapely.points(px, py), local_geom[si]) if len(pi) else np.empty(0)
    slant = np.hypot(d_h, h[pi])
    keep = slant <= reach[pi]
    pi, si, px, py, d_h, slant = pi[keep], si[keep], px[keep], py[keep], d_h[keep], slant[keep]
    elev = np.arctan2(h[pi], d_h)
    gsd = gsd_m(slant, pitch[pi], f_long[pi])
    level = niirs(weighted_gsd_m(gsd, elev))

    pairs_df = pd.DataFrame(
        {
            "sample": pi,
            "site": si,
            "flight_id": fid[pi],
            "t": t_ns[pi],
            "seconds": seconds[pi],
            "slant": slant,
            "d_h": d_h,
            "gsd": gsd,
            "niirs": level,
            "capturing": s["capturing"].to_numpy()[pi],
        }
    ).sort_values(["site", "flight_id", "t"], kind="stable")
    passes = _passes(pairs_df, sites, drone_of, pass_gap_s)
    counts["pairs_in_view"] = len(pairs_df)
    counts["passes"] = len(passes)

    cov, cov5, cells = _coverage(
        pairs_df, sites, local_geom, px, py, h, s, hfov, vfov, pitch, f_wide, coverage_max_cells
    )
    exposure = _site_table(sites, passes, cov, cov5, drone_of)
    counts["sites"] = len(sites)
    counts["sites_in_view"] = int((exposure["flights"] > 0).sum())
    counts["coverage_cells"] = cells
    return Assessment(exposure, passes, parameters, assumptions, counts)


def _passes(
    pairs: pd.DataFrame, sites: gpd.GeoDataFrame, drone_of: dict, gap_s: float
) -> pd.DataFrame:
    if not len(pairs):
        return make_passes(pd.DataFrame({c: [] for c in _PASS_KEYS}))
    site, flight, t = pairs["site"].to_numpy(), pairs["flight_id"].to_numpy(), pairs["t"].to_numpy()
    new = np.ones(len(pairs), bool)
    new[1:] = (site[1:] != site[:-1]) | (flight[1:] != flight[:-1]) | (np.diff(t) > gap_s * 1e9)
    cap = pairs["capturing"].astype("boolean")
    g = pairs.assign(
        pass_no=np.cumsum(new),
        cap_true=cap.fillna(False).astype(bool),
        cap_known=cap.notna().to_numpy(),
    )
    agg = g.groupby("pass_no", sort=True).agg(
        site=("site", "first"),
        flight_id=("flight_id", "first"),
        t_start=("t", "min"),
        t_end=("t", "max"),
        seconds_in_view=("seconds", "sum"),
        min_slant_range_m=("slant", "min"),
        best_gsd_m=("gsd", "min"),
        best_niirs=("niirs", "max"),
        n_samples=("t", "size"),
        cap_any=("cap_true", "max"),
        cap_known=("cap_known", "max"),
    )
    out = pd.DataFrame(
        {
            "flight_id": agg["flight_id"].to_numpy(),
            "drone_id": [drone_of.get(f) for f in agg["flight_id"]],
            "site_id": sites["site_id"].to_numpy()[agg["site"].to_numpy()],
            "t_start": pd.to_datetime(agg["t_start"].to_numpy(), utc=True),
            "t_end": pd.to_datetime(agg["t_end"].to_numpy(), utc=True),
            "seconds_in_view": agg["seconds_in_view"].to_numpy(),
            "min_slant_range_m": agg["min_slant_range_m"].to_numpy(),
            "best_gsd_m": agg["best_gsd_m"].to_numpy(),
            "best_niirs": agg["best_niirs"].to_numpy(),
            "mode": "potential",
            "n_samples": agg["n_samples"].to_numpy(),
            "capturing": pd.array(
                [a if k else pd.NA for a, k in zip(agg["cap_any"], agg["cap_known"], strict=True)],
                dtype="boolean",
            ),
        }
    )
    return make_passes(out)


_PASS_KEYS = (
    "flight_id",
    "drone_id",
    "site_id",
    "t_start",
    "t_end",
    "seconds_in_view",
    "min_slant_range_m",
    "best_gsd_m",
    "best_niirs",
    "mode",
    "n_samples",
    "capturing",
)


def _coverage(pairs, sites, local_geom, px_all, py_all, h, s, hfov, vfov, pitch, f_wide, max_cells):
    """Coverage fractions per site from the nadir footprints of the in-view samples."""
    n = len(sites)
    cov, cov5 = np.zeros(n), np.zeros(n)
    total_cells = 0
    if not len(pairs):
        return cov, cov5, total_cells
    # px/py are aligned with the pair arrays in their original order; pairs was re-sorted.
    a, b = nadir_half_sizes(
        h[pairs["sample"].to_numpy()],
        hfov[pairs["sample"].to_numpy()],
        vfov[pairs["sample"].to_numpy()],
    )
    # A footprint can touch the site only if the site is within its half-diagonal.
    touching = pairs["d_h"].to_numpy() <= np.hypot(a, b)
    pairs, a, b = pairs[touching], a[touching], b[touching]
    order = pairs.index.to_numpy()
    site_arr, sample_arr = pairs["site"].to_numpy(), pairs["sample"].to_numpy()
    yaw = s["yaw_deg"].to_numpy(float)
    for site in np.unique(site_arr):
        sel = site_arr == site
        k = sample_arr[sel]
        grid = site_grid(local_geom[site], max_cells=max_cells)
        total_cells += grid.n_cells
        best = nadir_best_gsd(
            grid,
            x=px_all[order[sel]],
            y=py_all[order[sel]],
            height_m=h[k],
            yaw_deg=yaw[k],
            half_across=a[sel],
            half_along=b[sel],
            pixel_pitch_mm=pitch[k],
            focal_mm=f_wide[k],
        )
        cov[site], cov5[site] = coverage_fractions(best)
    return cov, cov5, total_cells


def _site_table(sites, passes, cov, cov5, drone_of) -> gpd.GeoDataFrame:
    base = pd.DataFrame(
        {
            "site_id": sites["site_id"].to_numpy(),
            "name": sites["name"].to_numpy(),
            "category": sites["category"].to_numpy(),
            "sensitivity": sites["sensitivity"].to_numpy(),
            "coverage_fraction": cov,
            "coverage_fraction_niirs5": cov5,
        }
    )
    if len(passes):
        # A flight without a drone serial counts as its own (unknown) drone.
        drone_key = (
            passes["drone_id"]
            .astype(object)
            .where(passes["drone_id"].notna(), "flight:" + passes["flight_id"].astype(str))
        )
        grouped = passes.assign(drone_key=drone_key).groupby("site_id")
        agg = grouped.agg(
            flights=("flight_id", "nunique"),
            drones=("drone_key", "nunique"),
            seconds_in_view=("seconds_in_view", "sum"),
            min_slant_range_m=("min_slant_range_m", "min"),
            best_gsd_m=("best_gsd_m", "min"),
            best_niirs=("best_niirs", "max"),
            first_seen=("t_start", "min"),
            last_seen=("t_end", "max"),
        )
        base = base.merge(agg, left_on="site_id", right_index=True, how="left")
    else:
        for col in (
            "flights",
            "drones",
            "seconds_in_view",
            "min_slant_range_m",
            "best_gsd_m",
            "best_niirs",
        ):
            base[col] = np.nan
        base["first_seen"] = pd.Series(pd.NaT, index=base.index, dtype="datetime64[ns, UTC]")
        base["last_seen"] = base["first_seen"]
    for col in ("flights", "drones"):
        base[col] = base[col].fillna(0).astype("int64")
    base["seconds_in_view"] = base["seconds_in_view"].fillna(0.0)
    base["best_niirs_meaning"] = [niirs_meaning(v) for v in base["best_niirs"]]
    base["mode"] = np.where(base["flights"] > 0, "potential", pd.NA)
    base["risk_score"], base["risk_explanation"] = risk_score(
        base["sensitivity"].to_numpy(),
        base["best_niirs"].to_numpy(),
        base["coverage_fraction"].to_numpy(),
        base["seconds_in_view"].to_numpy(),
    )
    return make_site_exposure(
        gpd.GeoDataFrame(base, geometry=sites.geometry.to_numpy(), crs=sites.crs)
    )
