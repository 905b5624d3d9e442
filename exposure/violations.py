"""Entries of flights into no-fly zone volumes, as episodes.

A sample is inside a zone's volume when its position lies in the zone's polygon, the zone is in
force at the sample's time (its ``schedule``, see :mod:`sites.schedule`), and its height is
between the zone's floor and ceiling in the zone's vertical reference: heights above ground
(``AGL``) are compared with ``height_agl_m`` (above the take-off point unless the log says
otherwise: the run says which), heights above sea level (``AMSL``) with ``alt_msl_m``. A missing
limit is open (no floor: from the ground; no ceiling: unlimited); a sample without the height a
limited zone needs is counted as inside (a restriction is read in its safe sense) and said so.

Consecutive inside samples of one flight and one zone form an episode; a gap of more than
``gap_s`` seconds outside ends it. Each episode reports its entry and exit times, duration,
deepest horizontal penetration (the largest distance inside the zone's boundary, in the zone's
own UTM zone), and maximum height.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from exposure.crs import local_epsg, to_local
from exposure.errors import ExposureError
from sites.schedule import is_active

__all__ = ["EPISODE_COLUMNS", "inside_zones", "violations"]

EPISODE_COLUMNS = (
    "flight_id",
    "drone_id",
    "zone_id",
    "zone_name",
    "t_entry",
    "t_exit",
    "duration_s",
    "max_penetration_m",
    "max_height_m",
    "n_samples",
    "n_height_unknown",
)


def _limits_ok(samples: pd.DataFrame, zone) -> tuple[np.ndarray, np.ndarray]:
    ref = str(zone.vertical_ref).upper() if isinstance(zone.vertical_ref, str) else "AGL"
    column = "alt_msl_m" if ref in ("AMSL", "WGS84", "MSL") else "height_agl_m"
    h = samples[column].to_numpy(float) if column in samples else np.full(len(samples), np.nan)
    floor = zone.floor_m if np.isfinite(zone.floor_m) else -np.inf
    ceiling = zone.ceiling_m if np.isfinite(zone.ceiling_m) else np.inf
    limited = np.isfinite(floor) or np.isfinite(ceiling)
    unknown = ~np.isfinite(h) & limited
    with np.errstate(invalid="ignore"):
        ok = (h >= floor) & (h <= ceiling)
    return ok | unknown | ~limited, unknown


def inside_zones(
    samples: pd.DataFrame, zones: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Find which samples are inside which zone volume.

    Parameters
    ----------
    samples : pandas.DataFrame
        Canonical samples (``lon``, ``lat``, ``time``, ``height_agl_m``, ``alt_msl_m``).
    zones : geopandas.GeoDataFrame
        Canonical sites table of zones (EPSG:4326) with ``floor_m``, ``ceiling_m``,
        ``vertical_ref`` and ``schedule``.

    Returns
    -------
    sample_index, zone_index : numpy.ndarray
        Pairs (positions in ``samples`` and ``zones``) of samples inside a zone volume.
    height_unknown : numpy.ndarray of bool
        Per pair: the zone has vertical limits but the sample lacks the height to test them.
    notes : list of str
        What was assumed.

    Examples
    --------
    >>> z = gpd.GeoDataFrame({"floor_m": [0.0], "ceiling_m": [120.0], "vertical_ref": ["AGL"],
    ...     "schedule": [None]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    >>> s = pd.DataFrame({"lon": [0.5, 0.5, 2.0], "lat": [0.5, 0.5, 0.5],
    ...     "time": pd.to_datetime(["2024-01-01"] * 3, utc=True), "height_agl_m": [50, 200, 50]})
    >>> inside_zones(s, z)[0].tolist()
    [0]
    """
    if zones.crs is None or zones.crs.to_epsg() != 4326:
        raise ExposureError(f"zones must be in EPSG:4326, got {zones.crs}")
    lon, lat = samples["lon"].to_numpy(float), samples["lat"].to_numpy(float)
    tree = shapely.STRtree(np.asarray(zones.geometry.array))
    pts = shapely.points(lon, lat)
    si, zi = tree.query(pts, predicate="intersects")
    notes, keep = [], np.zeros(len(si), dtype=bool)
    times = pd.to_datetime(samples["time"], utc=True).to_numpy()
    unknown_height = np.zeros(len(si), dtype=bool)
    for z in np.unique(zi):
        sel = np.flatnonzero(zi == z)
        zone = zones.iloc[int(z)]
        sub = samples.iloc[si[sel]]
        ok, unknown = _limits_ok(sub, zone)
        unknown_height[sel] = unknown
        sched = zone["schedule"] if "schedule" in zones else None
        ok &= is_active(sched, times[si[sel]])
        keep[sel] = ok
    if (unknown_height & keep).any():
        notes.append(
            f"{int((unknown_height & keep).sum())} samples without the height a zone's limits "
            "need were counted as inside (see n_height_unknown)"
        )
    if "height_ref" in samples and (samples["height_ref"] == "takeoff").any():
        notes.append("AGL limits compared with height above the take-off point (no DEM)")
    order = np.lexsort((zi[keep], si[keep]))
    return si[keep][order], zi[keep][order], unknown_height[keep][order], notes


