"""Data-leak simulation: what of a fleet's exposure could have reached a foreign party.

The model (DESIGN.md section 5; the channels and their defaults are in
:mod:`exposure.scenario` and ``exposure/data/leak_scenario.toml``):

1. **Per drone**, a setting the inventory marks unknown (local-data mode, flying logged out,
   an air-gapped controller) is drawn once per draw for the drone, so it holds for all of its
   flights or none.
2. **Per flight and channel**, the channel fires with its probability after the scenario's
   rules (vendor, model, app, vendor country, region of the take-off point, start date), unless
   a setting in its ``off_when`` is on; a channel that ``requires`` another fires only with it
   (thumbnails travel with synced flight records). A vendor-cloud channel reaches the foreign
   party only if the party has access to that vendor's cloud in this draw (``access.p``, drawn
   once per vendor and draw, or per flight). Channels are otherwise independent, so with one
   flight the chance that anything leaks is ``1 − Π(1 − p)``.
3. **What a fired channel leaks** is fixed by the results: a radio broadcast gives away the
   passes during which the drone was within range of a receiver (listed receivers, using the
   decimated tracks of ``tracks.parquet``; or the "receiver within X m everywhere" assumption);
   other position channels give away the whole flight's passes, those at sites near the take-off
   point, or those at zone-category sites the drone came close to; pixel channels give away the
   imagery of passes during which the camera recorded.
4. **Per site** a draw yields: the leaked coverage at NIIRS ≥ k (the share of the site's
   coverage-grid cells that some flight whose imagery leaked saw at NIIRS ≥ k after the
   channel's resolution loss; the union comes from ``coverage_by_flight``), whether any imagery
   leaked, whether its visits became known (any pass given away by any channel; leaked imagery
   carries its position, so it counts too), and the seconds in view of the passes given away.
   A flight's cells at a site count for imagery only if it recorded during a pass at the site
   (cells are per flight and site, not per pass: an upper bound when it recorded only part of
   the time).

Reported per site: expected values with 5th-95th percentiles over the draws, and probabilities
with a 90 % Wilson interval (the sampling error of the estimate), with the number of draws.

**Random numbers.** Every random number has a fixed place: stream ``(seed, stream id)`` of a
PCG64 generator seeded through ``SeedSequence(seed, spawn_key=...)``, at offset ``draw ×
numbers per draw``. A block of draws jumps to its offset (``PCG64.advance``) and reads its
numbers, so results do not depend on the block size nor on how blocks would be shared among
workers (the draws run in one process: the compiled loops below already keep a core busy, and
the machines here have two). Streams: drone settings (0), flight × channel events (1), access
per vendor (2 and a hash of the vendor name, so a vendor keeps its numbers whatever other
vendors exist) and access per flight (3). What-ifs, sweeps and the replacement planner reuse the
same numbers (common random numbers), so their differences from the base run are not blurred by
sampling noise. Sums over passes and cells run in a fixed order per draw, so they too are the
same whatever the block size.

**Memory.** A block holds about ``block_size × (8·channels·flights + 8·passes + coverage
entries)`` bytes; the per-site draws kept for the percentiles take ``12 × draws × sites with a
pass`` bytes (240 MB for 10,000 draws over 2,000 sites).

Uniforms are 32-bit: an event of probability ``p`` fires when ``u < ⌊p·2³²⌋`` (exactly for
``p = 0`` and ``p = 1``, within 2.3e-10 otherwise).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

from exposure.crs import local_epsg, to_local
from exposure.errors import ExposureError
from exposure.quality import niirs
from exposure.scenario import (
    CHANNELS,
    SETTINGS,
    Scenario,
    WhatIf,
    apply_what_if,
    default_scenario,
    flight_profiles,
)

__all__ = [
    "HEADLINES",
    "Behaviour",
    "LeakModel",
    "LeakResult",
    "behaviour",
    "build_model",
    "compare_what_ifs",
    "fire_bits",
    "known_passes",
    "pass_leaks",
    "remove_zone_passes",
    "run_draws",
    "run_starts",
    "segment_any",
    "sensitivity_sweep",
    "simulate_leaks",
]

#: Fleet-wide numbers reported per draw, for what-ifs and sweeps.
HEADLINES: dict[str, str] = {
    "leak_risk": "Σ sensitivity × (leaked NIIRS ≥ k coverage + imagery weight × any imagery "
    "leaked + positions weight × visits known)",
    "weighted_leaked_coverage": "Σ sensitivity × leaked coverage at NIIRS ≥ k",
    "sites_imagery_leaked": "sites with any imagery leaked",
    "sites_visits_known": "sites whose visits became known",
    "leaked_seconds_in_view": "seconds in view of passes given away",
}

_C = len(CHANNELS)
_TWO32 = 2.0**32
_Z90 = 1.6448536269514722  # standard normal quantile of 0.95: a two-sided 90 % interval


# --------------------------------------------------------------------------------------------
# Random numbers


def _u32(seed: int, key: tuple[int, ...], per_draw: int, b0: int, b1: int) -> NDArray[np.uint32]:
    """32-bit uniforms of draws ``b0..b1-1`` of one stream: shape ``(b1 - b0, per_draw)``."""
    words = (per_draw + 1) // 2
    out = np.empty((b1 - b0, 2 * words), np.uint32)
    if words:
        gen = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key))
        gen.advance(b0 * words)
        raw = np.asarray(gen.random_raw((b1 - b0) * words), np.uint64).reshape(b1 - b0, words)
        out[:, 0::2] = raw & np.uint64(0xFFFFFFFF)
        out[:, 1::2] = raw >> np.uint64(32)
    return out[:, :per_draw]


def _threshold(p: NDArray[np.float64]) -> tuple[NDArray[np.uint32], NDArray[np.bool_]]:
    p = np.clip(np.asarray(p, float), 0.0, 1.0)
    return np.minimum(np.floor(p * _TWO32), _TWO32 - 1).astype(np.uint32), p >= 1.0


def run_starts(*keys: NDArray) -> NDArray[np.int64]:
    """Where each run of equal rows starts, for rows sorted by ``keys``.

    Examples
    --------
    >>> run_starts(np.array([0, 0, 1, 1]), np.array([5, 6, 6, 6])).tolist()
    [0, 1, 2]
    """
    n = len(keys[0])
    new = np.zeros(n, bool)
    new[:1] = True
    for k in keys:
        new[1:] |= k[1:] != k[:-1]
    return np.flatnonzero(new).astype(np.int64)


def _vendor_key(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.casefold().encode(), digest_size=8).digest(),
                          "little")


# --------------------------------------------------------------------------------------------
# Per-flight behaviour: what what-ifs, sweeps and the planner change


@dataclass(frozen=True)
class Behaviour:
    """Per-flight chances and settings, ready for :func:`fire_bits` (flights in model order)."""

    thr: NDArray[np.uint32]  # (C, F): channel fires when its uniform is below
    always: NDArray[np.bool_]  # (C, F): probability 1
    state: NDArray[np.int8]  # (F, 3): setting off 0, on 1, unknown 2 (drawn per drone)
    access_thr: NDArray[np.uint32]  # (F,)
    access_always: NDArray[np.bool_]  # (F,)
    access_key: NDArray[np.uint64]  # (F,): hash of the vendor (per-vendor access)
    access_per_flight: bool
    setting_thr: NDArray[np.uint32]  # (3,)
    setting_always: NDArray[np.bool_]  # (3,)
    offmask: NDArray[np.uint8]  # (C,): settings bits that stop the channel
    via_vendor: NDArray[np.bool_]  # (C,)
    requires: NDArray[np.int64]  # (C,): index of the required channel, -1 for none
    undated: int = 0  # flights without a start time (dated rules do not apply to them)


def behaviour(
    profiles: pd.DataFrame, regions: NDArray[np.object_], scenario: Scenario
) -> Behaviour:
    """Work out each flight's chances under the scenario's rules, and the settings to draw.

    ``profiles`` and ``regions`` are in the model's flight order (:attr:`LeakModel.profiles`).
    """
    n = len(profiles)
    low = {c: profiles[c].astype("string").str.casefold().fillna("").to_numpy(object)
           for c in ("vendor", "model", "app", "vendor_country")}
    day = profiles["start"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[D]")
    dated = ~np.isnat(day)
    p = np.zeros((_C, n))
    for ci, ch in enumerate(scenario.channels):
        pc = np.full(n, ch.p)
        for rule in ch.rules:
            m = np.ones(n, bool)
            for values, arr in ((rule.vendors, low["vendor"]), (rule.models, low["model"]),
                                (rule.apps, low["app"]),
                                (rule.vendor_countries, low["vendor_country"])):
                if values:
                    m &= np.isin(arr, [v.casefold() for v in values])
            if rule.regions:
                m &= np.isin(regions, list(rule.regions))
            if rule.start is not None:
                m &= dated & (day >= np.datetime64(rule.start, "D"))
            if rule.until is not None:
                m &= dated & (day < np.datetime64(rule.until, "D"))
            pc[m] = rule.p
        p[ci] = pc
    thr, always = _threshold(p)
    codes = {"off": 0, "on": 1, "unknown": 2}
    state = np.stack([profiles[s].map(codes).to_numpy(np.int8) for s in SETTINGS], axis=1)
    by_country = {k.casefold(): v for k, v in scenario.access_by_vendor_country.items()}
    acc = pd.Series(low["vendor_country"]).map(by_country).fillna(scenario.access_p)
    acc_thr, acc_always = _threshold(acc.to_numpy(float))
    keys = {v: _vendor_key(v) for v in set(low["vendor"])}
    set_thr, set_always = _threshold(np.array([scenario.setting_priors[s] for s in SETTINGS]))
    return Behaviour(
        thr=thr,
        always=always,
        state=state,
        access_thr=acc_thr,
        access_always=acc_always,
        access_key=np.array([keys[v] for v in low["vendor"]], dtype=np.uint64),
        access_per_flight=scenario.access_per == "flight",
        setting_thr=set_thr,
        setting_always=set_always,
        offmask=np.array([sum(1 << SETTINGS.index(s) for s in ch.off_when)
                          for ch in scenario.channels], np.uint8),
        via_vendor=np.array([ch.via == "vendor" for ch in scenario.channels]),
        requires=np.array([CHANNELS.index(ch.requires) if ch.requires else -1
                           for ch in scenario.channels], np.int64),
        undated=int((~dated).sum()),
    )


def fire_bits(
    beh: Behaviour, drone_of_flight: NDArray[np.int64], n_drones: int, seed: int, b0: int, b1: int
) -> NDArray[np.uint16]:
    """Which channels fired (and reached the foreign party) per flight and draw: bit c = channel c.

    Returns
    -------
    numpy.ndarray
        ``(flights, b1 - b0)`` of uint16 (draws along the contiguous axis, so that reductions
        over flights, passes and cells run over whole rows of draws).
    """
    nb, nf = b1 - b0, len(drone_of_flight)
    drawn = _u32(seed, (0,), n_drones * 3, b0, b1).reshape(nb, n_drones, 3)
    on_drone = (drawn < beh.setting_thr) | beh.setting_always
    setbits = np.zeros((nb, nf), np.uint8)
    for s in range(3):
        st = beh.state[:, s]
        v = np.broadcast_to(st == 1, (nb, nf))
        if (st == 2).any():
            v = v | ((st == 2) & on_drone[:, drone_of_flight, s])
        setbits |= v.astype(np.uint8) << np.uint8(s)
    if beh.via_vendor.any():
        if beh.access_per_flight:
            u = _u32(seed, (3,), nf, b0, b1)
        else:
            keys, index = np.unique(beh.access_key, return_inverse=True)
            per_vendor = np.stack([_u32(seed, (2, int(k)), 1, b0, b1)[:, 0] for k in keys], 1)
            u = per_vendor[:, index]
        access = (u < beh.access_thr) | beh.access_always
    u = _u32(seed, (1,), _C * nf, b0, b1).reshape(nb, _C, nf)
    bits = np.zeros((nb, nf), np.uint16)
    for c in range(_C):
        if not (beh.always[c].any() or beh.thr[c].any()):
            continue
        fired = (u[:, c, :] < beh.thr[c]) | beh.always[c]
        if beh.offmask[c]:
            fired &= (setbits & beh.offmask[c]) == 0
        if beh.via_vendor[c]:
            fired &= access
        if beh.requires[c] >= 0:
            fired &= ((bits >> np.uint16(beh.requires[c])) & 1).astype(bool)
        bits |= fired.astype(np.uint16) << np.uint16(c)
    return np.ascontiguousarray(bits.T)


# --------------------------------------------------------------------------------------------
# Geometry: take-off points, regions, radio reception, zones


def _track_points(tracks: pd.DataFrame | None, fidx: pd.Index) -> dict[str, NDArray] | None:
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


def _first_points(geoms: NDArray[np.object_]) -> tuple[NDArray, NDArray]:
    lon, lat = np.full(len(geoms), np.nan), np.full(len(geoms), np.nan)
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if valid.any():
        xy, index = shapely.get_coordinates(geoms[valid], return_index=True)
        first = np.unique(index, return_index=True)[1]
        where = np.flatnonzero(valid)[index[first]]
        lon[where], lat[where] = xy[first, 0], xy[first, 1]
    return lon, lat


def _site_frames(sites: pd.DataFrame) -> tuple[NDArray[np.int64], NDArray[np.object_]]:
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
    tp = _track_points(tracks, fidx)
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
# The prepared model


@dataclass(frozen=True)
class LeakModel:
    """What the draws need, prepared once: flights, drones, passes with reach masks, coverage.

    Flights are sorted by id and drones by key: that order fixes where each random number is
    read, so it must not depend on anything but the flights themselves. Passes of one flight at
    one site that leak the same way are merged; they are sorted by site, then flight.
    """

    profiles: pd.DataFrame
    regions: NDArray[np.object_]
    drone_keys: NDArray[np.object_]
    drone_of_flight: NDArray[np.int64]
    sites: pd.DataFrame
    sens: NDArray[np.float64]
    pass_flight: NDArray[np.int64]
    pass_seconds: NDArray[np.float64]
    pass_known: NDArray[np.uint16]
    pass_pix: NDArray[np.uint16]
    pair_starts: NDArray[np.int64]
    pair_site: NDArray[np.int64]
    pair_flight: NDArray[np.int64]
    pair_site_starts: NDArray[np.int64]
    flight_masks: NDArray[np.uint16]  # (3, F): any, positions, pixels reachable
    src_flight: NDArray[np.int64]
    src_bits: NDArray[np.uint16]
    ent_src: NDArray[np.int64]
    grp_starts: NDArray[np.int64]
    grp_weight: NDArray[np.float64]
    grp_cells: NDArray[np.int64]
    grp_site: NDArray[np.int64]
    site_cells: NDArray[np.float64]
    niirs_k: float
    scenario: Scenario
    assumptions: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    # Each pass as given (before merging): its flight and the channels that give it away, for
    # analyses that need single passes (:func:`known_passes`).
    given_pass_flight: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    given_pass_known: NDArray[np.uint16] = field(default_factory=lambda: np.zeros(0, np.uint16))


def _frame_problems(passes, flights, sites, coverage) -> list[str]:
    need = {
        "passes": (passes, ("flight_id", "site_id", "seconds_in_view")),
        "flights": (flights, ("flight_id",)),
        "sites": (sites, ("site_id", "category", "sensitivity")),
        "coverage_by_flight": (coverage, ("site_id", "flight_id", "cell", "best_gsd_m",
                                          "site_cells")),
    }
    problems = [
        f"{name} lacks column {c!r} (expected {', '.join(cols)})"
        for name, (frame, cols) in need.items()
        for c in cols
        if c not in frame
    ]
    if problems:
        return problems
    if isinstance(sites, gpd.GeoDataFrame) and sites.geometry.name in sites:
        if sites.crs is None or sites.crs.to_epsg() != 4326:
            problems.append(f"sites: expected EPSG:4326 (the sites contract), got {sites.crs}")
    for name, frame, key in (("flights", flights, "flight_id"), ("sites", sites, "site_id")):
        dup = frame[key][frame[key].duplicated()]
        if len(dup):
            problems.append(f"{name}: {key} repeated: {sorted(map(str, set(dup)))[:5]}")
    known_f = set(flights["flight_id"].astype(str))
    known_s = set(sites["site_id"].astype(str))
    for name, frame in (("passes", passes), ("coverage_by_flight", coverage)):
        bad_f = sorted(set(frame["flight_id"].astype(str)) - known_f)
        bad_s = sorted(set(frame["site_id"].astype(str)) - known_s)
        if bad_f:
            problems.append(f"{name}: flights missing from the flights table: {bad_f[:5]}")
        if bad_s:
            problems.append(f"{name}: sites missing from the sites table: {bad_s[:5]}")
    sec = pd.to_numeric(passes["seconds_in_view"], errors="coerce")
    if (sec.isna() | (sec < 0)).any():
        row = int(np.flatnonzero((sec.isna() | (sec < 0)).to_numpy())[0])
        problems.append(
            f"passes row {row + 1}: seconds_in_view {passes['seconds_in_view'].iloc[row]}: "
            "expected a number ≥ 0"
        )
    return problems


def _regions(lon: NDArray, lat: NDArray, scenario: Scenario) -> NDArray[np.object_]:
    out = np.full(len(lon), "", dtype=object)
    for name, boxes in reversed(list(scenario.regions.items())):  # the first region listed wins
        inside = np.zeros(len(lon), bool)
        for x0, y0, x1, y1 in boxes:
            inside |= (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
        out[inside] = name
    return out


def build_model(
    passes: pd.DataFrame,
    flights: pd.DataFrame,
    sites: pd.DataFrame,
    coverage: pd.DataFrame,
    *,
    scenario: Scenario,
    tracks: pd.DataFrame | None = None,
    niirs_k: float = 5.0,
) -> LeakModel:
    """Prepare the simulation from result tables (see :func:`simulate_leaks`)."""
    problems = _frame_problems(passes, flights, sites, coverage)
    if problems:
        raise ExposureError("leaks: " + "\n".join(problems))
    if not 0 <= niirs_k <= 9:
        raise ExposureError(f"leaks: niirs_k = {niirs_k!r}: expected a NIIRS level in [0, 9]")
    notes: list[str] = []
    prof = flight_profiles(flights, scenario)
    order = np.argsort(prof["flight_id"].to_numpy(str), kind="stable")
    prof = prof.iloc[order].reset_index(drop=True)
    fl = pd.DataFrame(flights).iloc[order].reset_index(drop=True)
    fidx = pd.Index(prof["flight_id"])
    drone_keys, drone_of_flight = np.unique(prof["drone_key"].to_numpy(str), return_inverse=True)
    tp = _track_points(tracks, fidx)
    lon, lat = np.full(len(fl), np.nan), np.full(len(fl), np.nan)
    if tp is not None:
        first = tp["start"][tp["end"] > tp["start"]]
        lon[tp["code"][first]], lat[tp["code"][first]] = tp["lon"][first], tp["lat"][first]
    if isinstance(flights, gpd.GeoDataFrame) and np.isnan(lon).any():
        glon, glat = _first_points(np.asarray(gpd.GeoSeries(fl.geometry).array, dtype=object))
        lon, lat = np.where(np.isnan(lon), glon, lon), np.where(np.isnan(lat), glat, lat)
    if np.isnan(lon).any():
        notes.append(f"{int(np.isnan(lon).sum())} flights have no take-off point: no region "
                     "rule applies to them and their take-off reveals every site they saw")
    regions = _regions(lon, lat, scenario)

    # Sites with at least one pass, in the sites table's order.
    sidx = pd.Index(sites["site_id"].astype("string"))
    ps_all = sidx.get_indexer(passes["site_id"].astype("string"))
    active = np.unique(ps_all)
    site_pos = np.full(len(sidx), -1)
    site_pos[active] = np.arange(len(active))
    ps = site_pos[ps_all]
    pf = fidx.get_indexer(passes["flight_id"].astype("string"))
    site_tab = pd.DataFrame(sites).iloc[active].reset_index(drop=True)
    epsg, local = _site_frames(sites.iloc[active] if len(active) else sites.iloc[:0])
    seconds = pd.to_numeric(passes["seconds_in_view"]).to_numpy(float)
    cap = (passes["capturing"].astype("boolean") if "capturing" in passes
           else pd.Series(pd.NA, index=passes.index, dtype="boolean"))
    assume = scenario.capturing_unknown == "recording"
    if cap.isna().any():
        notes.append(f"{int(cap.isna().sum())} passes do not say whether the camera recorded: "
                     f"taken as {'recording' if assume else 'not recording'}")
    capture = cap.fillna(assume).to_numpy(bool)

    reach, flight_reach, radio_note = _reach(passes, prof, tp, ps, pf, site_tab, epsg, local,
                                             lon, lat, scenario)
    notes.append(radio_note)
    known = np.zeros(len(passes), np.uint16)
    pix = np.zeros(len(passes), np.uint16)
    f_pos = np.zeros(len(prof), np.uint16)
    f_pix = np.zeros(len(prof), np.uint16)
    recorded = np.bincount(pf[capture], minlength=len(prof)) > 0
    seen = np.bincount(pf, minlength=len(prof)) > 0
    recorded |= ~seen & assume
    for c, ch in enumerate(scenario.channels):
        bit = np.uint16(1 << c)
        if ch.positions:
            known[reach[c]] |= bit
            f_pos[flight_reach[c]] |= bit
        if ch.pixels:
            imaged = capture | (not ch.needs_recording)
            known[imaged] |= bit
            pix[imaged] |= bit
            f_pix[recorded | (not ch.needs_recording)] |= bit

    merged = pd.DataFrame({"s": ps, "f": pf, "k": known, "i": pix, "sec": seconds})
    merged = merged.groupby(["s", "f", "k", "i"], sort=True, as_index=False)["sec"].sum()
    s_arr, f_arr = merged["s"].to_numpy(np.int64), merged["f"].to_numpy(np.int64)
    pair_starts = run_starts(s_arr, f_arr)
    pair_site = s_arr[pair_starts]
    site_tab = _site_summary(site_tab, ps, pf, seconds, len(active))

    groups = _coverage_groups(coverage, sidx, site_pos, fidx, ps, pf, capture, scenario, niirs_k)
    site_tab[f"coverage_fraction_niirs{niirs_k:g}"] = groups.pop("observed")
    if len(coverage) == 0:
        notes.append("no coverage_by_flight rows: leaked coverage is 0 everywhere")
    if "cells_dropped" in groups:
        notes.append(groups.pop("cells_dropped"))
    return LeakModel(
        profiles=prof,
        regions=regions,
        drone_keys=drone_keys.astype(object),
        drone_of_flight=drone_of_flight.astype(np.int64),
        sites=site_tab,
        sens=pd.to_numeric(site_tab["sensitivity"]).to_numpy(float),
        pass_flight=f_arr,
        pass_seconds=merged["sec"].to_numpy(float),
        pass_known=merged["k"].to_numpy(np.uint16),
        pass_pix=merged["i"].to_numpy(np.uint16),
        pair_starts=pair_starts.astype(np.int64),
        pair_site=pair_site.astype(np.int64),
        pair_flight=f_arr[pair_starts],
        pair_site_starts=np.searchsorted(pair_site, np.arange(len(active))).astype(np.int64),
        flight_masks=np.stack([f_pos | f_pix, f_pos, f_pix]),
        niirs_k=float(niirs_k),
        scenario=scenario,
        assumptions=tuple(n for n in notes if n),
        counts={"flights": len(prof), "drones": len(drone_keys), "passes": len(passes),
                "merged_passes": len(merged), "sites": len(active),
                "coverage_groups": len(groups["grp_weight"])},
        given_pass_flight=pf.astype(np.int64),
        given_pass_known=known,
        **groups,
    )


def _site_summary(tab: pd.DataFrame, ps, pf, seconds, n: int) -> pd.DataFrame:
    out = pd.DataFrame({
        "site_id": tab["site_id"].astype("string"),
        "name": tab["name"].astype("string") if "name" in tab else pd.NA,
        "category": tab["category"].astype("string"),
        "sensitivity": pd.to_numeric(tab["sensitivity"]).astype("int64"),
    })
    pairs = pd.DataFrame({"s": ps, "f": pf}).drop_duplicates()
    out["flights"] = np.bincount(pairs["s"], minlength=n)
    out["passes"] = np.bincount(ps, minlength=n)
    out["seconds_in_view"] = np.bincount(ps, weights=seconds, minlength=n)
    return out


def _reach(passes, prof, tp, ps, pf, site_tab, epsg, local, lon, lat, scenario: Scenario):
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


def _coverage_groups(coverage, sidx, site_pos, fidx, ps, pf, capture, scenario, k) -> dict:
    """Coverage cells grouped by the set of (flight, channels) sources that can leak them.

    Cells of a site seen by exactly the same sources behave alike in every draw, so each such
    set is kept once with its share of the site's cells: a site's leaked coverage in a draw is
    Σ over its groups of share × [some source of the group leaked].
    """
    n_sites, n_f = int(site_pos.max(initial=-1)) + 1, len(fidx)
    s_all = sidx.get_indexer(coverage["site_id"].astype("string"))
    s = np.where(s_all >= 0, site_pos[np.maximum(s_all, 0)], -1)
    f = fidx.get_indexer(coverage["flight_id"].astype("string"))
    cell = pd.to_numeric(coverage["cell"]).to_numpy(np.int64)
    level = niirs(pd.to_numeric(coverage["best_gsd_m"]).to_numpy(float))
    ncell = pd.to_numeric(coverage["site_cells"]).to_numpy(float)
    out: dict[str, object] = {}
    dropped = int((s < 0).sum())
    if dropped:
        out["cells_dropped"] = f"{dropped} coverage cells of sites without a pass were ignored"
    cells_of = np.zeros(n_sites)
    np.maximum.at(cells_of, s[s >= 0], ncell[s >= 0])
    seen = (s >= 0) & (level >= k)
    distinct = np.unique(np.stack([s[seen], cell[seen]]), axis=1)[0] if seen.any() else s[:0]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["observed"] = np.where(cells_of > 0, np.bincount(distinct, minlength=n_sites)
                                   / np.where(cells_of > 0, cells_of, 1), 0.0)
    cap_keys = np.unique(ps[capture].astype(np.int64) * n_f + pf[capture])
    cap_row = np.isin(s.astype(np.int64) * n_f + f, cap_keys)
    bits = np.zeros(len(s), np.uint16)
    for c, ch in enumerate(scenario.channels):
        if ch.pixels:
            ok = (level - ch.niirs_loss >= k) & (cap_row | (not ch.needs_recording))
            bits[ok] |= np.uint16(1 << c)
    keep = (s >= 0) & (bits != 0)
    s, f, cell, bits = s[keep], f[keep], cell[keep], bits[keep]
    src_keys, src = np.unique(f.astype(np.int64) * 65536 + bits, return_inverse=True)
    out["src_flight"] = (src_keys // 65536).astype(np.int64)
    out["src_bits"] = (src_keys % 65536).astype(np.uint16)
    empty = np.zeros(0, np.int64)
    out["site_cells"] = cells_of
    if not len(s):
        out.update(ent_src=empty, grp_starts=empty, grp_weight=np.zeros(0), grp_cells=empty,
                   grp_site=empty)
        return out
    order = np.lexsort((src, cell, s))
    s, cell, src = s[order], cell[order], src[order]
    cell_start = run_starts(s, cell)
    # Order-free hash of each cell's source set (two 64-bit sums of fixed random words: two
    # different sets collide with probability about 2^-128).
    words = np.random.default_rng(20240901).integers(0, 2**63, size=(2, len(src_keys)),
                                                    dtype=np.uint64)
    h1 = np.add.reduceat(words[0][src], cell_start)
    h2 = np.add.reduceat(words[1][src], cell_start)
    n_src = np.diff(np.r_[cell_start, len(src)])
    table = np.stack([s[cell_start].astype(np.uint64), h1, h2, n_src.astype(np.uint64)], axis=1)
    _, rep, counts = np.unique(table, axis=0, return_index=True, return_counts=True)
    g_site = s[cell_start[rep]].astype(np.int64)
    lengths = n_src[rep]
    first = np.repeat(cell_start[rep], lengths)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out["ent_src"] = src[first + within].astype(np.int64)
    out["grp_starts"] = (np.cumsum(lengths) - lengths).astype(np.int64)
    out["grp_weight"] = counts / cells_of[g_site]
    out["grp_cells"] = counts.astype(np.int64)
    out["grp_site"] = g_site
    return out


# --------------------------------------------------------------------------------------------
# Draws


def _level_groups(model: LeakModel) -> dict[str, tuple[NDArray, NDArray, NDArray, NDArray]]:
    """Per attribution level: order of the (site, flight) pairs, group starts, site, key."""
    prof = model.profiles
    keys = {"drone": prof["drone_key"], "vendor": prof["vendor"], "agency": prof["agency"]}
    out = {}
    for level, values in keys.items():
        codes, names = pd.factorize(values.astype("string").fillna("unknown"), sort=True)
        k = codes[model.pair_flight]
        perm = np.lexsort((k, model.pair_site))
        s, k = model.pair_site[perm], k[perm]
        starts = run_starts(s, k)
        out[level] = (perm, starts, s[starts], np.asarray(names, dtype=object)[k[starts]])
    return out


def run_draws(
    model: LeakModel,
    beh: Behaviour,
    *,
    draws: int,
    seed: int,
    block_size: int = 256,
    detail: bool = True,
) -> dict[str, object]:
    """Run the draws block by block and tally what the tables need.

    Returns
    -------
    dict
        ``headline``: per-draw values of :data:`HEADLINES`; with ``detail``: per-draw leaked
        coverage and seconds per site, counts of draws per site (visits known, imagery
        leaked), per channel and site, per attribution group, per flight.
    """
    if draws < 1 or block_size < 1 or seed < 0:
        raise ExposureError(
            f"leaks: draws = {draws}, block_size = {block_size}, seed = {seed}: expected "
            "draws ≥ 1, block_size ≥ 1 and seed ≥ 0"
        )
    n_s, n_f = len(model.sites), len(model.profiles)
    w_pos, w_img = model.scenario.positions_weight, model.scenario.imagery_weight
    t: dict[str, object] = {"headline": {m: np.zeros(draws) for m in HEADLINES}}
    levels = _level_groups(model) if detail else {}
    if detail:
        t |= {
            "cov": np.zeros((draws, n_s), np.float32),
            "seconds": np.zeros((draws, n_s), np.float32),
            "seconds_imaged": np.zeros((draws, n_s), np.float32),
            "known": np.zeros(n_s, np.int64),
            "imaged": np.zeros(n_s, np.int64),
            "channel_known": np.zeros((_C, n_s), np.int64),
            "channel_imaged": np.zeros((_C, n_s), np.int64),
            "flights": np.zeros((3, n_f), np.int64),
            "levels": {k: (np.zeros(len(v[1]), np.int64), np.zeros(len(v[1]), np.int64))
                       for k, v in levels.items()},
        }
    for b0 in range(0, draws, block_size):
        b1 = min(draws, b0 + block_size)
        bits = fire_bits(beh, model.drone_of_flight, len(model.drone_keys), seed, b0, b1)
        site_k, site_i, pair_k, pair_i, sec_k, sec_i = pass_leaks(model, bits)
        # Per-draw values as (draws, sites) rows: sums over a row do not depend on the block.
        cov = np.ascontiguousarray(_coverage_block(model, bits).T)
        known, imaged = (site_k != 0).T.copy(), (site_i != 0).T.copy()
        sec_k_rows = np.ascontiguousarray(sec_k.T)
        head = t["headline"]
        head["weighted_leaked_coverage"][b0:b1] = (cov * model.sens).sum(axis=1)
        head["leak_risk"][b0:b1] = head["weighted_leaked_coverage"][b0:b1] + (
            (w_pos * known + w_img * imaged) * model.sens
        ).sum(axis=1)
        head["sites_imagery_leaked"][b0:b1] = imaged.sum(axis=1)
        head["sites_visits_known"][b0:b1] = known.sum(axis=1)
        head["leaked_seconds_in_view"][b0:b1] = sec_k_rows.sum(axis=1)
        if not detail:
            continue
        t["cov"][b0:b1] = cov
        t["seconds"][b0:b1] = sec_k_rows
        t["seconds_imaged"][b0:b1] = sec_i.T
        t["known"] += known.sum(axis=0)
        t["imaged"] += imaged.sum(axis=0)
        for c in range(_C):
            t["channel_known"][c] += ((site_k >> np.uint16(c)) & 1).sum(axis=1, dtype=np.int64)
            t["channel_imaged"][c] += ((site_i >> np.uint16(c)) & 1).sum(axis=1, dtype=np.int64)
        for m in range(3):
            t["flights"][m] += ((bits & model.flight_masks[m][:, None]) != 0).sum(axis=1)
        for level, (perm, starts, _, _) in levels.items():
            if len(starts):
                for pair, tally in zip((pair_k, pair_i), t["levels"][level], strict=True):
                    tally += segment_any(pair, perm, starts).sum(axis=1)
    t["level_keys"] = {k: (v[2], v[3]) for k, v in levels.items()}
    return t


# Segment reductions over rows of draws. numpy's ``reduceat`` costs about a microsecond per
# segment on 2-D arrays, which dominates with 100,000 passes; these loops visit each value
# once, in a fixed order per draw, so sums do not depend on how many draws a block holds.


@numba.njit(cache=True)
def _pass_kernel(bits, flight, known, pix, seconds, pair_starts, site_starts):
    n_p, nb = len(flight), bits.shape[1]
    n_q, n_s = len(pair_starts), len(site_starts)
    pair_k = np.zeros((n_q, nb), np.uint16)
    pair_i = np.zeros((n_q, nb), np.uint16)
    site_k = np.zeros((n_s, nb), np.uint16)
    site_i = np.zeros((n_s, nb), np.uint16)
    sec_k = np.zeros((n_s, nb))
    sec_i = np.zeros((n_s, nb))
    for s in range(n_s):
        q1 = site_starts[s + 1] if s + 1 < n_s else n_q
        for q in range(site_starts[s], q1):
            p1 = pair_starts[q + 1] if q + 1 < n_q else n_p
            for p in range(pair_starts[q], p1):
                f, km, im, sec = flight[p], known[p], pix[p], seconds[p]
                for b in range(nb):
                    kb = bits[f, b] & km
                    ib = bits[f, b] & im
                    pair_k[q, b] |= kb
                    pair_i[q, b] |= ib
                    if kb:
                        sec_k[s, b] += sec
                    if ib:
                        sec_i[s, b] += sec
            for b in range(nb):
                site_k[s, b] |= pair_k[q, b]
                site_i[s, b] |= pair_i[q, b]
    return site_k, site_i, pair_k, pair_i, sec_k, sec_i


@numba.njit(cache=True)
def _coverage_kernel(bits, src_flight, src_bits, ent_src, grp_starts, grp_weight, grp_row,
                     n_rows):
    n_g, n_e, nb = len(grp_starts), len(ent_src), bits.shape[1]
    out = np.zeros((n_rows, nb))
    hit = np.zeros(nb, np.bool_)
    for g in range(n_g):
        hit[:] = False
        e1 = grp_starts[g + 1] if g + 1 < n_g else n_e
        for e in range(grp_starts[g], e1):
            f, m = src_flight[ent_src[e]], src_bits[ent_src[e]]
            for b in range(nb):
                if bits[f, b] & m:
                    hit[b] = True
        w, r = grp_weight[g], grp_row[g]
        for b in range(nb):
            if hit[b]:
                out[r, b] += w
    return out


@numba.njit(cache=True)
def _segment_any_kernel(x, order, starts):
    n_g, n, nb = len(starts), len(order), x.shape[1]
    out = np.zeros((n_g, nb), np.bool_)
    for g in range(n_g):
        j1 = starts[g + 1] if g + 1 < n_g else n
        for j in range(starts[g], j1):
            row = order[j]
            for b in range(nb):
                if x[row, b]:
                    out[g, b] = True
    return out


def segment_any(x: NDArray, order: NDArray[np.int64], starts: NDArray[np.int64]) -> NDArray:
    """Per group and draw: whether any row ``x[order[j]]`` of the group is non-zero.

    Groups are runs of ``order`` starting at ``starts``; ``x`` has one column per draw.

    Examples
    --------
    >>> x = np.array([[0, 1], [0, 0], [2, 0]], np.uint16)
    >>> segment_any(x, np.array([1, 0, 2]), np.array([0, 2])).tolist()
    [[False, True], [True, False]]
    """
    if not len(starts):
        return np.zeros((0, x.shape[1]), bool)
    return _segment_any_kernel(np.ascontiguousarray(x), np.asarray(order, np.int64),
                               np.asarray(starts, np.int64))


def known_passes(model: LeakModel, bits: NDArray[np.uint16]) -> NDArray[np.bool_]:
    """Tell, per pass (in the order given to :func:`build_model`) and draw, if it was given away.

    ``bits`` is :func:`fire_bits`' ``(flights, draws)``. A pass is given away when a channel
    that reaches it fired for its flight: the rule by which a site's visits become known.

    Examples
    --------
    >>> flights = pd.DataFrame({"flight_id": ["f1"], "vendor": ["Skydio"]})
    >>> sites = pd.DataFrame({"site_id": ["s"], "category": ["dam"], "sensitivity": [3]})
    >>> passes = pd.DataFrame({"flight_id": ["f1"], "site_id": ["s"], "seconds_in_view": [9.0]})
    >>> cover = pd.DataFrame(columns=["site_id", "flight_id", "cell", "best_gsd_m", "site_cells"])
    >>> model = build_model(passes, flights, sites, cover, scenario=default_scenario())
    >>> bits = np.array([[0, 1 << CHANNELS.index("flight_record_sync")]], np.uint16)
    >>> known_passes(model, bits).tolist()
    [[False, True]]
    """
    return (bits[model.given_pass_flight] & model.given_pass_known[:, None]) != 0


def pass_leaks(model: LeakModel, bits: NDArray[np.uint16]):
    """Channel bits given away per site and per (site, flight) pair, and seconds given away.

    ``bits`` is :func:`fire_bits`' ``(flights, draws)``. Returns, each with one column per draw:
    site bits (visits known, imagery leaked), the same per (site, flight) pair, and the seconds
    in view of the passes given away and of those whose imagery leaked, per site.
    """
    nb, n_s = bits.shape[1], len(model.sites)
    if not len(model.pass_flight):
        z16, zf = np.zeros((n_s, nb), np.uint16), np.zeros((n_s, nb))
        return z16, z16, z16[:0], z16[:0], zf, zf
    return _pass_kernel(bits, model.pass_flight, model.pass_known, model.pass_pix,
                        model.pass_seconds, model.pair_starts, model.pair_site_starts)


def _coverage_block(model: LeakModel, bits: NDArray[np.uint16]) -> NDArray[np.float64]:
    """Per site and draw: share of the site's cells leaked at NIIRS ≥ k."""
    if not len(model.ent_src):
        return np.zeros((len(model.sites), bits.shape[1]))
    return _coverage_kernel(bits, model.src_flight, model.src_bits, model.ent_src,
                            model.grp_starts, model.grp_weight, model.grp_site,
                            len(model.sites))


