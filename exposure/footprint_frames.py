"""Footprints of canonical samples as a GeoDataFrame: each camera's view, reach and GSD.

:func:`footprints` rates each sample as observed or potential, takes its height above the
ground (from a DEM when one is given), builds its ring with :mod:`exposure.footprint` in the
UTM/UPS zone of the sample, a block of samples at a time, and converts it back to EPSG:4326.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from exposure.cameras import Camera, focal_lengths, focal_sources, per_sample_cameras
from exposure.crs import local_epsg, to_geographic, to_local
from exposure.errors import ExposureError
from exposure.footprint import boresight_points, footprint_rings, reach_rings, ring_polygons
from exposure.pose import Mount, camera_pose, observation_mode
from exposure.quality import niirs, reach_m, slant_gsd_m
from exposure.terrain import Dem, elevation_xy, heights_above_ground, local_dem

__all__ = ["footprints"]


# Samples per step of :func:`footprints`: bounds its (block, vertices) temporaries to ~100 MB.
_BLOCK = 100_000


def _check_samples(samples: gpd.GeoDataFrame, **options: float) -> None:
    problems = []
    if samples.crs is None:
        problems.append("samples have no CRS, expected EPSG:4326")
    elif samples.crs.to_epsg() != 4326:
        problems.append(f"samples are in {samples.crs}, expected EPSG:4326")
    missing = [c for c in ("flight_id", "lon", "lat") if c not in samples]
    if missing:
        problems.append(f"samples lack columns {', '.join(missing)}")
    for name, value in options.items():
        if not value > 0:
            problems.append(f"{name} is {value}, expected a positive number")
    if problems:
        raise ExposureError("footprints: " + "; ".join(problems))


def footprints(
    samples: gpd.GeoDataFrame,
    camera: Camera | Mapping[str, Camera],
    *,
    force: Literal["potential"] | None = None,
    worst_case: bool = False,
    mount: Mount | None = None,
    max_range_m: float = 5000.0,
    useful_niirs: float = 2.0,
    video: bool = False,
    n_per_edge: int = 8,
    dem: Dem | None = None,
) -> gpd.GeoDataFrame:
    """Compute what each sample's camera could see, as polygons in EPSG:4326, and how sharply.

    In *observed* mode (the log has the camera pose) the footprint is the camera's view of the
    ground (see :mod:`exposure.footprint_kernels`); in *potential* mode (no pose, or
    ``force="potential"``) it is all the ground within the camera's reach ``R_max``. Each
    footprint is built in the UTM/UPS zone of its own sample and converted back.

    Parameters
    ----------
    samples : geopandas.GeoDataFrame
        Canonical samples in EPSG:4326; not modified.
    camera : Camera or mapping of str to Camera
        One camera, or one per ``flight_id``.
    force : {"potential"}, optional
        Rate every sample as the worst case.
    worst_case : bool
        Use each camera's longest focal length instead of the logged one (a narrower footprint,
        a sharper image, a longer reach).
    mount : Mount, optional
        A camera fixed to the airframe (see :func:`exposure.pose.camera_pose`).
    max_range_m, useful_niirs : float
        Bound the reach (see :func:`exposure.quality.reach_m`).
    video : bool
        Rate NIIRS for video frames rather than stills.
    n_per_edge : int
        Rays per image edge.
    dem : Dem, optional
        Elevation model in any CRS: heights above ground become ``alt_msl_m − DEM`` where the
        sample has ``alt_msl_m``, and rays stop on the terrain.

    Returns
    -------
    geopandas.GeoDataFrame
        ``flight_id``, ``time``, ``source_row`` (when present), ``mode``, ``pose_source``,
        ``camera_yaw_deg``, ``camera_pitch_deg``, ``camera_roll_deg``, ``focal_mm``,
        ``focal_source``, ``height_m``, ``height_source``, ``reach_m``, ``centre_gsd_m`` (weighted
        GSD where the image centre meets the ground), ``best_gsd_m`` and ``best_niirs`` (at the
        footprint point nearest the drone), and the footprint polygon (empty where there is
        none). ``attrs["assumptions"]`` lists what was assumed, in words.

    Raises
    ------
    ExposureError
        If the samples are not in EPSG:4326 or an option is out of range.
    CameraError
        If a flight has no camera.

    Examples
    --------
    A Mavic 3 wide camera 100 m up, looking straight down, and a sample without gimbal data:

    >>> from exposure.cameras import load_cameras
    >>> s = gpd.GeoDataFrame({"flight_id": ["f", "f"], "lon": [139.7, 139.7],
    ...     "lat": [35.6, 35.6], "height_agl_m": [100.0, 100.0], "height_ref": "takeoff",
    ...     "yaw_deg": [0.0, 0.0], "gimbal_pitch_deg": [-90.0, None]},
    ...     geometry=gpd.points_from_xy([139.7, 139.7], [35.6, 35.6]), crs=4326)
    >>> fp = footprints(s, load_cameras()["dji_mavic3_wide"], max_range_m=1000.0)
    >>> fp["mode"].tolist(), fp["best_gsd_m"].round(4).tolist()
    (['observed', 'potential'], [0.0267, 0.0267])
    >>> (fp.to_crs(32654).area / 1e6).round(3).tolist()  # km²: the view, then the reach disc
    [0.015, 3.09]
    """
    _check_samples(samples, max_range_m=max_range_m, n_per_edge=n_per_edge)
    n = len(samples)
    m = 4 * int(n_per_edge)
    pose = camera_pose(samples, mount=mount)
    mode = observation_mode(samples, force=force, mount=mount)
    cams = per_sample_cameras(samples, camera)
    focal = focal_lengths(samples, camera, worst_case=worst_case)
    pitch_mm = cams["pixel_pitch_mm"].to_numpy(float)
    heights = heights_above_ground(samples, dem)
    h = heights["height_m"].to_numpy(float)
    reach = reach_m(h, pitch_mm, focal, max_range_m=max_range_m, useful_niirs=useful_niirs)
    hfov = 2 * np.arctan(cams["sensor_width_mm"].to_numpy(float) / (2 * focal))
    vfov = 2 * np.arctan(cams["sensor_height_mm"].to_numpy(float) / (2 * focal))
    lon = samples["lon"].to_numpy(float)
    lat = samples["lat"].to_numpy(float)
    rings_geo = np.full((n, m, 2), np.nan)
    centre_gsd = np.full(n, np.nan)
    best_gsd = np.full(n, np.nan)
    observed = mode == "observed"
    epsg = local_epsg(lon, lat)
    per_sample = {
        "height_m": h, "reach_m": reach, "yaw_deg": pose.yaw_deg, "pitch_deg": pose.pitch_deg,
        "roll_deg": pose.roll_deg, "hfov_rad": hfov, "vfov_rad": vfov,
        "pixel_pitch_mm": pitch_mm, "focal_mm": focal, "observed": observed,
    }
    for code in np.unique(epsg):
        zone = np.flatnonzero((epsg == code) & np.isfinite(h) & (h > 0))
        if not len(zone):
            continue
        terrain = None if dem is None else _zone_terrain(dem, int(code), lon, lat, reach, zone)
        for start in range(0, len(zone), _BLOCK):
            sel = zone[start : start + _BLOCK]
            x, y = to_local(lon[sel], lat[sel], code)
            rings, centre_gsd[sel], best_gsd[sel] = _block_footprints(
                x, y, {k: v[sel] for k, v in per_sample.items()}, m=m, terrain=terrain
            )
            ok = np.isfinite(rings).all(axis=(1, 2))
            glon, glat = to_geographic(rings[ok, :, 0].ravel(), rings[ok, :, 1].ravel(), code)
            rings_geo[sel[ok]] = np.stack([glon, glat], axis=-1).reshape(-1, m, 2)
    out = pd.DataFrame(
        {c: samples[c].to_numpy() for c in ("flight_id", "time", "source_row") if c in samples}
    )
    out["mode"] = mode
    out["pose_source"] = np.where(observed, pose.source, "potential mode").astype(object)
    out["camera_yaw_deg"] = np.where(observed, pose.yaw_deg, np.nan)
    out["camera_pitch_deg"] = np.where(observed, pose.pitch_deg, np.nan)
    out["camera_roll_deg"] = np.where(observed, pose.roll_deg, np.nan)
    out["focal_mm"] = focal
    out["focal_source"] = focal_sources(samples, worst_case=worst_case)
    out["height_m"] = h
    out["height_source"] = heights["height_source"].to_numpy()
    out["reach_m"] = reach
    out["centre_gsd_m"] = centre_gsd
    out["best_gsd_m"] = best_gsd
    out["best_niirs"] = np.where(np.isfinite(best_gsd), niirs(best_gsd, video=video), np.nan)
    result = gpd.GeoDataFrame(out, geometry=ring_polygons(rings_geo), crs="EPSG:4326")
    result.attrs["assumptions"] = _assumptions(pose.assumptions, heights, dem, mode, force)
    return result


def _zone_terrain(
    dem: Dem,
    code: int,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    reach: NDArray[np.float64],
    zone: NDArray[np.int64],
) -> Dem | None:
    """Warp the DEM into one UTM/UPS zone, over the zone's samples and their reach only."""
    x, y = to_local(lon[zone], lat[zone], code)
    pad = float(np.nanmax(reach[zone], initial=0.0)) + 2 * dem.resolution_m
    to_zone = Transformer.from_crs(dem.crs, CRS.from_epsg(code), always_xy=True)
    dxmin, dymin, dxmax, dymax = to_zone.transform_bounds(*dem.bounds)
    # Only where the DEM has data: a fleet flying far off the DEM must not get a huge grid.
    box = (max(x.min() - pad, dxmin), max(y.min() - pad, dymin),
           min(x.max() + pad, dxmax), min(y.max() + pad, dymax))
    if box[0] >= box[2] or box[1] >= box[3]:
        return None
    return local_dem(dem, code, bounds=box)


