"""Pattern of life: when, how regularly and by whom each site is visited.

A foreign party that receives a fleet's positions learns more than imagery: that a site is
inspected every Tuesday at 10:00, that a patrol never comes at night, that activity doubled last
month. :func:`patterns_of_life` rebuilds that pattern from the passes table the way the other
side would; :func:`exposure.pattern_leaks.leaked_patterns` estimates how much of it leaked
positions give away. The building blocks are in :mod:`exposure.visits` and
:mod:`exposure.rhythm`.

Definitions
-----------
**Visit.** Passes of one site, sorted by start, form one visit while each starts at most
``gap_hours`` (default 2 h) after the latest end so far: an inspection flown as several passes,
or by several drones together, is one visit. Visits of third-party drones (below) are grouped
apart from the fleet's own.

**Local time.** A visit is placed in the week by its start in the site's local time zone, found
offline from the site's coordinates (a point on the site's surface, so that a site split at the
antimeridian keeps its own zone); a ``time_zone`` column in the sites table overrides it, and a
site without a geometry falls back to UTC. Daylight saving is followed (``zoneinfo``).

**Usual time** and **usual share.** The usual time is the time of the week (weekday, hour and
minute; the week wraps from Sunday to Monday) that the most visits started within ±1 h of: the
centre of the two-hour window holding the most visit starts, midway between the first and last
of them; ties go to the window whose visits lie closest together, then to the earliest
(:func:`exposure.rhythm.best_times`). ``usual_share`` is the share of visits within ±1 h of it:
1 when every visit starts within an hour of the same weekday and time, about 2/168 for visits
spread evenly over the week. ``usual_weekday`` and ``usual_hour`` place it in the week. The same
rule on the day alone gives ``daily_time`` and ``daily_share`` (a daily rhythm, whatever the
day).

**Entropy score.** ``entropy_score = 1 − H / ln(min(n, 168))``, with ``H`` the Shannon entropy
(natural log) of the n visits' distribution over the week's 168 hours (weekday × hour, the
briefing's chart): 1 when all visits fall in one hour of the week, 0 when no two do (the most
spread n visits can be). Unlike the usual share it sees every hour, not only the usual one, but
it puts a visit at 10:58 and one at 11:02 in different hours.

**Gaps.** ``gap_median_days`` and ``gap_cv`` (population standard deviation ÷ mean of the
intervals between consecutive visits' starts): 0 for a fixed rota, near 1 for visits at random
(Poisson) times.

**Regularity.** Rated from ``min_visits`` visits on (default 3; with fewer, the usual time and
every measure above are NA): ``regularity`` is ``high`` when ``usual_share ≥ 0.75``, ``medium``
from 0.4, else ``low``. ``night_share`` (starts 22:00–05:59 local) and ``weekend_share`` are
given from one visit on.

**Trend.** Over the observed period (by default the first to the last pass; the command line
uses the flights' own window): ``visits_per_week`` (visits ÷ weeks, at least one week);
``trend_per_week``, the least-squares slope of the counts per week since the period's start
(visits per week, per week; NA under 4 weeks); ``visits_last_4w`` and ``visits_prev_4w``, the
visits started in the period's last 28 days and in the 28 days before; and ``trend``: ``new``
(none before, some now), ``stopped``, ``doubled`` (at least twice as many), ``halved`` (at most
half), else ``steady``; NA when the period is shorter than 8 weeks or fewer than ``min_visits``
visits fall in those 8 weeks (one visit more or less would flip the word).

**Who.** ``operators`` lists who flew the visits with the number of visits of each: the fleet
inventory's ``operator``, else ``agency``; for third parties the Remote ID operator ID heard.

**Third parties.** A flight read from a Remote ID receiver log is someone else's drone, heard but
not flown by the fleet, unless its drone also flies in the fleet's own logs or the fleet
inventory gives it an operator or agency (a ``third_party`` column in the flights table
overrides the rule; see :func:`exposure.visits.third_party`). Such flights have no camera pose,
so the engine rates them in potential mode like any flight without one. Their visits are kept
apart: the ``third_party_*`` columns describe them, the others describe the fleet's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely  # noqa: F401  (doctest namespace)

from exposure.errors import ExposureError
from exposure.rhythm import (
    DAY_MINUTES,
    MIN_VISITS,
    SLOTS,
    WEEKDAYS,
    best_times,
    regularity_class,
    time_label,
)
from exposure.visits import (
    VISIT_GAP_HOURS,
    local_times,
    operators,
    site_time_zones,
    third_party,
    utc_times,
    visit_index,
)

__all__ = ["PATTERN_COLUMNS", "Patterns", "patterns_of_life"]

#: Columns of the fleet's own pattern in ``site_patterns`` (the ``third_party_`` ones follow).
PATTERN_COLUMNS = (
    "visits", "drones", "operators", "first_visit", "last_visit", "usual_time",
    "usual_weekday", "usual_hour", "usual_share", "entropy_score", "daily_time", "daily_share",
    "gap_median_days", "gap_cv", "night_share", "weekend_share", "regularity",
    "visits_per_week", "trend_per_week", "visits_last_4w", "visits_prev_4w", "trend",
)  # fmt: skip
_THIRD = ("visits", "drones", "operators", "last_visit", "usual_time", "usual_share",
          "regularity")
_DAY_NS = 86_400 * 10**9
_NIGHT = (22, 6)  # local hours from 22:00 to 05:59 count as night


@dataclass(frozen=True)
class Patterns:
    """What :func:`patterns_of_life` returns.

    Attributes
    ----------
    visits : pandas.DataFrame
        One row per visit, ordered by site, party and start: ``visit`` (the row number),
        ``site_id``, ``third_party``, ``t_start``, ``t_end``, ``passes``, ``flights``,
        ``drones``, ``drone_ids`` and ``operators`` (``; ``-joined), ``seconds_in_view``,
        ``time_zone``, and :func:`exposure.visits.local_times`' columns of the start.
    site_patterns : pandas.DataFrame
        One row per site with a visit: ``site_id``, ``name``, ``category``, ``sensitivity``,
        ``time_zone``, :data:`PATTERN_COLUMNS`, then ``third_party_`` + ``visits``, ``drones``,
        ``operators``, ``last_visit``, ``usual_time``, ``usual_share``, ``regularity``.
    pass_visit : numpy.ndarray of int
        The visit of each pass, in the order of the passes given.
    pass_flight : numpy.ndarray of str
        The flight of each pass, in the same order (to check that other results line up).
    period : tuple of pandas.Timestamp
        The observed period the trend was measured over.
    min_visits : int
        Visits needed before regularity is rated.
    assumptions : list of str
        What was assumed, in words.
    """

    visits: pd.DataFrame
    site_patterns: pd.DataFrame
    pass_visit: np.ndarray
    pass_flight: np.ndarray
    period: tuple[pd.Timestamp, pd.Timestamp]
    min_visits: int = MIN_VISITS
    assumptions: list[str] = field(default_factory=list)


def _check(passes: pd.DataFrame, flights: pd.DataFrame, gap_hours: float,
           min_visits: int) -> None:
    problems = [f"passes lacks column {c!r}" for c in ("flight_id", "site_id", "t_start", "t_end")
                if c not in passes]
    if "flight_id" not in flights:
        problems.append("flights lacks column 'flight_id'")
    elif "flight_id" in passes:
        known = set(flights["flight_id"].astype(str))
        unknown = sorted(set(passes["flight_id"].astype(str)) - known)
        if unknown:
            problems.append(f"passes name flights missing from the flights table: {unknown[:5]}")
    if not gap_hours >= 0:
        problems.append(f"gap_hours = {gap_hours!r}: expected a number of hours ≥ 0")
    if not (isinstance(min_visits, int | np.integer) and min_visits >= 1):
        problems.append(f"min_visits = {min_visits!r}: expected a whole number ≥ 1")
    if problems:
        raise ExposureError("patterns: " + "; ".join(problems))


def _joined(values: pd.Series, by: np.ndarray, n: int) -> np.ndarray:
    """Distinct values per group, sorted and ``; ``-joined (None for a group without any)."""
    frame = pd.DataFrame({"g": by, "v": values.astype("string").to_numpy(object)}).dropna()
    frame = frame.drop_duplicates().sort_values(["g", "v"])
    g, v = frame["g"].to_numpy(np.int64), frame["v"].to_numpy(object)
    out = np.full(n, None, dtype=object)
    # Most groups hold one value (one drone per visit): only the others need joining.
    first = np.r_[True, g[1:] != g[:-1]] if len(g) else np.zeros(0, bool)
    alone = first & np.r_[first[1:], True]
    out[g[alone]] = v[alone]
    joined = frame[~alone].groupby("g")["v"].agg("; ".join)
    out[joined.index.to_numpy()] = joined.to_numpy(object)
    return out


def _visit_table(passes, party, who, zones, pass_visit) -> pd.DataFrame:
    n = int(pass_visit.max(initial=-1)) + 1
    flight = passes["flight_id"].astype("string").reset_index(drop=True)
    frame = pd.DataFrame({"v": pass_visit, "a": utc_times(passes["t_start"]),
                          "b": utc_times(passes["t_end"])})
    span = frame.groupby("v").agg(t_start=("a", "min"), t_end=("b", "max"))
    rep = pd.Series(np.arange(len(pass_visit))).groupby(pass_visit).first().to_numpy()
    drone = (passes["drone_id"].astype("string").reset_index(drop=True) if "drone_id" in passes
             else pd.Series(pd.NA, index=flight.index, dtype="string")).fillna(flight)
    seconds = (pd.to_numeric(passes["seconds_in_view"], errors="coerce").fillna(0).to_numpy(float)
               if "seconds_in_view" in passes else np.zeros(len(pass_visit)))
    pairs = pd.DataFrame({"v": pass_visit, "f": flight.to_numpy(object),
                          "d": drone.to_numpy(object)})
    site = passes["site_id"].astype("string").to_numpy(object)[rep] if n else np.zeros(0, object)
    out = pd.DataFrame({
        "visit": np.arange(n),
        "site_id": pd.array(site, dtype="string"),
        "third_party": party.reindex(flight.to_numpy(object)).to_numpy(bool)[rep],
        "t_start": span["t_start"].to_numpy("datetime64[ns]"),
        "t_end": span["t_end"].to_numpy("datetime64[ns]"),
        "passes": np.bincount(pass_visit, minlength=n),
        "flights": np.bincount(pairs.drop_duplicates(["v", "f"])["v"], minlength=n),
        "drones": np.bincount(pairs.drop_duplicates(["v", "d"])["v"], minlength=n),
        "drone_ids": pd.array(_joined(drone, pass_visit, n), dtype="string"),
        "operators": pd.array(_joined(who.reindex(flight.to_numpy(object)).reset_index(drop=True),
                                      pass_visit, n), dtype="string"),
        "seconds_in_view": np.bincount(pass_visit, weights=seconds, minlength=n),
    })
    out["t_start"] = pd.to_datetime(out["t_start"], utc=True)
    out["t_end"] = pd.to_datetime(out["t_end"], utc=True)
    out["time_zone"] = pd.array(zones.reindex(site).fillna("UTC").to_numpy(object),
                                dtype="string")
    return pd.concat([out, local_times(out["t_start"], out["time_zone"])], axis=1)


def _counted(values: pd.Series, g: np.ndarray, n: int) -> np.ndarray:
    """Per group: ``name (k)`` for each ``; ``-separated name, most visits first."""
    names = values.astype("string").str.split("; ")
    frame = pd.DataFrame({"g": g, "v": names}).explode("v").dropna()
    counts = frame.groupby(["g", "v"]).size().rename("k").reset_index()
    counts = counts.sort_values(["g", "k", "v"], ascending=[True, False, True])
    counts["t"] = counts["v"] + " (" + counts["k"].astype(str) + ")"
    out = np.full(n, None, dtype=object)
    joined = counts.groupby("g")["t"].agg("; ".join)
    out[joined.index.to_numpy()] = joined.to_numpy(object)
    return out


def _measures(v: pd.DataFrame, sids: pd.Index, period, min_visits: int) -> pd.DataFrame:
    """Measure one party's visits: the pattern columns, one row per site of ``sids``."""
    s = len(sids)
    g = sids.get_indexer(v["site_id"])
    n = np.bincount(g, minlength=s)
    rated = n >= min_visits
    with np.errstate(invalid="ignore", divide="ignore"):
        nf = np.where(n > 0, n, np.nan)
        slot = v["slot"].to_numpy(np.int64)
        week = v["minute_of_week"].to_numpy(np.int64)
        best, window = best_times(g, week, n_groups=s)
        day, day_window = best_times(g, week % DAY_MINUTES, n_groups=s, period=DAY_MINUTES)
        best, day = np.where(rated, best[:, 0], -1), np.where(rated, day[:, 0], -1)
        share = np.where(rated, window[:, 0] / nf, np.nan)
        # Shannon entropy over the week's slots, normalised by the most n visits can have.
        keys, per = np.unique(g * SLOTS + slot, return_counts=True)
        p = per / n[keys // SLOTS]
        h = np.bincount(keys // SLOTS, weights=-p * np.log(p), minlength=s)
        top = np.log(np.minimum(n, SLOTS).astype(float))
        # Rounded: ln 10 / ln 10 is not exactly 1 in floating point.
        entropy = np.where(rated & (n >= 2), np.round(1.0 - h / np.where(top > 0, top, 1.0), 12),
                           np.nan)
    t = v["t_start"].to_numpy("datetime64[ns]").view(np.int64)
    # Intervals between consecutive visits of a site (visits come sorted by site and start).
    first = np.r_[True, g[1:] != g[:-1]] if len(g) else np.zeros(0, bool)
    gaps = pd.DataFrame({"g": g, "d": np.diff(t, prepend=t[:1]) / _DAY_NS})[~first]
    by = gaps.groupby("g")["d"]
    stats = pd.DataFrame({"median": by.median(), "mean": by.mean(),
                          "std": by.std(ddof=0)}).reindex(range(s))
    hours = v["hour"].to_numpy()
    night = (hours >= _NIGHT[0]) | (hours < _NIGHT[1])
    drones = v["drone_ids"].astype("string").str.split("; ")
    distinct = pd.DataFrame({"g": g, "d": drones}).explode("d").dropna().drop_duplicates()
    out = pd.DataFrame({
        "visits": n,
        "drones": np.bincount(distinct["g"].to_numpy(np.int64), minlength=s),
        "operators": pd.array(_counted(v["operators"], g, s), dtype="string"),
        "first_visit": v["t_start"].reset_index(drop=True).groupby(g).min().reindex(range(s)),
        "last_visit": v["t_start"].reset_index(drop=True).groupby(g).max().reindex(range(s)),
        "usual_time": pd.array(time_label(best), dtype="string"),
        "usual_weekday": pd.array([None if b < 0 else WEEKDAYS[b // DAY_MINUTES] for b in best],
                                  dtype="string"),
        "usual_hour": pd.array(np.where(best >= 0, best % DAY_MINUTES // 60, 0), dtype="Int64"),
        "usual_share": share,
        "entropy_score": entropy,
        "daily_time": pd.array(time_label(day, week=False), dtype="string"),
        "daily_share": np.where(rated, day_window[:, 0] / nf, np.nan),
        "gap_median_days": np.where(rated, stats["median"], np.nan),
        "gap_cv": np.where(rated & (stats["mean"] > 0), stats["std"] / stats["mean"], np.nan),
        "night_share": np.bincount(g, weights=night, minlength=s) / nf,
        "weekend_share": np.bincount(g, weights=v["weekday"].to_numpy() >= 5, minlength=s) / nf,
        "regularity": pd.array(regularity_class(share, n, min_visits=min_visits),
                               dtype="string"),
    })
    out.loc[best < 0, "usual_hour"] = pd.NA
    for col in ("first_visit", "last_visit"):
        out[col] = pd.to_datetime(out[col], utc=True)
    return pd.concat([out, _trend(g, t, s, period, min_visits)], axis=1)


def _trend(g: np.ndarray, t: np.ndarray, s: int, period, min_visits: int) -> pd.DataFrame:
    lo, hi = (int(p.value) for p in period)
    span_days = (hi - lo) / _DAY_NS
    weeks = max(1, int(np.ceil(span_days / 7)))
    n = np.bincount(g, minlength=s).astype(float)
    week = np.clip((t - lo) // (7 * _DAY_NS), 0, weeks - 1)
    counts = np.bincount(g * weeks + week, minlength=s * weeks).reshape(s, weeks)
    x = np.arange(weeks) - (weeks - 1) / 2
    slope = counts @ x / (x @ x) if weeks >= 4 else np.full(s, np.nan)
    last = np.bincount(g[t > hi - 28 * _DAY_NS], minlength=s)
    prev = np.bincount(g[(t > hi - 56 * _DAY_NS) & (t <= hi - 28 * _DAY_NS)], minlength=s)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = last / prev
    word = np.select(
        [prev == 0, last == 0, ratio >= 2, ratio <= 0.5], ["new", "stopped", "doubled", "halved"],
        "steady",
    ).astype(object)
    word[(last + prev < min_visits) | (span_days < 56)] = None
    known = span_days >= 56
    return pd.DataFrame({
        "visits_per_week": n / max(span_days / 7, 1.0),
        "trend_per_week": slope,
        "visits_last_4w": pd.array(np.where(known, last, 0), dtype="Int64"),
        "visits_prev_4w": pd.array(np.where(known, prev, 0), dtype="Int64"),
        "trend": pd.array(word, dtype="string"),
    }).assign(**({} if known else {"visits_last_4w": pd.NA, "visits_prev_4w": pd.NA}))


def _site_table(visits, sites, zones, *, period, min_visits) -> pd.DataFrame:
    sids = pd.Index(sorted(pd.unique(visits["site_id"].astype(str))), dtype="string")
    base = pd.DataFrame({"site_id": sids.astype("string")})
    info = pd.DataFrame(sites).drop(columns="geometry", errors="ignore")
    info = info.assign(site_id=info["site_id"].astype("string")).drop_duplicates("site_id")
    for col in ("name", "category", "sensitivity"):
        base[col] = (info.set_index("site_id")[col].reindex(sids).to_numpy()
                     if col in info else pd.NA)
    base["time_zone"] = pd.array(zones.reindex(sids.astype(str)).to_numpy(object),
                                 dtype="string")
    own = _measures(visits[~visits["third_party"]], sids, period, min_visits)
    other = _measures(visits[visits["third_party"]], sids, period, min_visits)[list(_THIRD)]
    out = pd.concat([base, own, other.add_prefix("third_party_")], axis=1)
    return out.sort_values(["visits", "third_party_visits", "site_id"],
                           ascending=[False, False, True], kind="stable").reset_index(drop=True)


def patterns_of_life(
    passes: pd.DataFrame,
    flights: pd.DataFrame,
    sites: gpd.GeoDataFrame,
    *,
    gap_hours: float = VISIT_GAP_HOURS,
    min_visits: int = MIN_VISITS,
    period: tuple[object, object] | None = None,
) -> Patterns:
    """Rebuild each site's pattern of visits from the passes (definitions in the module notes).

    Parameters
    ----------
    passes : pandas.DataFrame
        The passes table (``flight_id``, ``site_id``, ``t_start``, ``t_end``; ``drone_id``,
        ``seconds_in_view`` where present). Not modified.
    flights : pandas.DataFrame
        The flights table, with the fleet inventory's columns where joined. Not modified.
    sites : geopandas.GeoDataFrame
        ``site_id`` and polygons (EPSG:4326) for the time zones; ``name``, ``category`` and
        ``sensitivity`` are copied where present. Not modified.
    gap_hours : float
        Passes closer than this form one visit.
    min_visits : int
        Visits needed before regularity is rated.
    period : tuple of datetime, optional
        Start and end of the observed period, for the trend; the passes' own span by default.
        It is widened to cover every visit.

    Returns
    -------
    Patterns

    Raises
    ------
    ExposureError
        If a table lacks a column, a pass names an unknown flight or site, a time is missing,
        or a parameter is out of range.

    Examples
    --------
    >>> sites = gpd.GeoDataFrame({"site_id": ["dam"]}, crs=4326,
    ...                          geometry=[shapely.box(139.0, 35.0, 139.01, 35.01)])
    >>> starts = pd.date_range("2024-04-02T01:00Z", periods=10, freq="7D")  # Tue 10:00 JST
    >>> passes = pd.DataFrame({"flight_id": "f", "site_id": "dam", "t_start": starts,
    ...                        "t_end": starts + pd.Timedelta("10min")})
    >>> p = patterns_of_life(passes, pd.DataFrame({"flight_id": ["f"]}), sites)
    >>> row = p.site_patterns.iloc[0]
    >>> row["usual_time"], float(row["usual_share"]), row["regularity"], row["time_zone"]
    ('Tue 10:00', 1.0, 'high', 'Asia/Tokyo')
    """
    _check(passes, flights, gap_hours, min_visits)
    party = third_party(flights)
    zones = site_time_zones(sites)
    unknown = sorted(set(passes["site_id"].astype(str)) - set(zones.index.astype(str)))
    if unknown:
        raise ExposureError(f"patterns: passes name sites missing from the sites table: "
                            f"{unknown[:5]}")
    pass_party = party.reindex(passes["flight_id"].astype("string").to_numpy(object))
    pass_visit = visit_index(passes["site_id"], passes["t_start"], passes["t_end"],
                             party=pass_party.to_numpy(bool), gap_hours=gap_hours)
    visits = _visit_table(passes, party, operators(flights, party), zones, pass_visit)
    lo, hi = _period(visits, period)
    table = _site_table(visits, sites, zones, period=(lo, hi), min_visits=int(min_visits))
    notes = [
        f"passes of one site less than {gap_hours:g} h apart form one visit",
        "visits are placed in the week by their start in the site's local time zone (found "
        "offline from its coordinates)",
        f"regularity is rated from {int(min_visits)} visits on; the trend is measured from "
        f"{lo:%Y-%m-%d} to {hi:%Y-%m-%d}",
    ]
    third = int(party.sum())
    if third:
        notes.append(f"{third} flights from Remote ID receiver logs are other parties' drones: "
                     "their visits are reported apart (third_party_* columns)")
    return Patterns(visits=visits, site_patterns=table, pass_visit=pass_visit,
                    pass_flight=passes["flight_id"].astype("string").to_numpy(object),
                    period=(lo, hi), min_visits=int(min_visits), assumptions=notes)


def _period(visits: pd.DataFrame, period) -> tuple[pd.Timestamp, pd.Timestamp]:
    def utc(value: object) -> pd.Timestamp:
        t = pd.Timestamp(value)
        return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")

    if period is not None:
        try:
            lo, hi = (utc(v) for v in period)
        except (TypeError, ValueError):
            raise ExposureError(f"patterns: period {period!r}: expected two times") from None
        if not hi >= lo:
            raise ExposureError(f"patterns: period {period!r}: expected a start before its end")
    if not len(visits):
        return (lo, hi) if period is not None else (utc(0), utc(0))
    first, last = visits["t_start"].min(), visits["t_end"].max()
    if period is None:
        return first, last
    # The observed period covers every visit, whatever was given.
    return min(lo, first), max(hi, last)