def violations(
    samples: pd.DataFrame, flights: pd.DataFrame, zones: gpd.GeoDataFrame, *, gap_s: float = 30.0
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Group the samples flown inside zone volumes into episodes.

    Parameters
    ----------
    samples, flights : pandas.DataFrame
        Canonical tables; not modified.
    zones : geopandas.GeoDataFrame
        Zones as a canonical sites table (``site_id``, ``name``, limits, schedule).
    gap_s : float
        Time outside a zone that ends an episode.

    Returns
    -------
    episodes : geopandas.GeoDataFrame
        :data:`EPISODE_COLUMNS` and the entry point (EPSG:4326), sorted by entry time.
    notes : list of str
        What was assumed.
    """
    s = samples.reset_index(drop=True)
    si, zi, unknown, notes = inside_zones(s, zones)
    t = pd.to_datetime(s["time"], utc=True).to_numpy(dtype="datetime64[ns]").astype("int64")
    fid = s["flight_id"].astype(str).to_numpy()
    order = np.lexsort((t[si], fid[si], zi))
    si, zi, unknown = si[order], zi[order], unknown[order]
    new = np.ones(len(si), dtype=bool)
    if len(si):
        new[1:] = (
            (zi[1:] != zi[:-1]) | (fid[si][1:] != fid[si][:-1]) | (np.diff(t[si]) > gap_s * 1e9)
        )
    episode = np.cumsum(new) - 1
    # Penetration: distance from each inside sample to the zone boundary, in the zone's UTM zone.
    depth = np.zeros(len(si))
    geoms = np.asarray(zones.geometry.array, dtype=object)
    for z in np.unique(zi):
        sel = zi == z
        c = shapely.centroid(geoms[z])
        code = int(local_epsg([c.x], [c.y])[0])
        x, y = to_local(s["lon"].to_numpy()[si[sel]], s["lat"].to_numpy()[si[sel]], code)
        boundary = shapely.transform(
            shapely.boundary(geoms[z]),
            lambda xy, code=code: np.column_stack(to_local(xy[:, 0], xy[:, 1], code)),
        )
        depth[sel] = shapely.distance(shapely.points(x, y), boundary)
    h = s["height_agl_m"].to_numpy(float) if "height_agl_m" in s else np.full(len(s), np.nan)
    frame = pd.DataFrame(
        {
            "episode": episode,
            "sample": si,
            "zone": zi,
            "t": t[si],
            "depth": depth,
            "h": h[si],
            "unknown": unknown,
        }
    )
    g = frame.groupby("episode", sort=True)
    agg = g.agg(
        first=("sample", "first"),
        zone=("zone", "first"),
        t_entry=("t", "min"),
        t_exit=("t", "max"),
        max_penetration_m=("depth", "max"),
        max_height_m=("h", "max"),
        n_samples=("t", "size"),
        n_height_unknown=("unknown", "sum"),
    )
    drone = (
        dict(zip(flights["flight_id"].astype(str), flights["drone_id"], strict=False))
        if ("drone_id" in flights)
        else {}
    )
    first = agg["first"].to_numpy()
    out = pd.DataFrame(
        {
            "flight_id": fid[first],
            "drone_id": pd.array([drone.get(f) for f in fid[first]], dtype="string"),
            "zone_id": zones["site_id"].astype(str).to_numpy()[agg["zone"].to_numpy()],
            "zone_name": zones["name"].astype(str).to_numpy()[agg["zone"].to_numpy()],
            "t_entry": pd.to_datetime(agg["t_entry"].to_numpy(), utc=True),
            "t_exit": pd.to_datetime(agg["t_exit"].to_numpy(), utc=True),
            "duration_s": (agg["t_exit"] - agg["t_entry"]).to_numpy() / 1e9,
            "max_penetration_m": agg["max_penetration_m"].to_numpy(),
            "max_height_m": agg["max_height_m"].to_numpy(),
            "n_samples": agg["n_samples"].to_numpy(),
            "n_height_unknown": agg["n_height_unknown"].to_numpy().astype(np.int64),
        }
    )
    geometry = shapely.points(s["lon"].to_numpy()[first], s["lat"].to_numpy()[first])
    episodes = gpd.GeoDataFrame(out, geometry=geometry, crs="EPSG:4326")
    return episodes.sort_values(["t_entry", "flight_id"], kind="stable").reset_index(
        drop=True
    ), notes
