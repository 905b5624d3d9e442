"""The per-chunk computation of the engine: one chunk of whole flights against every site.

A chunk holds whole flights (a pass never spans two chunks), so the engine is a map over chunks
followed by a merge: passes are concatenated, and per-site coverage grids are merged by keeping
the best (smallest) GSD per cell. The same functions run in process or on Dask workers; every
input and output here is plain numpy/pandas and pickles cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from exposure.coverage import coverage_fractions, footprint_best_gsd, site_grid
from exposure.crs import local_epsg, to_local
from exposure.footprint import footprint_rings, ring_polygons
from exposure.prefilter import ReachIndex, box_tree, candidate_pairs, reach_boxes
from exposure.quality import gsd_m, horizon_m, niirs, range_for_niirs_m, weighted_gsd_m
from flightlogs.schema import paused_gc

__all__ = [
    "SECTORS",
    "Chunk",
    "EngineParams",
    "Partial",
    "SiteContext",
    "assess_chunk",
    "grid_coverage",
    "merge_partials",
    "sample_seconds",
]

#: Viewing directions are counted in 12 sectors of 30° around each site.
SECTORS = 12
#: Vertices of every footprint ring (border rays of the image, or the reach circle).
_RING_VERTICES = 32


@dataclass(frozen=True)
class EngineParams:
    """Parameters of one run (see :func:`exposure.engine.assess`)."""

    max_range_m: float = 5000.0
    useful_niirs: float = 2.0
    max_sample_gap_s: float = 10.0
    pass_gap_s: float = 30.0
    coverage_max_cells: int = 10_000


@dataclass(frozen=True)
class SiteContext:
    """What every chunk needs to know about the sites, in their local metric CRSs.

    Attributes
    ----------
    local_geom : numpy.ndarray
        Site polygons, each in the UTM/UPS zone of its centroid (metres).
    epsg : numpy.ndarray
        That zone's EPSG code per site.
    centroid_xy : numpy.ndarray
        (n, 2) site centroids in their local CRS.
    floor_m : numpy.ndarray
        Height of the site's lowest surface above the ground (0 where the catalogue has none).
    boxes : numpy.ndarray
        Site bounding boxes in degrees grown by the largest reach.
    index : ReachIndex
        The coarse grid of :mod:`exposure.prefilter`.
    tree : shapely.STRtree
        The search tree over ``boxes`` (:func:`exposure.prefilter.box_tree`).
    local_bounds : numpy.ndarray
        (n, 4) bounds of ``local_geom``.
    """

    local_geom: NDArray[np.object_]
    epsg: NDArray[np.int64]
    centroid_xy: NDArray[np.float64]
    floor_m: NDArray[np.float64]
    boxes: NDArray[np.float64]
    index: ReachIndex
    tree: shapely.STRtree
    local_bounds: NDArray[np.float64]

    @classmethod
    def build(cls, geometry: NDArray[np.object_], floor_m: NDArray[np.float64], reach_m: float):
        """Project every site into its own zone and build the reach index."""
        centroids = shapely.centroid(geometry)
        epsg = local_epsg(shapely.get_x(centroids), shapely.get_y(centroids))
        local = np.empty(len(geometry), dtype=object)
        cxy = np.zeros((len(geometry), 2))
        for code in np.unique(epsg):
            sel = epsg == code
            local[sel] = shapely.transform(
                geometry[sel],
                lambda xy, code=code: np.column_stack(to_local(xy[:, 0], xy[:, 1], code)),
            )
            c = shapely.centroid(local[sel])
            cxy[sel] = np.column_stack([shapely.get_x(c), shapely.get_y(c)])
        boxes = reach_boxes(shapely.bounds(geometry), reach_m)
        floor = np.nan_to_num(np.asarray(floor_m, float), nan=0.0)
        return cls(
            local,
            epsg,
            cxy,
            floor,
            boxes,
            ReachIndex.build(boxes),
            box_tree(boxes),
            shapely.bounds(local).reshape(-1, 4),
        )


@dataclass(frozen=True)
class Chunk:
    """The samples of whole flights that could see a site, as plain arrays sorted by flight, time.

    Only samples in a cell of the reach grid (:class:`exposure.prefilter.ReachIndex`) are kept:
    the others cannot see any site, and a fleet's samples are mostly far from every one. What
    needs the whole flight is computed before: ``seconds``, the time each sample stands for
    (:func:`sample_seconds`, from its neighbours in the full log), and the counts
    ``n_samples`` / ``n_without_height`` of all the flights' samples.

    ``flight`` holds integer flight codes; the camera arrays ``pitch_mm`` ... ``sensor_h_mm``
    are indexed by flight code and hold each flight's camera geometry (pixel pitch, longest and
    widest focal length, sensor size). Per sample: the camera pose (``cam_*``, see
    :mod:`exposure.pose`), the focal length it used (``focal_mm``) and whether the pose came
    from the log (``observed``; False rates the sample in potential mode).
    """

    flight: NDArray[np.int64]
    time_ns: NDArray[np.int64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    height_m: NDArray[np.float64]
    capturing: NDArray[np.int8]  # 1 recording, 0 not, -1 unknown
    seconds: NDArray[np.float64]
    cam_yaw_deg: NDArray[np.float64]
    cam_pitch_deg: NDArray[np.float64]
    cam_roll_deg: NDArray[np.float64]
    focal_mm: NDArray[np.float64]
    observed: NDArray[np.bool_]
    pitch_mm: NDArray[np.float64]
    focal_long_mm: NDArray[np.float64]
    focal_wide_mm: NDArray[np.float64]
    sensor_w_mm: NDArray[np.float64]
    sensor_h_mm: NDArray[np.float64]
    n_samples: int = 0
    n_without_height: int = 0

    def __len__(self) -> int:
        return len(self.flight)


@dataclass
class Partial:
    """What one chunk contributes: its passes, coverage grids and counts.

    ``grids`` maps a site code to the best weighted GSD of each of its grid cells (inf where no
    footprint fell); ``flight_cells`` maps (site code, flight code) to the cells that flight
    covered and their best GSD, so that the coverage of any subset of flights (those whose
    imagery leaked, those a no-fly zone would have stopped) is a union, not a recomputation.
    """

    passes: pd.DataFrame
    grids: dict[int, NDArray[np.float64]] = field(default_factory=dict)
    flight_cells: dict[tuple[int, int], tuple[NDArray[np.int32], NDArray[np.float64]]] = field(
        default_factory=dict
    )
    counts: dict[str, int] = field(default_factory=dict)


def sample_seconds(flight: NDArray[np.int64], time_ns: NDArray[np.int64], cap_s: float):
    """Seconds each sample stands for: half the gap to each neighbour in its flight.

    Each gap is first capped at ``cap_s`` (a gap of minutes in a log is not time in view). Splitting
    every gap between its two samples makes the totals independent of the direction of time.

    Examples
    --------
    >>> sample_seconds(np.array([0, 0, 0, 1]), np.array([0, 1, 3, 9]) * 10**9, 10.0).tolist()
    [0.5, 1.5, 1.0, 0.0]
    """
    out = np.zeros(len(flight))
    if len(flight) < 2:
        return out
    gap = np.clip(np.diff(time_ns).astype(float) / 1e9, 0.0, cap_s)
    gap = np.where(flight[1:] == flight[:-1], gap, 0.0)
    out[:-1] += gap / 2
    out[1:] += gap / 2
    return out


def assess_chunk(chunk: Chunk, sites: SiteContext, params: EngineParams) -> Partial:
    """Compute the passes and coverage grids of one chunk of whole flights.

    The chunk's footprints, points and grid cells are many short-lived geometries: the cyclic
    garbage collector is paused meanwhile (:func:`flightlogs.schema.paused_gc`).

    Returns
    -------
    Partial
        ``passes`` has one row per pass with integer ``flight`` and ``site`` codes, times in ns,
        the pass metrics and a 12-bit ``sectors`` mask of the directions it was seen from.
    """
    with paused_gc():
        return _assess_chunk(chunk, sites, params)


def _assess_chunk(chunk: Chunk, sites: SiteContext, params: EngineParams) -> Partial:
    seconds = chunk.seconds
    h = np.maximum(chunk.height_m, 0.0)
    cand = np.flatnonzero(np.isfinite(chunk.height_m) & (h > 0))
    fc = chunk.flight[cand]
    reach = np.minimum(
        np.minimum(params.max_range_m, horizon_m(h[cand])),
        range_for_niirs_m(params.useful_niirs, chunk.pitch_mm[fc], chunk.focal_long_mm[fc]),
    )
    cand, reach = cand[reach > 0], reach[reach > 0]
    pj, si = candidate_pairs(chunk.lon[cand], chunk.lat[cand], sites.boxes, sites.tree)
    pi, reach_pi = cand[pj], reach[pj]
    counts = {
        "samples": chunk.n_samples,
        "samples_without_height": chunk.n_without_height,
        "prefilter_candidates": len(cand),
        "candidate_pairs": len(pi),
    }

    px, py = np.empty(len(pi)), np.empty(len(pi))
    for code in np.unique(sites.epsg[si]):
        sel = sites.epsg[si] == code
        px[sel], py[sel] = to_local(chunk.lon[pi[sel]], chunk.lat[pi[sel]], code)
    # The site's surface may sit above the ground (a catalogue floor): measure to it.
    dz = h[pi] - sites.floor_m[si]
    # The distance to the site's bounding box bounds the distance to the site from below: pairs
    # out of reach even by that measure need no exact distance.
    box = sites.local_bounds[si]
    to_box = np.hypot(
        np.maximum(np.maximum(box[:, 0] - px, px - box[:, 2]), 0.0),
        np.maximum(np.maximum(box[:, 1] - py, py - box[:, 3]), 0.0),
    )
    keep = np.hypot(to_box, dz) <= reach_pi
    pi, si, px, py, dz, reach_pi = (a[keep] for a in (pi, si, px, py, dz, reach_pi))
    site_geom = sites.local_geom[si]
    d_h = shapely.distance(shapely.points(px, py), site_geom) if len(pi) else px
    keep = np.hypot(d_h, dz) <= reach_pi
    pi, si, px, py, d_h, dz, reach_pi, site_geom = (
        a[keep] for a in (pi, si, px, py, d_h, dz, reach_pi, site_geom)
    )
    rings = _rings(chunk, pi, px, py, dz, reach_pi)
    observed = chunk.observed[pi]
    # Observed: the site is in view when the camera's footprint touches it, and the nearest
    # imaged part of it sets the range. Potential: any part within reach is in view.
    if observed.any():
        # Only footprints whose bounding box meets the site's can touch it: the others (most,
        # when the camera looks down and the site is kilometres away) get no polygon.
        ring, box = rings[observed], sites.local_bounds[si[observed]]
        meets = np.flatnonzero(
            (ring[..., 0].min(axis=1) <= box[:, 2])
            & (ring[..., 0].max(axis=1) >= box[:, 0])
            & (ring[..., 1].min(axis=1) <= box[:, 3])
            & (ring[..., 1].max(axis=1) >= box[:, 1])
        )
        seen = np.asarray(ring_polygons(ring[meets]), dtype=object)
        geom = site_geom[observed][meets]
        touch = shapely.intersects(seen, geom)
        near = np.full(int(observed.sum()), np.inf)
        near[meets[touch]] = shapely.distance(
            shapely.points(px[observed][meets[touch]], py[observed][meets[touch]]),
            shapely.intersection(seen[touch], geom[touch]),
        )
        d_h = d_h.copy()
        d_h[observed] = near
    keep = np.isfinite(d_h)
    pi, si, px, py, d_h, dz, rings, observed, reach_pi = (
        a[keep] for a in (pi, si, px, py, d_h, dz, rings, observed, reach_pi)
    )
    slant = np.hypot(d_h, dz)
    fpi = chunk.flight[pi]
    focal = np.where(observed, chunk.focal_mm[pi], chunk.focal_long_mm[fpi])
    gsd = gsd_m(slant, chunk.pitch_mm[fpi], focal)
    level = niirs(weighted_gsd_m(gsd, np.arctan2(dz, d_h)))
    azimuth = np.degrees(np.arctan2(px - sites.centroid_xy[si, 0], py - sites.centroid_xy[si, 1]))
    sector = (np.floor(np.mod(azimuth, 360.0) / (360.0 / SECTORS)).astype(np.int64)) % SECTORS
    counts["pairs_in_view"] = len(pi)
    counts["pairs_observed"] = int(observed.sum())

    passes = _passes(chunk, pi, si, seconds, slant, gsd, level, sector, observed, params.pass_gap_s)
    grids, flight_cells = _grids(
        chunk,
        pi,
        si,
        px,
        py,
        dz,
        rings,
        focal,
        observed,
        reach_pi,
        sites,
        params.coverage_max_cells,
    )
    return Partial(passes, grids, flight_cells, counts)


def _rings(chunk: Chunk, pi, px, py, dz, reach):
    """Return the camera footprint rings of candidate pairs with an observed pose (NaN else)."""
    rings = np.full((len(pi), _RING_VERTICES, 2), np.nan)
    obs = chunk.observed[pi]
    if obs.any():
        k, f = pi[obs], chunk.flight[pi[obs]]
        focal = chunk.focal_mm[k]
        rings[obs] = footprint_rings(
            x=px[obs],
            y=py[obs],
            height_m=dz[obs],
            yaw_deg=chunk.cam_yaw_deg[k],
            pitch_deg=chunk.cam_pitch_deg[k],
            roll_deg=chunk.cam_roll_deg[k],
            hfov_rad=2 * np.arctan(chunk.sensor_w_mm[f] / (2 * focal)),
            vfov_rad=2 * np.arctan(chunk.sensor_h_mm[f] / (2 * focal)),
            reach_m=reach[obs],
            n_per_edge=_RING_VERTICES // 4,
        )
    return rings


def _passes(chunk, pi, si, seconds, slant, gsd, level, sector, observed, gap_s) -> pd.DataFrame:
    # A pass is one flight, one site, one mode: a stretch rated observed never merges with one
    # rated potential.
    order = np.lexsort((chunk.time_ns[pi], chunk.flight[pi], observed, si))
    pi, si, obs = pi[order], si[order], observed[order]
    t = chunk.time_ns[pi]
    f = chunk.flight[pi]
    new = np.ones(len(pi), bool)
    if len(pi):
        new[1:] = (
            (si[1:] != si[:-1])
            | (f[1:] != f[:-1])
            | (obs[1:] != obs[:-1])
            | (np.diff(t) > gap_s * 1e9)
        )
    pass_no = np.cumsum(new) - 1
    cap = chunk.capturing[pi]
    frame = pd.DataFrame(
        {
            "pass_no": pass_no,
            "site": si,
            "flight": f,
            "t": t,
            "seconds": seconds[pi],
            "slant": slant[order],
            "gsd": gsd[order],
            "niirs": level[order],
            "cap_true": cap == 1,
            "cap_known": cap >= 0,
            "sector_bit": np.left_shift(1, sector[order]).astype(np.int64),
            "observed": obs,
        }
    )
    g = frame.groupby("pass_no", sort=True)
    out = g.agg(
        site=("site", "first"),
        flight=("flight", "first"),
        t_start=("t", "min"),
        t_end=("t", "max"),
        seconds_in_view=("seconds", "sum"),
        min_slant_range_m=("slant", "min"),
        best_gsd_m=("gsd", "min"),
        best_niirs=("niirs", "max"),
        n_samples=("t", "size"),
        cap_any=("cap_true", "max"),
        cap_known=("cap_known", "max"),
        observed=("observed", "first"),
    )
    out["sectors"] = g["sector_bit"].agg(np.bitwise_or.reduce)
    return out.reset_index(drop=True)


def _grids(chunk, pi, si, px, py, dz, rings, focal, observed, reach, sites, max_cells):
    """Best weighted GSD per grid cell of every site in view, per site and flight.

    Observed samples cover the cells inside their camera footprint (:func:`footprint_best_gsd`).
    Potential samples cover every cell within reach; since there are many of them and each
    reaches the whole site, each cell is rated from its :data:`_NEAREST` horizontally nearest
    potential samples of the flight (:func:`_potential_best_gsd`), not from all of them.
    """
    fk = chunk.flight[pi]
    grids, flight_cells = {}, {}
    for site in np.unique(si):
        grid = site_grid(sites.local_geom[site], max_cells=max_cells)
        site_best = np.full(grid.n_cells, np.inf)
        at_site = si == site
        for flight in np.unique(fk[at_site]):
            sel = at_site & (fk == flight)
            best = np.full(grid.n_cells, np.inf)
            obs = np.flatnonzero(sel & observed)
            if len(obs):
                best = footprint_best_gsd(
                    grid,
                    rings=rings[obs],
                    x=px[obs],
                    y=py[obs],
                    height_m=dz[obs],
                    pixel_pitch_mm=chunk.pitch_mm[fk[obs]],
                    focal_mm=focal[obs],
                    best=best,
                )
            pot = np.flatnonzero(sel & ~observed)
            if len(pot):
                k_gsd = chunk.pitch_mm[flight] / chunk.focal_long_mm[flight]
                best = np.minimum(
                    best, _potential_best_gsd(grid, px[pot], py[pot], dz[pot], reach[pot], k_gsd)
                )
            seen = np.flatnonzero(np.isfinite(best))
            if len(seen):
                flight_cells[(int(site), int(flight))] = (seen.astype(np.int32), best[seen])
            site_best = np.minimum(site_best, best)
        grids[int(site)] = site_best
    return grids, flight_cells


#: Potential samples consulted per grid cell (the horizontally nearest ones).
_NEAREST = 8


def _potential_best_gsd(grid, x, y, dz, reach, k_gsd):
    """Best weighted GSD per cell over potential samples: a camera that could point anywhere.

    Weighted GSD grows with horizontal distance at a given height, so the best sample for a cell
    is among its nearest; consulting the nearest :data:`_NEAREST` is exact when the height is
    constant along the track and a close bound when it varies.

    Examples
    --------
    >>> g = site_grid(shapely.box(-10, -10, 10, 10), max_cells=4)
    >>> _potential_best_gsd(g, np.array([0.0]), np.array([0.0]), np.array([100.0]),
    ...                     np.array([5000.0]), 0.0004).round(4).tolist()
    [0.0401, 0.0401, 0.0401, 0.0401]
    """
    k = min(_NEAREST, len(x))
    tree = cKDTree(np.column_stack([x, y]))
    d, idx = tree.query(np.column_stack([grid.x, grid.y]), k=k)
    d, idx = d.reshape(grid.n_cells, k), idx.reshape(grid.n_cells, k)
    h = dz[idx]
    slant = np.hypot(d, h)
    gw = weighted_gsd_m(k_gsd * slant, np.arctan2(h, d))
    gw = np.where(slant <= reach[idx], gw, np.inf)
    return gw.min(axis=1)


def merge_partials(partials: list[Partial]) -> Partial:
    """Concatenate passes, keep the best GSD per cell, and add up the counts.

    The result does not depend on how the flights were split into chunks.
    """
    passes = [p.passes for p in partials if len(p.passes)]
    merged = Partial(pd.concat(passes, ignore_index=True) if passes else _empty_passes())
    for p in partials:
        for site, best in p.grids.items():
            merged.grids[site] = (
                np.minimum(merged.grids[site], best) if site in merged.grids else best
            )
        # A flight lives in one chunk only, so its (site, flight) keys never collide.
        merged.flight_cells.update(p.flight_cells)
        for key, value in p.counts.items():
            merged.counts[key] = merged.counts.get(key, 0) + value
    return merged


def _empty_passes() -> pd.DataFrame:
    cols = {
        "site": "int64",
        "flight": "int64",
        "t_start": "int64",
        "t_end": "int64",
        "seconds_in_view": "float64",
        "min_slant_range_m": "float64",
        "best_gsd_m": "float64",
        "best_niirs": "float64",
        "n_samples": "int64",
        "cap_any": "bool",
        "cap_known": "bool",
        "sectors": "int64",
        "observed": "bool",
    }
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})


def grid_coverage(grids: dict[int, NDArray[np.float64]], n_sites: int):
    """Coverage fraction and NIIRS ≥ 5 fraction per site (0 where no footprint touched it)."""
    cov, cov5 = np.zeros(n_sites), np.zeros(n_sites)
    for site, best in grids.items():
        cov[site], cov5[site] = coverage_fractions(best)
    return cov, cov5