# --------------------------------------------------------------------------------------------
# Tables


def _wilson(k: NDArray, n: int, z: float = _Z90) -> tuple[NDArray, NDArray]:
    """Wilson score interval of a binomial proportion (90 % two-sided by default)."""
    p = np.asarray(k, float) / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def _top(names: Sequence[str], counts: NDArray) -> NDArray[np.object_]:
    """Name of the largest count per column (NA where all are 0)."""
    best = np.argmax(counts, axis=0)
    top = np.asarray(names, dtype=object)[best]
    return np.where(counts.max(axis=0, initial=0) > 0, top, None)


def _site_leaks(model: LeakModel, t: dict[str, object], draws: int) -> pd.DataFrame:
    k = f"niirs{model.niirs_k:g}"
    out = model.sites.copy()
    cov, sec = t["cov"], t["seconds"]
    q = np.percentile(cov, [5, 95], axis=0) if len(out) else np.zeros((2, 0))
    qs = np.percentile(sec, [5, 95], axis=0) if len(out) else np.zeros((2, 0))
    out[f"expected_leaked_coverage_{k}"] = cov.mean(axis=0, dtype=np.float64)
    out[f"leaked_coverage_{k}_p05"], out[f"leaked_coverage_{k}_p95"] = q
    for name, count in (("p_any_imagery_leaked", t["imaged"]), ("p_visits_known", t["known"])):
        out[name] = count / draws
        out[f"{name}_lo"], out[f"{name}_hi"] = _wilson(count, draws)
    out["expected_leaked_seconds_in_view"] = sec.mean(axis=0, dtype=np.float64)
    out["leaked_seconds_in_view_p05"], out["leaked_seconds_in_view_p95"] = qs
    out["expected_leaked_seconds_imaged"] = t["seconds_imaged"].mean(axis=0, dtype=np.float64)
    sc = model.scenario
    out["leak_risk"] = model.sens * (
        out[f"expected_leaked_coverage_{k}"] + sc.imagery_weight * out["p_any_imagery_leaked"]
        + sc.positions_weight * out["p_visits_known"]
    )
    out["top_channel"] = _top(CHANNELS, t["channel_known"])
    for level in ("vendor", "drone"):
        site, key = t["level_keys"][level]
        known = t["levels"][level][0]
        frame = pd.DataFrame({"s": site, "key": key, "n": known}).sort_values(
            ["s", "n", "key"], ascending=[True, False, True], kind="stable"
        )
        frame = frame[frame["n"] > 0].drop_duplicates("s")
        out[f"top_{level}"] = pd.Series(frame["key"].to_numpy(), index=frame["s"].to_numpy(),
                                        dtype="object").reindex(range(len(out))).to_numpy()
    out["draws"] = draws
    return out.sort_values(["leak_risk", "site_id"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)


def _flight_leaks(model: LeakModel, t: dict[str, object], draws: int) -> pd.DataFrame:
    prof = model.profiles
    any_, pos, pix = t["flights"]
    return pd.DataFrame({
        "flight_id": prof["flight_id"], "drone_id": prof["drone_key"], "vendor": prof["vendor"],
        "model": prof["model"], "agency": prof["agency"], "p_any_leaked": any_ / draws,
        "p_positions_leaked": pos / draws, "p_imagery_leaked": pix / draws, "draws": draws,
    })


def _attribution(model: LeakModel, t: dict[str, object], draws: int) -> pd.DataFrame:
    parts = []
    n_s = len(model.sites)
    parts.append(pd.DataFrame({
        "s": np.tile(np.arange(n_s), _C), "level": "channel",
        "key": np.repeat(np.asarray(CHANNELS, dtype=object), n_s),
        "known": t["channel_known"].ravel(), "imaged": t["channel_imaged"].ravel(),
    }))
    for level, (site, key) in t["level_keys"].items():
        known, imaged = t["levels"][level]
        parts.append(pd.DataFrame({"s": site, "level": level, "key": key, "known": known,
                                   "imaged": imaged}))
    a = pd.concat(parts, ignore_index=True)
    a = a[(a["known"] > 0) | (a["imaged"] > 0)]
    site_known = np.asarray(t["known"])[a["s"]]
    site_imaged = np.asarray(t["imaged"])[a["s"]]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({
            "site_id": model.sites["site_id"].to_numpy()[a["s"]],
            "name": model.sites["name"].to_numpy()[a["s"]],
            "level": a["level"].to_numpy(), "key": a["key"].to_numpy(),
            "p_visits_known_via": a["known"].to_numpy() / draws,
            "p_imagery_leaked_via": a["imaged"].to_numpy() / draws,
            "share_of_visits_known": np.where(site_known > 0, a["known"] / site_known, np.nan),
            "share_of_imagery_leaked": np.where(site_imaged > 0, a["imaged"] / site_imaged,
                                                np.nan),
            "draws": draws,
        })
    rank = {"channel": 0, "drone": 1, "vendor": 2, "agency": 3}
    out["_r"] = out["level"].map(rank)
    out["_s"] = a["s"].to_numpy()
    return out.sort_values(["_s", "_r", "p_visits_known_via", "key"],
                           ascending=[True, True, False, True], kind="stable").drop(
        columns=["_r", "_s"]).reset_index(drop=True)


def _summary(per_draw: pd.DataFrame) -> pd.DataFrame:
    values = per_draw.to_numpy(float)
    q = np.percentile(values, [5, 95], axis=0)
    return pd.DataFrame({
        "metric": list(per_draw.columns), "description": [HEADLINES[m] for m in per_draw],
        "mean": values.mean(axis=0), "p05": q[0], "p95": q[1], "draws": len(per_draw),
    })


# --------------------------------------------------------------------------------------------
# Public entry points


@dataclass(frozen=True)
class LeakResult:
    """What :func:`simulate_leaks` returns.

    Attributes
    ----------
    site_leaks : pandas.DataFrame
        One row per site with at least one pass, riskiest first: ``site_id``, ``name``,
        ``category``, ``sensitivity``, ``flights``, ``passes``, ``seconds_in_view``,
        ``coverage_fraction_niirs{k}`` (observed), ``expected_leaked_coverage_niirs{k}`` with
        ``leaked_coverage_niirs{k}_p05``/``_p95``, ``p_any_imagery_leaked`` and
        ``p_visits_known`` each with a 90 % Wilson interval (``_lo``, ``_hi``),
        ``expected_leaked_seconds_in_view`` with ``_p05``/``_p95``,
        ``expected_leaked_seconds_imaged``, ``leak_risk`` (sensitivity × (expected leaked
        coverage + imagery weight × p_any_imagery_leaked + positions weight ×
        p_visits_known)), ``top_channel``, ``top_vendor``,
        ``top_drone`` (the contributor through which the visits most often became known),
        ``draws``.
    flight_leaks : pandas.DataFrame
        Per flight: the chance that anything, its positions, or its imagery reached a foreign
        party.
    attribution : pandas.DataFrame
        Per site and contributor (``level``: ``channel``, ``drone``, ``vendor``, ``agency``;
        ``key``): the share of draws in which the site's visits became known
        (``p_visits_known_via``) or its imagery leaked (``p_imagery_leaked_via``) through that
        contributor, and that as a share of the draws in which it happened at all
        (``share_of_...``, i.e. P(via X | leaked); several contributors can share a draw, so
        shares add up to 1 or more).
    headline : pandas.DataFrame
        :data:`HEADLINES` with mean, 5th and 95th percentiles.
    per_draw : pandas.DataFrame
        The headline numbers of every draw (what-ifs are compared draw by draw).
    model, behaviour, draws, seed, block_size
        What ran, for what-ifs, sweeps and the replacement planner.
    inputs : dict
        The tables given (not copied), for what-ifs that remove passes.
    """

    site_leaks: pd.DataFrame
    flight_leaks: pd.DataFrame
    attribution: pd.DataFrame
    headline: pd.DataFrame
    per_draw: pd.DataFrame
    model: LeakModel
    behaviour: Behaviour
    draws: int
    seed: int
    block_size: int
    inputs: Mapping[str, object] = field(default_factory=dict, repr=False)

    @property
    def assumptions(self) -> tuple[str, ...]:
        """What the run assumed, in words."""
        extra = []
        if self.behaviour.undated:
            extra.append(f"{self.behaviour.undated} flights have no start time: no dated rule "
                         "applies to them")
        return (*self.model.assumptions, *extra)


def simulate_leaks(
    passes: pd.DataFrame,
    flights: pd.DataFrame,
    sites: pd.DataFrame,
    coverage_by_flight: pd.DataFrame,
    *,
    scenario: Scenario | None = None,
    tracks: pd.DataFrame | None = None,
    draws: int = 2000,
    seed: int = 0,
    niirs_k: float = 5.0,
    block_size: int = 256,
) -> LeakResult:
    """Monte Carlo of what of a fleet's exposure could have reached a foreign party.

    Parameters
    ----------
    passes : pandas.DataFrame
        The passes table (``flight_id``, ``site_id``, ``seconds_in_view``; ``capturing``,
        ``t_start``/``t_end`` and ``min_slant_range_m`` where channels need them).
    flights : pandas.DataFrame
        The flights table with the fleet inventory's columns where joined (a GeoDataFrame's
        track lines give take-off points when ``tracks`` is missing).
    sites : geopandas.GeoDataFrame
        ``site_id``, ``name``, ``category``, ``sensitivity`` and the polygons (EPSG:4326).
    coverage_by_flight : pandas.DataFrame
        ``site_id``, ``flight_id``, ``cell``, ``best_gsd_m``, ``site_cells``.
    scenario : Scenario, optional
        The shipped defaults when omitted.
    tracks : pandas.DataFrame, optional
        Timed track points (``flight_id``, ``time``, ``lon``, ``lat``): take-off points, and
        reception by listed radio receivers.
    draws, seed : int
        Number of draws and the seed (same seed, same numbers).
    niirs_k : float
        Coverage counts cells seen at NIIRS ≥ ``niirs_k``.
    block_size : int
        Draws per block: bounds memory, does not change the results.

    Returns
    -------
    LeakResult

    Raises
    ------
    ExposureError
        If a table lacks a column or names flights or sites the others do not have, or a
        parameter is out of range (all problems at once).

    Examples
    --------
    >>> import shapely
    >>> flights = pd.DataFrame({"flight_id": ["f1"], "drone_id": ["SN1"], "vendor": ["Skydio"],
    ...                         "start": ["2025-03-01T00:00:00Z"]})
    >>> sites = gpd.GeoDataFrame({"site_id": ["s1"], "name": ["Plant"], "category": ["nuclear"],
    ...     "sensitivity": [5]}, geometry=[shapely.box(139.0, 35.0, 139.01, 35.01)], crs=4326)
    >>> passes = pd.DataFrame({"flight_id": ["f1"], "site_id": ["s1"],
    ...                        "seconds_in_view": [60.0], "capturing": [True]})
    >>> cover = pd.DataFrame({"site_id": "s1", "flight_id": "f1", "cell": [0, 1],
    ...                       "best_gsd_m": [0.05, 0.05], "site_cells": 4})
    >>> r = simulate_leaks(passes, flights, sites, cover, draws=500, seed=1)
    >>> row = r.site_leaks.iloc[0]
    >>> float(row["coverage_fraction_niirs5"]), bool(0 < row["p_visits_known"] < 1)
    (0.5, True)
    """
    scenario = default_scenario() if scenario is None else scenario
    model = build_model(passes, flights, sites, coverage_by_flight, scenario=scenario,
                        tracks=tracks, niirs_k=niirs_k)
    beh = behaviour(model.profiles, model.regions, scenario)
    t = run_draws(model, beh, draws=draws, seed=seed, block_size=block_size)
    per_draw = pd.DataFrame(t["headline"])
    return LeakResult(
        site_leaks=_site_leaks(model, t, draws),
        flight_leaks=_flight_leaks(model, t, draws),
        attribution=_attribution(model, t, draws),
        headline=_summary(per_draw),
        per_draw=per_draw,
        model=model,
        behaviour=beh,
        draws=draws,
        seed=seed,
        block_size=block_size,
        inputs={"passes": passes, "flights": flights, "sites": sites,
                "coverage_by_flight": coverage_by_flight, "tracks": tracks},
    )


def _headlines(model: LeakModel, beh: Behaviour, base: LeakResult, draws: int) -> pd.DataFrame:
    t = run_draws(model, beh, draws=draws, seed=base.seed, block_size=base.block_size,
                  detail=False)
    return pd.DataFrame(t["headline"])


def compare_what_ifs(
    base: LeakResult,
    what_ifs: Sequence[WhatIf],
    *,
    zones: Mapping[Path, gpd.GeoDataFrame] | None = None,
) -> pd.DataFrame:
    """Re-run the simulation under each what-if and compare with the base run draw by draw.

    The what-if uses the base run's seed and draws, so each draw sees the same random numbers
    (common random numbers) and the difference has little sampling noise.

    Parameters
    ----------
    base : LeakResult
        The base run.
    what_ifs : sequence of WhatIf
        Policies (:func:`exposure.scenario.load_what_if`).
    zones : mapping of path to geopandas.GeoDataFrame, optional
        The zone polygons of every ``no_fly_zones`` change, keyed by the change's file.

    Returns
    -------
    pandas.DataFrame
        One row per what-if and headline: ``what_if``, ``metric``, ``base_mean``,
        ``what_if_mean``, ``difference_mean`` with ``difference_p05``/``_p95``,
        ``relative_change``, ``passes_removed``, ``draws``.

    Raises
    ------
    ExposureError
        If a zone file of a what-if was not given.
    """
    rows = []
    for w in what_ifs:
        scenario, profiles = apply_what_if(base.model.scenario, base.model.profiles, w)
        model, removed = base.model, 0
        if w.zone_files:
            missing = [str(z) for z in w.zone_files if zones is None or z not in zones]
            if missing:
                raise ExposureError(f"what-if {w.name!r}: zones not loaded: {missing}")
            gone = np.zeros(len(base.inputs["passes"]), bool)
            for z in w.zone_files:
                gone |= remove_zone_passes(
                    base.inputs["passes"], zones[z], flights=base.inputs["flights"],
                    sites=base.inputs["sites"], tracks=base.inputs["tracks"],
                )[0]
            removed = int(gone.sum())
            model = _without_passes(base, gone)
        model = replace(model, profiles=profiles, scenario=scenario)
        beh = behaviour(profiles, model.regions, scenario)
        per = _headlines(model, beh, base, base.draws)
        diff = per.to_numpy() - base.per_draw.to_numpy()
        q = np.percentile(diff, [5, 95], axis=0)
        b_mean = base.per_draw.to_numpy().mean(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.where(b_mean != 0, diff.mean(axis=0) / b_mean, np.nan)
        for j, metric in enumerate(per.columns):
            rows.append({
                "what_if": w.name, "metric": metric, "base_mean": b_mean[j],
                "what_if_mean": per[metric].mean(), "difference_mean": diff[:, j].mean(),
                "difference_p05": q[0, j], "difference_p95": q[1, j], "relative_change": rel[j],
                "passes_removed": removed, "draws": base.draws,
            })
    return pd.DataFrame(rows)


def _without_passes(base: LeakResult, gone: NDArray[np.bool_]) -> LeakModel:
    """Rebuild the base model without some passes.

    A flight's cells at a site go with its last pass there. Flights and drones keep their
    order, so the random numbers line up with the base run's.
    """
    i = base.inputs
    passes = i["passes"][~gone]
    cov = i["coverage_by_flight"]
    kept = pd.MultiIndex.from_frame(passes[["site_id", "flight_id"]].astype("string"))
    pairs = pd.MultiIndex.from_frame(cov[["site_id", "flight_id"]].astype("string"))
    return build_model(passes, i["flights"], i["sites"], cov[pairs.isin(kept)],
                       scenario=base.model.scenario, tracks=i["tracks"],
                       niirs_k=base.model.niirs_k)


def sensitivity_sweep(
    base: LeakResult,
    *,
    values: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    draws: int | None = None,
) -> pd.DataFrame:
    """How the headline numbers move with ``access.p`` and the flight-record sync chance.

    Each parameter is swept alone, the other kept at the scenario's value. Sweeping
    ``access.p`` sets it for every vendor (per-country values are dropped); sweeping the sync
    chance sets the channel's base probability and keeps its rules (no sync of US records after
    June 2024 stays). Every point uses the base run's seed (common random numbers).

    Returns
    -------
    pandas.DataFrame
        ``parameter``, ``value``, ``draws``, then per headline ``<metric>_mean``, ``_p05``,
        ``_p95``.
    """
    n = base.draws if draws is None else draws
    s0 = base.model.scenario
    rows = []
    for parameter in ("access.p", "flight_record_sync.p"):
        for v in values:
            if not 0 <= v <= 1:
                raise ExposureError(f"sensitivity: value {v!r}: expected a probability in [0, 1]")
            if parameter == "access.p":
                s = replace(s0, access_p=float(v), access_by_vendor_country={})
            else:
                s = s0.with_channel("flight_record_sync", p=float(v))
            model = replace(base.model, scenario=s)
            per = _headlines(model, behaviour(model.profiles, model.regions, s), base, n)
            row: dict[str, object] = {"parameter": parameter, "value": float(v), "draws": n}
            q = np.percentile(per.to_numpy(), [5, 95], axis=0)
            for j, metric in enumerate(per.columns):
                row |= {f"{metric}_mean": per[metric].mean(), f"{metric}_p05": q[0, j],
                        f"{metric}_p95": q[1, j]}
            rows.append(row)
    return pd.DataFrame(rows)
