"""Visits and the week: the building blocks of a site's pattern of life.

Passes become **visits** (:func:`visit_index`) and visits are placed in the week of the site's
own time zone (:func:`site_time_zones`, :func:`local_times`); flights heard by a Remote ID
receiver are told apart from the fleet's own (:func:`third_party`). :mod:`exposure.rhythm`
finds the usual time of a set of visits; the definitions are in :mod:`exposure.patterns`,
which builds the per-site table from these.

Time zones are found offline from coordinates with ``timezonefinder`` (its polygons of the
world's zones ship with the package); local times come from the IANA database through
``zoneinfo``, daylight saving included.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray

from exposure.errors import ExposureError

__all__ = [
    "RECEIVER_FORMATS",
    "VISIT_GAP_HOURS",
    "local_times",
    "operators",
    "site_time_zones",
    "third_party",
    "utc_times",
    "visit_index",
]

#: Passes closer than this (hours) form one visit.
VISIT_GAP_HOURS = 2.0
#: Source formats of receiver logs: their flights are other people's drones.
RECEIVER_FORMATS = ("remoteid_csv",)


# --------------------------------------------------------------------------------------------
# Time zones and local time


def utc_times(values: pd.Series | ArrayLike) -> pd.Series:
    """Read times as a UTC series with a fresh index: ISO 8601 text or datetimes (naive = UTC).

    Text that is not a time becomes NaT.

    Examples
    --------
    >>> [str(t) for t in utc_times(["2024-05-07T10:00:00+09:00", "soon"])]
    ['2024-05-07 01:00:00+00:00', 'NaT']
    """
    s = values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return s.dt.tz_localize("UTC")
    return pd.to_datetime(s, utc=True, format="ISO8601", errors="coerce")


def _ns(times: pd.Series) -> NDArray[np.int64]:
    # pandas keeps times at the unit it parsed them with: count in nanoseconds regardless.
    return times.to_numpy("datetime64[ns]").view(np.int64)


def site_time_zones(sites: gpd.GeoDataFrame) -> pd.Series:
    """IANA time zone of each site, from its coordinates (offline).

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        ``site_id`` and the site polygons in EPSG:4326; a ``time_zone`` column, where filled,
        is used as given. Not modified.

    Returns
    -------
    pandas.Series
        Zone names indexed by ``site_id``; ``UTC`` for a site without a geometry.

    Raises
    ------
    ExposureError
        If the table has no ``site_id``, is not in EPSG:4326, or names an unknown zone.

    Examples
    --------
    >>> sites = gpd.GeoDataFrame({"site_id": ["tokyo", "apia"]}, crs=4326,
    ...     geometry=[shapely.box(139.76, 35.67, 139.77, 35.68),
    ...               shapely.box(-171.77, -13.84, -171.76, -13.83)])
    >>> site_time_zones(sites).tolist()
    ['Asia/Tokyo', 'Pacific/Apia']
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from timezonefinder import TimezoneFinder

    if "site_id" not in sites:
        raise ExposureError("sites: no 'site_id' column")
    ids = sites["site_id"].astype("string").to_numpy(object)
    zones = np.full(len(sites), "UTC", dtype=object)
    geoms = (np.asarray(sites.geometry.array, dtype=object)
             if isinstance(sites, gpd.GeoDataFrame) and sites.geometry.name in sites
             else np.full(len(sites), None, dtype=object))
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if ok.any():
        if sites.crs is None or sites.crs.to_epsg() != 4326:
            raise ExposureError(f"sites: expected EPSG:4326 (the sites contract), got {sites.crs}")
        # A point on the surface stays inside the site, also when it is split at ±180°.
        pts = shapely.point_on_surface(geoms[ok])
        lon, lat = np.round(shapely.get_x(pts), 4), np.round(shapely.get_y(pts), 4)
        finder = TimezoneFinder()
        # One lookup per distinct place (the finder has no array interface).
        places = dict.fromkeys(zip(lon.tolist(), lat.tolist(), strict=True))
        found = {xy: finder.timezone_at(lng=xy[0], lat=xy[1]) or "UTC" for xy in places}
        zones[ok] = [found[xy] for xy in zip(lon.tolist(), lat.tolist(), strict=True)]
    if "time_zone" in sites:
        given = sites["time_zone"].astype("string")
        zones = np.where(given.notna().to_numpy(), given.fillna("").to_numpy(object), zones)
    problems = []
    for name in pd.unique(zones):
        try:
            ZoneInfo(str(name))
        except (ZoneInfoNotFoundError, ValueError):
            rows = np.flatnonzero(zones == name)[:3] + 1
            problems.append(f"sites rows {rows.tolist()}: time_zone {name!r}: expected an IANA "
                            "zone name such as 'Asia/Tokyo'")
    if problems:
        raise ExposureError("\n".join(problems))
    return pd.Series(zones, index=pd.Index(ids, name="site_id"), name="time_zone", dtype="string")