def _block_footprints(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    p: dict[str, NDArray],
    *,
    m: int,
    terrain: Dem | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Rings, image-centre GSD and best GSD of one block of samples in one zone."""
    common = {"x": x, "y": y, "height_m": p["height_m"], "reach_m": p["reach_m"]}
    obs = p["observed"]
    rings = reach_rings(**common, n_vertices=m)
    if obs.any():
        rings[obs] = footprint_rings(
            **{k: v[obs] for k, v in common.items()},
            **{k: p[k][obs] for k in ("yaw_deg", "pitch_deg", "roll_deg", "hfov_rad", "vfov_rad")},
            n_per_edge=m // 4,
            terrain=terrain,
        )
    centre = boresight_points(
        **common, yaw_deg=p["yaw_deg"], pitch_deg=p["pitch_deg"], terrain=terrain
    )
    rate = {"pixel_pitch_mm": p["pixel_pitch_mm"], "focal_mm": p["focal_mm"]}
    below = p["height_m"]
    if terrain is not None:
        # Height of the camera above the ground point it looks at, not above its own.
        g0 = elevation_xy(terrain, x, y)
        gc = elevation_xy(terrain, centre[:, 0], centre[:, 1])
        below = np.where(np.isfinite(g0 - gc), below + g0 - gc, below)
    horizontal = np.hypot(centre[:, 0] - x, centre[:, 1] - y)
    centre_gsd = np.where(obs, slant_gsd_m(horizontal, below, **rate), np.nan)
    best_gsd = slant_gsd_m(_distance_to_rings(rings, x, y), p["height_m"], **rate)
    return rings, centre_gsd, best_gsd


def _distance_to_rings(
    rings: NDArray[np.float64], px: NDArray[np.float64], py: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Distance from one point per ring to that convex CCW ring (0 inside, NaN for no ring)."""
    a = rings
    b = np.roll(rings, -1, axis=1)
    ex, ey = b[..., 0] - a[..., 0], b[..., 1] - a[..., 1]
    wx, wy = px[:, None] - a[..., 0], py[:, None] - a[..., 1]
    inside = ((ex * wy - ey * wx) >= -1e-9 * (np.abs(ex) + np.abs(ey))).all(axis=1)
    length2 = ex * ex + ey * ey
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(np.where(length2 > 0, (wx * ex + wy * ey) / length2, 0.0), 0.0, 1.0)
    d = np.hypot(wx - t * ex, wy - t * ey).min(axis=1)
    return np.where(np.isfinite(a).all(axis=(1, 2)), np.where(inside, 0.0, d), np.nan)


def _assumptions(
    pose_notes: tuple[str, ...],
    heights: pd.DataFrame,
    dem: Dem | None,
    mode: NDArray[np.object_],
    force: str | None,
) -> list[str]:
    notes = list(pose_notes)
    if force == "potential":
        notes.append("potential mode forced: every footprint is the ground within reach")
    counts = heights["height_source"].value_counts()
    for source, count in counts.items():
        if source == "alt_msl_m − DEM":
            notes.append(f"{count} samples: height above ground = alt_msl_m − DEM ({dem.source})")
        elif source == "log: above take-off":
            notes.append(
                f"{count} samples: height above the take-off point used as height above the "
                "ground (the ground taken as level with the take-off point)"
            )
        elif source in ("log: reference unknown", "unknown"):
            notes.append(f"{count} samples: height {source.removeprefix('log: ')}")
    if dem is not None:
        notes.append(
            f"terrain from {dem.source} at about {dem.resolution_m:.0f} m: a DEM of this kind "
            "is bare, smoothed ground; buildings and trees are not in it"
        )
    n_potential = int((mode == "potential").sum())
    if n_potential and force != "potential":
        notes.append(f"{n_potential} samples rated in potential mode (no camera pose)")
    return notes
