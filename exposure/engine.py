"""The exposure engine: samples × sites → passes and per-site metrics.

How a site comes to be "in view" (DESIGN 4.6), with the reach of a sample
``R_max = min(max_range_m, horizon distance, range at which NIIRS falls below useful_niirs)``:

- observed (the log has the camera pose): the camera's footprint, border rays met with the
  ground and clipped at ``R_max``, touches the site; range and resolution are taken at the
  nearest imaged point of the site, at the logged focal length (the widest when none is logged);
- potential (no pose, or ``mode="potential"``): any part of the site lies within ``R_max``,
  whatever the camera pointed at; resolution at the camera's longest focal length (the operator
  or a compromised app could zoom).

Coverage is the share of the site's grid cells inside at least one footprint (observed) or
within reach (potential), keeping the best weighted GSD per cell.

Time in view: every sample stands for half the gap to each neighbouring sample of its flight,
each gap capped at ``max_sample_gap_s`` (a gap of minutes in a log is not time in view); split
this way, totals do not depend on the direction of time. Passes: consecutive in-view
samples of one flight and one site; a gap longer than ``pass_gap_s`` starts a new pass.

How it runs (DESIGN 7): samples are sorted by flight and time and cut into chunks of whole
flights (``chunk_samples`` rows at most, unless one flight is longer). Each chunk is prefiltered
on reach with a coarse grid (:mod:`exposure.prefilter`), then only the candidates get exact
distances, passes and coverage-grid work (:mod:`exposure.kernel`). Chunks run in process, or on a
Dask cluster when a ``client`` is given (:mod:`exposure.distributed`); their results merge the
same way either way, so the tables do not depend on chunk size or engine.

A facility's catalogue floor (``floor_m`` with an ``AGL`` reference, e.g. a rooftop installation)
raises the surface it is seen at; floors given above mean sea level are ignored without a terrain
model (the run says so). The floors and ceilings of airspace zones (rows with a ``restriction``,
from ED-269/ED-318 files) bound the airspace, not the ground: they matter for violations
(:mod:`exposure.violations`), and the engine observes the ground beneath them.

Risk score (0-100)::

    risk = sensitivity × 20 × (0.4·q + 0.4·c + 0.2·t)
    q = best_niirs / 9,  c = coverage_fraction,  t = 1 − exp(−seconds_in_view / 600 s)

Image quality (q) and how much of the site was imaged (c) weigh most; time in view saturates over
about ten minutes, after which longer loitering adds little an adversary did not already have.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from exposure.cameras import (
    DEFAULT_CAMERA,
    Camera,
    focal_lengths,
    identify_cameras,
    load_cameras,
)
from exposure.coverage import cell_size_m
from exposure.errors import ExposureError
from exposure.kernel import (
    Chunk,
    EngineParams,
    Partial,
    SiteContext,
    assess_chunk,
    grid_coverage,
    merge_partials,
    sample_seconds,
)
from exposure.pose import camera_pose
from exposure.prefilter import ReachIndex
from exposure.tables import (
    attribution_tables,
    coverage_by_flight,
    coverage_layer,
    pass_table,
    site_table,
)

__all__ = ["Assessment", "assess", "risk_score"]

#: Runs the per-chunk function over all chunks and returns the partial results in order.
ChunkRunner = Callable[[Sequence[Chunk], SiteContext, EngineParams], list[Partial]]


@dataclass(frozen=True)
class Assessment:
    """What :func:`assess` returns.

    Attributes
    ----------
    site_exposure : geopandas.GeoDataFrame
        One row per site (see :mod:`exposure.results` and :mod:`exposure.tables`).
    passes : pandas.DataFrame
        One row per pass.
    attribution : dict of str to pandas.DataFrame
        Exposure totals per ``"drone"``, ``"vendor"`` and ``"operator"``.
    coverage : geopandas.GeoDataFrame
        Covered coverage-grid cells (squares) with their best GSD and NIIRS.
    coverage_by_flight : pandas.DataFrame
        Which grid cells of which site each flight covered (see
        :func:`exposure.tables.coverage_by_flight`).
    parameters : dict
        The parameters used.
    assumptions : list of str
        What the engine assumed, in words, for the manifest and the map.
    counts : dict of str to int
        Samples in, samples without a usable height, prefilter candidates, candidate pairs,
        pairs in view, passes, sites, sites in view, chunks.
    """

    site_exposure: gpd.GeoDataFrame
    passes: pd.DataFrame
    attribution: dict[str, pd.DataFrame] = field(default_factory=dict)
    coverage: gpd.GeoDataFrame | None = None
    coverage_by_flight: pd.DataFrame | None = None
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


def _check_inputs(samples, flights, sites, params: EngineParams, chunk_samples: int) -> None:
    problems = []
    if sites.crs is None:
        problems.append("sites has no CRS")
    elif sites.crs.to_epsg() != 4326:
        problems.append(f"sites must be in EPSG:4326 (the sites contract), got {sites.crs}")
    crs = getattr(samples, "crs", None)
    if isinstance(samples, gpd.GeoDataFrame) and crs is None:
        problems.append("samples has no CRS")
    elif crs is not None and sites.crs is not None and crs != sites.crs:
        problems.append(f"samples CRS {crs} differs from sites CRS {sites.crs}")
    for name in ("flight_id", "time", "lon", "lat", "height_agl_m"):
        if name not in samples:
            problems.append(f"samples lacks column {name!r}")
    missing = (
        set(samples["flight_id"].unique()) - set(flights["flight_id"])
        if "flight_id" in samples
        else set()
    )
    if missing:
        problems.append(f"samples of flights missing from the flights table: {sorted(missing)[:5]}")
    for name in ("max_range_m", "max_sample_gap_s", "pass_gap_s", "coverage_max_cells"):
        if not getattr(params, name) > 0:
            problems.append(f"{name} must be positive, got {getattr(params, name)}")
    if not chunk_samples > 0:
        problems.append(f"chunk_samples must be positive, got {chunk_samples}")
    if problems:
        raise ExposureError("assess: " + "; ".join(problems))


def _chunks(
    samples: pd.DataFrame,
    per_flight: dict[str, Camera],
    size: int,
    mode: str,
    index: ReachIndex,
    max_gap_s: float,
):
    """Flight ids (codes → ids), chunks of whole flights sorted by flight and time, and notes.

    Each chunk keeps only its samples in a reach cell (see :class:`exposure.kernel.Chunk`), so a
    chunk sent to a Dask worker carries a few percent of its flights' samples.
    """
    codes, flight_ids = pd.factorize(samples["flight_id"], sort=True)
    flight_ids = np.asarray(flight_ids.astype(str), dtype=object)
    t_ns = pd.to_datetime(samples["time"], utc=True).to_numpy(dtype="datetime64[ns]")
    t_ns = t_ns.astype("int64")
    # Readers and the store already give samples sorted by flight and time: check in one pass
    # and skip a sort of the whole fleet when they are (then no column is copied either).
    in_order = len(codes) < 2 or bool(
        ((codes[1:] > codes[:-1]) | ((codes[1:] == codes[:-1]) & (t_ns[1:] >= t_ns[:-1]))).all()
    )
    order = None if in_order else np.lexsort((t_ns, codes))
    if order is not None:
        codes, t_ns = codes[order], t_ns[order]

    def sorted_column(values: np.ndarray) -> np.ndarray:
        return values if order is None else values[order]

    col = {
        c: sorted_column(samples[c].to_numpy(float))
        if c in samples
        else np.full(len(codes), np.nan)
        for c in ("lon", "lat", "height_agl_m")
    }
    # Camera pose and focal length matter only near a site: compose them for the samples the
    # reach grid keeps (a few percent of a fleet), in sorted order.
    near = np.flatnonzero(index.candidates(col["lon"], col["lat"]))
    per_sample = {
        "cam_yaw_deg": np.full(len(near), np.nan),
        "cam_pitch_deg": np.full(len(near), np.nan),
        "cam_roll_deg": np.full(len(near), np.nan),
        "focal_mm": np.full(len(near), np.nan),
        "observed": np.zeros(len(near), dtype=bool),
    }
    notes: list[str] = []
    if len(near):
        subset = samples.iloc[near if order is None else order[near]]
        pose = camera_pose(subset)
        focal = focal_lengths(subset.assign(flight_id=subset["flight_id"].astype(str)), per_flight)
        per_sample = {
            "cam_yaw_deg": np.asarray(pose.yaw_deg, dtype=float),
            "cam_pitch_deg": np.asarray(pose.pitch_deg, dtype=float),
            "cam_roll_deg": np.asarray(pose.roll_deg, dtype=float),
            "focal_mm": np.asarray(focal, dtype=float),
            "observed": np.asarray(pose.observed & (mode == "auto"), dtype=bool),
        }
        notes = [f"near sites: {n}" for n in pose.assumptions] if mode == "auto" else []
    cap = samples["capturing"].astype("boolean") if "capturing" in samples else None
    capturing = (
        np.full(len(codes), -1, np.int8)
        if cap is None
        else sorted_column(np.where(cap.isna(), -1, cap.fillna(False).astype(int)).astype(np.int8))
    )
    # Camera figures per flight code: the kernel looks them up for prefiltered samples only.
    cams = [per_flight[f] for f in flight_ids]
    camera_arrays = {
        "pitch_mm": np.array([c.pixel_pitch_mm for c in cams]),
        "focal_long_mm": np.array([c.focal_max_mm for c in cams]),
        "focal_wide_mm": np.array([c.focal_min_mm for c in cams]),
        "sensor_w_mm": np.array([c.sensor_width_mm for c in cams]),
        "sensor_h_mm": np.array([c.sensor_height_mm for c in cams]),
    }
    # Cut at flight boundaries once a chunk holds `size` samples.
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    cuts, last = [0], 0
    for s in starts[1:]:
        if s - last >= size:
            cuts.append(int(s))
            last = s
    cuts.append(len(codes))
    # Time in view needs each sample's neighbours, near a site or not: computed over the full
    # logs before the chunks keep only their near samples.
    seconds = sample_seconds(codes, t_ns, max_gap_s)
    without_height = ~np.isfinite(col["height_agl_m"])
    chunks = []
    for a, b in itertools.pairwise(cuts):
        if b <= a:
            continue
        lo, hi = np.searchsorted(near, [a, b])
        take = near[lo:hi]
        chunks.append(
            Chunk(
                flight=codes[take].astype(np.int64, copy=False),
                time_ns=t_ns[take],
                lon=col["lon"][take],
                lat=col["lat"][take],
                height_m=col["height_agl_m"][take],
                capturing=capturing[take],
                seconds=seconds[take],
                **{k: v[lo:hi] for k, v in per_sample.items()},
                **camera_arrays,
                n_samples=int(b - a),
                n_without_height=int(without_height[a:b].sum()),
            )
        )
    return np.asarray(flight_ids, dtype=object), chunks, notes


def _run_local(chunks: Sequence[Chunk], ctx: SiteContext, params: EngineParams) -> list[Partial]:
    return [assess_chunk(c, ctx, params) for c in chunks]


def assess(
    samples: pd.DataFrame,
    flights: pd.DataFrame,
    sites: gpd.GeoDataFrame,
    *,
    cameras: dict[str, Camera] | None = None,
    camera: str | None = None,
    max_range_m: float = 5000.0,
    useful_niirs: float = 2.0,
    max_sample_gap_s: float = 10.0,
    pass_gap_s: float = 30.0,
    coverage_max_cells: int = 10_000,
    chunk_samples: int = 1_000_000,
    mode: str = "auto",
    runner: ChunkRunner | None = None,
) -> Assessment:
    """Compute passes and per-site exposure for a fleet's samples against a site catalogue.

    Parameters
    ----------
    samples : geopandas.GeoDataFrame or pandas.DataFrame
        Canonical samples from :mod:`flightlogs` (only the columns are used, not the geometry,
        so a plain frame with the same columns works too); not modified.
    flights : pandas.DataFrame
        Canonical flights table (with fleet columns where joined); not modified.
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
        Cap on a gap between samples counted as time in view.
    pass_gap_s : float
        Gap in view that ends a pass.
    coverage_max_cells : int
        Bound on each site's coverage-grid size.
    chunk_samples : int
        Samples per chunk of whole flights (bounds memory).
    mode : {"auto", "potential"}
        ``"auto"`` rates each sample ``observed`` where its log has the camera pose and
        ``potential`` where it does not; ``"potential"`` rates every sample as the worst case (a
        camera that could have pointed anywhere, e.g. through a compromised app).
    runner : callable, optional
        Runs the chunks; in process by default. :func:`exposure.distributed.dask_runner` runs
        them on a Dask cluster.

    Returns
    -------
    Assessment

    Raises
    ------
    ExposureError
        If a table lacks a CRS or a column, the CRSs differ, or a parameter is out of range.
    CameraError
        If a camera key is unknown.
    """
    params = EngineParams(
        max_range_m=max_range_m,
        useful_niirs=useful_niirs,
        max_sample_gap_s=max_sample_gap_s,
        pass_gap_s=pass_gap_s,
        coverage_max_cells=coverage_max_cells,
    )
    _check_inputs(samples, flights, sites, params, chunk_samples)
    if mode not in ("auto", "potential"):
        raise ExposureError(f"assess: mode must be 'auto' or 'potential', got {mode!r}")
    cameras = load_cameras() if cameras is None else cameras
    per_flight, assumptions = _flight_cameras(flights, cameras, camera)
    floor = sites["floor_m"].to_numpy(float) if "floor_m" in sites else np.zeros(len(sites))
    if "restriction" in sites:
        floor = np.where(sites["restriction"].notna().to_numpy(), np.nan, floor)
    ref = sites["vertical_ref"].astype("string") if "vertical_ref" in sites else None
    if ref is not None:
        amsl = (ref.str.upper() != "AGL").fillna(True).to_numpy() & np.isfinite(floor)
        if amsl.any():
            assumptions.append(
                f"{int(amsl.sum())} site floors are given above sea level; without a terrain "
                "model they were ignored (sites seen at ground level)"
            )
        floor = np.where(amsl, 0.0, floor)
    ctx = SiteContext.build(np.asarray(sites.geometry.array, dtype=object), floor, max_range_m)
    flight_ids, chunks, pose_notes = _chunks(
        samples, per_flight, chunk_samples, mode, ctx.index, params.max_sample_gap_s
    )
    assumptions += pose_notes
    merged = merge_partials((runner or _run_local)(chunks, ctx, params))

    passes = pass_table(merged.passes, flight_ids, sites["site_id"].to_numpy(), flights)
    cov, cov5 = grid_coverage(merged.grids, len(sites))
    cell_m = cell_size_m(
        np.array([g.bounds for g in ctx.local_geom]).reshape(-1, 4), max_cells=coverage_max_cells
    )
    exposure = site_table(sites, passes, flights, cov, cov5, cell_m, risk_score)
    counts = {
        **merged.counts,
        "chunks": len(chunks),
        "passes": len(passes),
        "sites": len(sites),
        "sites_in_view": int((exposure["flights"] > 0).sum()),
        "coverage_cells_seen": sum(int(np.isfinite(g).sum()) for g in merged.grids.values()),
    }
    counts.setdefault("samples", 0)
    assumptions += _assumptions(samples, counts)
    return Assessment(
        site_exposure=exposure,
        passes=passes,
        attribution=attribution_tables(passes, flights, sites),
        coverage=coverage_layer(merged.grids, sites, ctx, coverage_max_cells),
        coverage_by_flight=coverage_by_flight(
            merged.flight_cells, merged.grids, flight_ids, sites["site_id"].to_numpy()
        ),
        parameters={
            "camera": camera,
            **params.__dict__,
            "chunk_samples": chunk_samples,
            "mode": mode,
        },
        assumptions=assumptions,
        counts=counts,
    )


def _assumptions(samples: pd.DataFrame, counts: dict[str, int]) -> list[str]:
    notes = [
        "observed mode (camera pose in the log): a site is in view when the camera's footprint "
        "(border rays to the ground, clipped at the reach) touches it; resolution at the logged "
        "focal length, or the widest where none is logged",
        "potential mode (no pose in the log, or asked for): a site is in view when any of it is "
        "within reach of the drone, whatever the camera pointed at; every cell within reach "
        "counts as covered; resolution at the camera's longest focal length",
        f"{counts.get('pairs_observed', 0)} of {counts.get('pairs_in_view', 0)} sample-site "
        "pairs in view were rated observed",
    ]
    if "height_ref" in samples and (samples["height_ref"] == "takeoff").any():
        notes.append(
            "heights are above the take-off point (no DEM): the ground under the drone is taken "
            "as level with the take-off point"
        )
    if counts.get("samples_without_height"):
        notes.append(
            f"{counts['samples_without_height']} samples have no height and were not assessed"
        )
    return notes