def local_times(times: pd.Series | ArrayLike, zones: pd.Series | ArrayLike) -> pd.DataFrame:
    """Place UTC times in the week of their own time zones.

    Parameters
    ----------
    times : array-like of datetime
        Instants (naive values are taken as UTC).
    zones : array-like of str
        IANA zone of each instant.

    Returns
    -------
    pandas.DataFrame
        ``local_start`` (ISO 8601 with the UTC offset), ``weekday`` (0 = Monday), ``hour``,
        ``slot`` (``weekday × 24 + hour``) and ``minute_of_week``, in the order given; -1 and
        NA for a missing time.

    Examples
    --------
    The same instant is Wednesday morning in Samoa and Tuesday morning in American Samoa, on
    either side of the date line:

    >>> t = pd.to_datetime(["2024-05-07T21:00:00Z"] * 2)
    >>> local_times(t, ["Pacific/Apia", "Pacific/Pago_Pago"])[["weekday", "hour"]].values.tolist()
    [[2, 10], [1, 10]]
    """
    t = pd.DatetimeIndex(utc_times(times))
    z = pd.Series(np.asarray(zones, dtype=object)).astype("string").fillna("UTC").to_numpy(object)
    if len(t) != len(z):
        raise ExposureError(f"local_times: {len(t)} times but {len(z)} zones")
    na = np.asarray(t.isna())
    weekday = np.full(len(t), -1, np.int64)
    hour = np.full(len(t), -1, np.int64)
    minute = np.zeros(len(t), np.int64)
    stamp = pd.Series(pd.NA, index=range(len(t)), dtype="string")
    # One conversion per zone (a fleet flies in few), each over all of its instants at once.
    for name in pd.unique(z):
        sel = (z == name) & ~na
        if not sel.any():
            continue
        loc = t[sel].tz_convert(str(name))
        weekday[sel] = loc.day_of_week
        hour[sel] = loc.hour
        minute[sel] = loc.minute
        # ISO 8601 with the offset: the wall clock, then the offset from UTC (few per zone).
        wall = loc.tz_localize(None).to_numpy("datetime64[s]")
        utc = t[sel].tz_localize(None).to_numpy("datetime64[s]")
        offset = (wall - utc).astype(np.int64) // 60
        kinds, which = np.unique(offset, return_inverse=True)
        signs = np.array([f"{'+' if o >= 0 else '-'}{abs(o) // 60:02d}:{abs(o) % 60:02d}"
                          for o in kinds.tolist()], dtype=object)
        clock = np.datetime_as_string(wall, unit="s").astype(object)
        stamp[sel] = clock + signs[which]
    week = np.where(na, -1, weekday * 24 + hour)
    return pd.DataFrame({
        "local_start": stamp,
        "weekday": weekday, "hour": hour, "slot": week,
        "minute_of_week": np.where(na, -1, weekday * 1440 + hour * 60 + minute),
    })


# --------------------------------------------------------------------------------------------
# Who flew: the fleet or a third party


def third_party(flights: pd.DataFrame) -> pd.Series:
    """Which flights are other people's drones heard by a receiver (rule in the module notes).

    Parameters
    ----------
    flights : pandas.DataFrame
        ``flight_id`` and, where known, ``source_format``, ``drone_id``, ``operator`` /
        ``agency`` and ``third_party``. Not modified.

    Returns
    -------
    pandas.Series of bool
        Indexed by ``flight_id``.

    Examples
    --------
    >>> flights = pd.DataFrame({"flight_id": ["a", "rx_SN1", "rx_SN9"],
    ...     "drone_id": ["SN1", "SN1", "SN9"],
    ...     "source_format": ["airdata_csv", "remoteid_csv", "remoteid_csv"]})
    >>> third_party(flights).tolist()
    [False, False, True]
    """
    frame = pd.DataFrame(flights)
    if "flight_id" not in frame:
        raise ExposureError("flights: no 'flight_id' column")
    n = len(frame)

    def strings(col: str) -> pd.Series:
        return (frame[col].astype("string") if col in frame
                else pd.Series(pd.NA, index=frame.index, dtype="string"))

    receiver = strings("source_format").isin(RECEIVER_FORMATS).to_numpy(bool)
    drone = strings("drone_id")
    own = set(drone[~receiver].dropna())
    listed = (strings("operator").notna() | strings("agency").notna()).to_numpy(bool)
    out = receiver & ~drone.isin(own).to_numpy(bool) & ~listed
    if "third_party" in frame:
        given = frame["third_party"].astype("boolean")
        out = np.where(given.notna().to_numpy(), given.fillna(False).to_numpy(bool), out)
    return pd.Series(np.asarray(out, bool).reshape(n), index=strings("flight_id").to_numpy(object),
                     name="third_party")


