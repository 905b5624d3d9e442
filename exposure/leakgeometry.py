"""Geometry of the leak simulation: tracks, take-off points, distances, reach, zones.

Holds the track points and the segments flown during each pass, distances from receivers and
take-off points to sites (each site in a local metric CRS), which passes each position channel
gives away when it fires (:func:`channel_reach`: radio receivers, take-off points, zone
requests), and which passes a no-fly zone would have prevented (:func:`remove_zone_passes`).
The overview of the simulation is in :mod:`exposure.leaks`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

from exposure.crs import local_epsg, to_local
from exposure.errors import ExposureError
from exposure.scenario import CHANNELS, Scenario

__all__ = [
    "channel_reach",
    "first_points",
    "remove_zone_passes",
    "site_frames",
    "track_points",
]

_C = len(CHANNELS)


# --------------------------------------------------------------------------------------------
# Tracks, take-off points, distances and zones


def track_points(tracks: pd.DataFrame | None, fidx: pd.Index) -> dict[str, NDArray] | None:
    """Track points of known flights sorted by flight and time, with each flight's range."""
    if tracks is None or not len(tracks):
        return None
    code = fidx.get_indexer(tracks["flight_id"].astype("string"))
    t = pd.to_datetime(tracks["time"], utc=True, format="ISO8601").to_numpy("datetime64[ms]")
    lon, lat = tracks["lon"].to_numpy(float), tracks["lat"].to_numpy(float)
    ok = (code >= 0) & ~np.isnat(t) & np.isfinite(lon) & np.isfinite(lat)
    code, t, lon, lat = code[ok], t[ok].astype(np.int64), lon[ok], lat[ok]
    order = np.lexsort((t, code))
    code, t, lon, lat = code[order], t[order], lon[order], lat[order]
    bounds = np.searchsorted(code, np.arange(len(fidx) + 1))
    return {"code": code, "t": t, "lon": lon, "lat": lat, "start": bounds[:-1], "end": bounds[1:]}


def _pass_segments(tp: dict[str, NDArray], flight: NDArray, a: NDArray, b: NDArray):
    """Track segments flown during each pass window [a, b] (ms), cut at the window's ends.

    Returns the owning pass of each segment, its end points, and which passes had a track.
    """
    fs, fe = tp["start"][flight], tp["end"][flight]
    has = fe > fs
    t, n = tp["t"], len(tp["t"])
    # One sorted key (flight, time) for the points; each pass's window is searched in it, then
    # kept inside its own flight's range.
    t0 = int(t.min())
    span = int(max(t.max(), b.max(initial=t0)) - t0 + 1)
    if (len(tp["start"]) + 1) * span >= 2**62:
        raise ExposureError("tracks: time span too long to index (more than a century?)")
    key = tp["code"].astype(np.int64) * span + (t - t0)
    fcode = flight.astype(np.int64)
    a_key = fcode * span + (np.clip(a, t0, t0 + span - 1) - t0)
    b_key = fcode * span + (np.clip(b, t0, t0 + span - 1) - t0)
    i0 = np.searchsorted(key, a_key, "right") - 1
    i1 = np.searchsorted(key, b_key, "left")
    i0 = np.clip(i0, fs, np.maximum(fe - 1, fs))
    i1 = np.clip(i1, fs, np.maximum(fe - 1, fs))
    i1 = np.maximum(i1, i0)
    count = np.where(has, np.maximum(i1 - i0, 1), 0)
    owner = np.repeat(np.arange(len(flight)), count)
    first = np.repeat(np.cumsum(count) - count, count)
    i = i0[owner] + (np.arange(len(owner)) - first)
    j = np.minimum(i + 1, i1[owner])
    i, j = np.minimum(i, n - 1), np.minimum(j, n - 1)
    ta, tb = t[i].astype(float), t[j].astype(float)
    dt = tb - ta
    with np.errstate(invalid="ignore", divide="ignore"):
        s0 = np.where(dt > 0, np.clip((a[owner] - ta) / dt, 0, 1), 0.0)
        s1 = np.where(dt > 0, np.clip((b[owner] - ta) / dt, 0, 1), 0.0)
    lon, lat = tp["lon"], tp["lat"]
    dlon, dlat = lon[j] - lon[i], lat[j] - lat[i]
    seg = (lon[i] + s0 * dlon, lat[i] + s0 * dlat, lon[i] + s1 * dlon, lat[i] + s1 * dlat)
    return owner, seg, has


def _flight_segments(tp: dict[str, NDArray]):
    """Every segment of every track (a one-point track is a segment of length zero)."""
    code, n = tp["code"], len(tp["code"])
    nxt = np.minimum(np.arange(n) + 1, n - 1)
    last = np.r_[code[1:] != code[:-1], True]
    j = np.where(last, np.arange(n), nxt)
    keep = ~last | (tp["end"][code] - tp["start"][code] == 1)
    i, j = np.arange(n)[keep], j[keep]
    return code[i], (tp["lon"][i], tp["lat"][i], tp["lon"][j], tp["lat"][j])


def _segment_distance(seg, lon: float, lat: float, within: float) -> NDArray[np.float64]:
    """Metres from (lon, lat) to each segment; inf for segments farther than ``within``.

    Distances are measured in an azimuthal equidistant projection centred on the point, which
    keeps distances from it exact.
    """
    lon0, lat0, lon1, lat1 = seg
    out = np.full(len(lon0), np.inf)
    # A cheap box in degrees first: only segments that could come near are projected.
    dlat = (within / 110_000.0 + 1e-3) if np.isfinite(within) else 180.0
    dlon = dlat / max(np.cos(np.radians(min(abs(lat) + dlat, 89.9))), 1e-3)
    near = ~((np.minimum(lat0, lat1) > lat + dlat) | (np.maximum(lat0, lat1) < lat - dlat)
             | (np.minimum(lon0, lon1) > lon + dlon) | (np.maximum(lon0, lon1) < lon - dlon))
    if not near.any():
        return out
    aeqd = Transformer.from_crs(
        4326, f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m", always_xy=True
    )
    x0, y0 = aeqd.transform(lon0[near], lat0[near])
    x1, y1 = aeqd.transform(lon1[near], lat1[near])
    dx, dy = x1 - x0, y1 - y0
    dd = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(dd > 0, np.clip(-(x0 * dx + y0 * dy) / dd, 0.0, 1.0), 0.0)
    out[near] = np.hypot(x0 + s * dx, y0 + s * dy)
    return out


def first_points(geoms: NDArray[np.object_]) -> tuple[NDArray, NDArray]:
    """Longitude and latitude of each geometry's first vertex (NaN where it has none)."""
    lon, lat = np.full(len(geoms), np.nan), np.full(len(geoms), np.nan)
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if valid.any():
        xy, index = shapely.get_coordinates(geoms[valid], return_index=True)
        first = np.unique(index, return_index=True)[1]
        where = np.flatnonzero(valid)[index[first]]
        lon[where], lat[where] = xy[first, 0], xy[first, 1]
    return lon, lat