def operators(flights: pd.DataFrame, party: pd.Series) -> pd.Series:
    """Who flew each flight: the fleet's operator (else agency), or the Remote ID operator ID.

    Parameters
    ----------
    flights : pandas.DataFrame
        ``flight_id`` and, where known, ``operator``, ``agency`` and ``notes`` (where the
        Remote ID reader notes the operator ID it heard). Not modified.
    party : pandas.Series of bool
        :func:`third_party` of the flights.

    Returns
    -------
    pandas.Series of str
        Indexed by ``flight_id``; ``unknown`` for a fleet flight without either column,
        ``unknown operator`` for a third party that broadcast none.

    Examples
    --------
    >>> flights = pd.DataFrame({"flight_id": ["a", "b"], "agency": ["Police", None],
    ...                         "notes": [None, "UAS ID type Serial; operator ID JPN87x"]})
    >>> operators(flights, pd.Series([False, True], index=["a", "b"])).tolist()
    ['Police', 'JPN87x']
    """
    frame = pd.DataFrame(flights)
    idx = frame["flight_id"].astype("string").to_numpy(object)
    fleet = pd.Series(pd.NA, index=frame.index, dtype="string")
    for col in ("agency", "operator"):  # operator wins where both are given
        if col in frame:
            fleet = frame[col].astype("string").fillna(fleet)
    notes = (frame["notes"].astype("string") if "notes" in frame
             else pd.Series(pd.NA, index=frame.index, dtype="string"))
    heard = notes.str.extract(r"operator ID ([^;]+)", expand=False).str.strip()
    third = party.reindex(idx).fillna(False).to_numpy(bool)
    out = np.where(third, heard.fillna("unknown operator").to_numpy(object),
                   fleet.fillna("unknown").to_numpy(object))
    return pd.Series(out, index=idx, dtype="string")


# --------------------------------------------------------------------------------------------
# Visits


def visit_index(
    site_id: ArrayLike,
    t_start: ArrayLike,
    t_end: ArrayLike,
    *,
    party: ArrayLike | None = None,
    gap_hours: float = VISIT_GAP_HOURS,
) -> NDArray[np.int64]:
    """Give each pass the number of its visit; visits are ordered by site, party and start.

    Parameters
    ----------
    site_id : array-like
        Site of each pass.
    t_start, t_end : array-like of datetime
        Start and end of each pass (UTC).
    party : array-like, optional
        A group (e.g. third party or not) whose passes never join another's visits.
    gap_hours : float
        A pass starting more than this after the latest end so far starts a new visit.

    Returns
    -------
    numpy.ndarray of int
        Per pass in the order given, the visit's number ``0 .. visits - 1``.

    Raises
    ------
    ExposureError
        If ``gap_hours`` is negative or a time is missing.

    Examples
    --------
    Three passes at 10:00, 10:30 (ending 13:00) and 14:30 form one visit: each starts within
    2 h of the latest end before it. One at 16:31 starts a second visit.

    >>> t0 = pd.to_datetime(["2024-05-07T10:00Z", "2024-05-07T10:30Z", "2024-05-07T14:30Z",
    ...                      "2024-05-07T16:31Z"])
    >>> t1 = pd.to_datetime(["2024-05-07T10:10Z", "2024-05-07T13:00Z", "2024-05-07T14:30Z",
    ...                      "2024-05-07T16:40Z"])
    >>> visit_index(["s"] * 4, t0, t1).tolist()
    [0, 0, 0, 1]
    """
    if not gap_hours >= 0:
        raise ExposureError(f"gap_hours = {gap_hours!r}: expected a number of hours ≥ 0")
    ta, tb = utc_times(t_start), utc_times(t_end)
    bad = (ta.isna() | tb.isna()).to_numpy()
    if bad.any():
        rows = (np.flatnonzero(bad)[:5] + 1).tolist()
        raise ExposureError(f"passes rows {rows}: t_start or t_end missing or not a time "
                            "(expected ISO 8601 UTC times)")
    a = _ns(ta)
    b = np.maximum(_ns(tb), a)
    site = pd.factorize(pd.Series(np.asarray(site_id, dtype=object)).astype("string"),
                        sort=True)[0]
    grp = np.zeros(len(a), np.int64) if party is None else pd.factorize(
        pd.Series(np.asarray(party, dtype=object)), sort=True)[0]
    order = np.lexsort((a, grp, site))
    s, g, a_s, b_s = site[order], grp[order], a[order], b[order]
    first = np.r_[True, (s[1:] != s[:-1]) | (g[1:] != g[:-1])] if len(s) else np.zeros(0, bool)
    run = np.cumsum(first) - 1
    latest = pd.Series(b_s).groupby(run).cummax().to_numpy()
    prev = np.r_[a_s[:1], latest[:-1]]  # the latest end before each pass (first: any)
    new = first | (a_s - prev > round(gap_hours * 3600e9))
    out = np.empty(len(a), np.int64)
    out[order] = np.cumsum(new) - 1
    return out