def site_frames(sites: pd.DataFrame) -> tuple[NDArray[np.int64], NDArray[np.object_]]:
    """Each site's local metric CRS and its geometry in it (None where it has no geometry)."""
    if not isinstance(sites, gpd.GeoDataFrame) or sites.geometry.name not in sites:
        return np.zeros(len(sites), np.int64), np.full(len(sites), None, dtype=object)
    geoms = np.asarray(sites.geometry.array, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    b = shapely.bounds(geoms)
    epsg = np.where(ok, local_epsg(np.nan_to_num((b[:, 0] + b[:, 2]) / 2),
                                   np.nan_to_num((b[:, 1] + b[:, 3]) / 2)), 0)
    local = np.full(len(geoms), None, dtype=object)
    for code in np.unique(epsg[ok]):
        sel = ok & (epsg == code)
        local[sel] = shapely.transform(
            geoms[sel], lambda xy, c=int(code): np.column_stack(to_local(xy[:, 0], xy[:, 1], c))
        )
    return epsg, local


def _distance_to_sites(lon, lat, site, epsg, local) -> NDArray[np.float64]:
    """Metres from points to the sites ``site`` (NaN where a point or site is unknown)."""
    out = np.full(len(site), np.nan)
    ok = np.isfinite(lon) & np.isfinite(lat) & ~shapely.is_missing(local[site])
    for code in np.unique(epsg[site[ok]]):
        sel = ok & (epsg[site] == code)
        x, y = to_local(lon[sel], lat[sel], int(code))
        out[sel] = shapely.distance(shapely.points(x, y), local[site[sel]])
    return out


def remove_zone_passes(
    passes: pd.DataFrame,
    zones: gpd.GeoDataFrame,
    *,
    flights: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    tracks: pd.DataFrame | None = None,
) -> tuple[NDArray[np.bool_], str]:
    """Find the passes a no-fly zone would have prevented, had the operator complied.

    Rule: a pass is removed when the drone's track entered a zone during the pass (any part of
    the track flown between the pass's start and end lies in a zone polygon; zones are taken
    as ground to unlimited height and always active). A pass flown wholly outside every zone
    stays: a zone stops flights inside it, not a camera looking in from outside. Without timed
    tracks, a pass is removed when its flight's track entered a zone that touches the site.

    Parameters
    ----------
    passes : pandas.DataFrame
        ``flight_id``, ``site_id``, ``t_start``, ``t_end``.
    zones : geopandas.GeoDataFrame
        Zone polygons in EPSG:4326.
    flights, sites : geopandas.GeoDataFrame, optional
        Track lines and site polygons, for the rule without timed tracks.
    tracks : pandas.DataFrame, optional
        Timed track points (``flight_id``, ``time``, ``lon``, ``lat``).

    Returns
    -------
    numpy.ndarray of bool
        True for the passes removed, in the order given.
    str
        Which rule was used, in words.

    Examples
    --------
    >>> import shapely
    >>> zone = gpd.GeoDataFrame(geometry=[shapely.box(139.0, 35.0, 139.1, 35.1)], crs=4326)
    >>> passes = pd.DataFrame({"flight_id": ["a", "a"], "site_id": ["s", "s"],
    ...     "t_start": pd.to_datetime(["2025-01-01T00:03:00Z", "2025-01-01T00:10:00Z"]),
    ...     "t_end": pd.to_datetime(["2025-01-01T00:04:00Z", "2025-01-01T00:11:00Z"])})
    >>> tracks = pd.DataFrame({"flight_id": ["a"] * 3, "lon": [138.9, 139.05, 139.3],
    ...     "lat": [35.05] * 3, "time": pd.to_datetime(["2025-01-01T00:00:00Z",
    ...     "2025-01-01T00:05:00Z", "2025-01-01T00:15:00Z"])})
    >>> remove_zone_passes(passes, zone, tracks=tracks)[0].tolist()  # at 139.175 E at 00:10
    [True, False]
    """
    if zones.crs is None or zones.crs.to_epsg() != 4326:
        raise ExposureError(f"zones: expected EPSG:4326, got {zones.crs}")
    zone_geoms = np.asarray(zones.geometry.array, dtype=object)
    zone_geoms = zone_geoms[~(shapely.is_missing(zone_geoms) | shapely.is_empty(zone_geoms))]
    removed = np.zeros(len(passes), bool)
    if not len(zone_geoms) or not len(passes):
        return removed, "no zone or no pass"
    fidx = pd.Index(pd.unique(passes["flight_id"].astype("string")))
    flight = fidx.get_indexer(passes["flight_id"].astype("string"))
    tp = track_points(tracks, fidx)
    tree = shapely.STRtree(zone_geoms)
    has = np.zeros(len(passes), bool)
    if tp is not None and len(tp["t"]):
        a = pd.to_datetime(passes["t_start"], utc=True, format="ISO8601").to_numpy("datetime64[ms]")
        b = pd.to_datetime(passes["t_end"], utc=True, format="ISO8601").to_numpy("datetime64[ms]")
        owner, (x0, y0, x1, y1), has = _pass_segments(tp, flight, a.astype(np.int64),
                                                      b.astype(np.int64))
        lines = shapely.linestrings(np.stack([np.c_[x0, y0], np.c_[x1, y1]], axis=1))
        point = (x0 == x1) & (y0 == y1)
        lines[point] = shapely.points(x0[point], y0[point])
        hit = tree.query(lines, predicate="intersects")[0]
        removed[np.unique(owner[hit])] = True
    rest = ~has
    rule = "timed tracks inside a zone during the pass"
    if rest.any():
        if flights is None or sites is None or not isinstance(flights, gpd.GeoDataFrame):
            return removed, rule + f"; {int(rest.sum())} passes without tracks kept"
        line = pd.Series(np.asarray(flights.geometry.array, dtype=object),
                         index=flights["flight_id"].astype("string"))
        poly = pd.Series(np.asarray(sites.geometry.array, dtype=object),
                         index=sites["site_id"].astype("string"))
        p = passes[rest]
        lg = line.reindex(p["flight_id"].astype("string")).to_numpy(object)
        sg = poly.reindex(p["site_id"].astype("string")).to_numpy(object)
        i, z = tree.query(lg, predicate="intersects")
        touches = shapely.intersects(np.asarray(sg[i], dtype=object), zone_geoms[z])
        removed[np.flatnonzero(rest)[np.unique(i[touches])]] = True
        rule += "; without a track: the flight's line entered a zone touching the site"
    return removed, rule


# --------------------------------------------------------------------------------------------
# Reach: which passes a firing channel gives away


def channel_reach(passes, prof, tp, ps, pf, site_tab, epsg, local, lon, lat, scenario: Scenario):
    """Per channel: which passes a firing gives away (positions), and which flights it touches."""
    n_p, n_f = len(ps), len(prof)
    reach = np.zeros((_C, n_p), bool)
    freach = np.zeros((_C, n_f), bool)
    radio = [c for c, ch in enumerate(scenario.channels) if ch.via == "radio" and ch.positions]
    heard, fheard, note = _radio(passes, tp, ps, pf, n_f, epsg, local, scenario, radio)
    slant = (pd.to_numeric(passes["min_slant_range_m"], errors="coerce").to_numpy(float)
             if "min_slant_range_m" in passes else np.full(n_p, np.nan))
    category = site_tab["category"].astype("string").str.casefold().to_numpy(object)
    takeoff = None
    for c, ch in enumerate(scenario.channels):
        if not ch.positions:
            continue
        if ch.via == "radio":
            reach[c], freach[c] = heard[c], fheard[c]
        elif ch.reveals == "flight":
            reach[c], freach[c] = True, True
        elif ch.reveals == "takeoff":
            if takeoff is None:
                takeoff = _distance_to_sites(lon[pf], lat[pf], ps, epsg, local)
            reach[c] = ~(takeoff > ch.reveal_within_m)  # unknown distance: revealed
            freach[c] = True
        else:
            cats = [z.casefold() for z in ch.zone_categories]
            reach[c] = np.isin(category[ps], cats) & ~(slant > ch.zone_radius_m)
            freach[c] = np.bincount(pf[reach[c]], minlength=n_f) > 0
    return reach, freach, note


def _radio(passes, tp, ps, pf, n_f, epsg, local, scenario: Scenario, radio: list[int]):
    n_p = len(ps)
    if not radio:
        return {}, {}, ""
    chans = scenario.channels
    if scenario.radio_mode == "uniform":
        d = scenario.receiver_within_m
        heard = {c: np.full(n_p, d <= chans[c].signal_range_m) for c in radio}
        fheard = {c: np.full(n_f, d <= chans[c].signal_range_m) for c in radio}
        return heard, fheard, f"radio: a receiver assumed within {d:g} m of every drone"
    has = np.zeros(n_p, bool)
    has_f = np.zeros(n_f, bool)
    if tp is not None and len(tp["t"]):
        a = pd.to_datetime(passes["t_start"], utc=True, format="ISO8601").to_numpy("datetime64[ms]")
        b = pd.to_datetime(passes["t_end"], utc=True, format="ISO8601").to_numpy("datetime64[ms]")
        owner, seg, has = _pass_segments(tp, pf, a.astype(np.int64), b.astype(np.int64))
        fowner, fseg = _flight_segments(tp)
        has_f = tp["end"] > tp["start"]
    heard = {c: np.zeros(n_p, bool) for c in radio}
    fheard = {c: np.zeros(n_f, bool) for c in radio}
    n_sites = len(epsg)
    for r in scenario.receivers:
        widest = max(min(r.range_m, chans[c].signal_range_m) for c in radio)
        if has.any():
            d_seg = _segment_distance(seg, r.lon, r.lat, widest)
            d_fseg = _segment_distance(fseg, r.lon, r.lat, widest)
        if (~has).any():
            d_site = _distance_to_sites(np.full(n_sites, r.lon), np.full(n_sites, r.lat),
                                        np.arange(n_sites), epsg, local)[ps]
        for c in radio:
            radius = min(r.range_m, chans[c].signal_range_m)
            if has.any():
                heard[c] |= np.bincount(owner[d_seg <= radius], minlength=n_p) > 0
                fheard[c] |= np.bincount(fowner[d_fseg <= radius], minlength=n_f) > 0
            if (~has).any():
                heard[c] |= ~has & (d_site <= radius)
    for c in radio:
        fheard[c] |= ~has_f & (np.bincount(pf[heard[c]], minlength=n_f) > 0)
    note = f"radio: {len(scenario.receivers)} receivers listed in the scenario"
    if (~has).any():
        note += (f"; {int((~has).sum())} passes have no timed track: heard when a receiver is "
                 "within range of the site")
    return heard, fheard, note
