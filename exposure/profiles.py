"""Drone profiles: what the leak simulation knows of each flight's drone.

:func:`flight_profiles` joins what the fleet inventory says to each flight, and fills what it
does not say: a drone missing from the inventory gets the scenario's ``[defaults]`` (local-data
mode off, logged in, connected controller) with its vendor's country, app and price from
``[vendors]``. A drone counts as in the inventory when any inventory-only column
(``vendor_country``, ``operator``, ``agency``, ``app``, ``data_settings``,
``replacement_cost``) has a value for it; then a setting its ``data_settings`` (read by
:func:`exposure.scenario.parse_data_settings`) does not mention is "unknown" and drawn per drone
in the simulation. :func:`replace_profiles` gives drones the scenario's replacement profile.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from exposure.errors import ExposureError
from exposure.scenario import SETTINGS, Scenario, parse_data_settings

__all__ = ["flight_profiles", "replace_profiles"]

_INVENTORY_ONLY = ("vendor_country", "operator", "agency", "app", "data_settings",
                   "replacement_cost")


def _strings(frame: pd.DataFrame, *cols: str) -> pd.Series:
    """First non-missing value among ``cols`` per row, as strings (NA where none)."""
    out = pd.Series(pd.NA, index=frame.index, dtype="string")
    for col in cols:
        if col in frame:
            value = frame[col].astype("string").str.strip().replace("", pd.NA)
            out = out.fillna(value)
    return out


def flight_profiles(flights: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Each flight's drone profile: identity, vendor, app, country, settings and cost.

    Parameters
    ----------
    flights : pandas.DataFrame
        The flights table, with the fleet inventory's columns where one was joined; not
        modified.
    scenario : Scenario
        For the default profile and the per-vendor country, app and price.

    Returns
    -------
    pandas.DataFrame
        One row per flight in the order given: ``flight_id``, ``drone_key`` (the drone id, or
        ``flight:<flight_id>`` when unknown), ``drone_id``, ``vendor``, ``model``, ``app``,
        ``vendor_country``, ``agency`` (the ``operator``, else the ``agency``),
        ``in_inventory``, one column per setting (``on``/``off``/``unknown``),
        ``replacement_cost`` and ``start`` (UTC; NaT where unknown).

    Raises
    ------
    ExposureError
        If a ``data_settings`` value is not understood or a replacement cost is not positive
        (every such flight listed).

    Examples
    --------
    >>> from exposure.scenario import default_scenario
    >>> flights = pd.DataFrame({"flight_id": ["a", "b"], "drone_id": ["SN1", None],
    ...                         "vendor": ["DJI", "Skydio"], "data_settings": ["ldm=on", None]})
    >>> p = flight_profiles(flights, default_scenario())
    >>> p[["drone_key", "vendor_country", "local_data", "in_inventory"]].values.tolist()
    [['SN1', 'CN', 'on', True], ['flight:b', 'US', 'off', False]]
    """
    frame = pd.DataFrame(flights).reset_index(drop=True)
    if "flight_id" not in frame:
        raise ExposureError("flights: no 'flight_id' column")
    out = pd.DataFrame({"flight_id": frame["flight_id"].astype("string")})
    out["drone_id"] = _strings(frame, "drone_id")
    out["drone_key"] = out["drone_id"].fillna("flight:" + out["flight_id"])
    out["vendor"] = _strings(frame, "vendor").fillna("unknown")
    out["model"] = _strings(frame, "model").fillna("unknown")
    # What [vendors] says of each flight's vendor (NA where it does not know the vendor).
    vendor = out["vendor"].str.casefold().astype(object)
    info = {
        field: vendor.map({k: v[field] for k, v in scenario.vendors.items()})
        for field in ("country", "app", "replacement_cost")
    }
    d = scenario.defaults
    out["app"] = _strings(frame, "app").fillna(info["app"].astype("string")).fillna(d["app"])
    out["vendor_country"] = (
        _strings(frame, "vendor_country")
        .fillna(info["country"].astype("string"))
        .fillna(d["vendor_country"])
    )
    out["agency"] = _strings(frame, "operator", "agency").fillna("unknown")
    present = [c for c in _INVENTORY_ONLY if c in frame]
    out["in_inventory"] = (
        frame[present].notna().any(axis=1).to_numpy() if present else np.zeros(len(frame), bool)
    )
    problems = []
    raw = (frame["data_settings"].astype("object") if "data_settings" in frame
           else pd.Series(None, index=frame.index, dtype="object"))
    raw = raw.where(raw.notna(), None)
    parsed: dict[object, dict[str, str]] = {}
    for value in pd.unique(raw):
        try:
            parsed[value] = parse_data_settings(value)
        except ValueError as exc:
            rows = out["flight_id"][(raw == value).to_numpy()].tolist()
            problems.append(f"flights {rows[:3]}: data_settings {value!r}: {exc}")
            parsed[value] = parse_data_settings(None)
    for s in SETTINGS:
        state = raw.map(lambda v, s=s: parsed[v][s])
        out[s] = np.where(out["in_inventory"], state, d[s])
    cost = (pd.to_numeric(frame["replacement_cost"], errors="coerce").astype(float)
            if "replacement_cost" in frame else pd.Series(np.nan, index=frame.index))
    cost = cost.fillna(info["replacement_cost"].astype(float)).fillna(d["replacement_cost"])
    bad = ~(cost > 0)
    if bad.any():
        problems.append(
            f"flights {out['flight_id'][bad].tolist()[:5]}: replacement_cost "
            f"{cost[bad].tolist()[:5]}: expected a positive number"
        )
    out["replacement_cost"] = cost.to_numpy(float)
    start = frame["start"] if "start" in frame else pd.Series(pd.NaT, index=frame.index)
    out["start"] = pd.to_datetime(start, utc=True, errors="coerce", format="ISO8601")
    if problems:
        raise ExposureError("fleet profile: " + "\n".join(problems))
    return out


def replace_profiles(
    profiles: pd.DataFrame,
    mask: np.ndarray | pd.Series,
    scenario: Scenario,
    *,
    overrides: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Give the flights in ``mask`` the scenario's replacement drone (a copy is returned).

    The drone keeps its identity, agency and flights; vendor, model, app, vendor country and
    settings become the replacement's (settings it does not name are off).

    Examples
    --------
    >>> from exposure.scenario import default_scenario
    >>> p = flight_profiles(pd.DataFrame({"flight_id": ["a"], "vendor": ["DJI"]}),
    ...                     default_scenario())
    >>> replace_profiles(p, [True], default_scenario())[["vendor", "local_data"]].values.tolist()
    [['China-free replacement', 'on']]
    """
    profile = {**scenario.replacement, **(overrides or {})}
    out = profiles.copy()
    m = np.asarray(mask, bool)
    for col in ("vendor", "model", "app", "vendor_country"):
        out.loc[m, col] = profile[col]
    settings = parse_data_settings(profile.get("data_settings"))
    for s in SETTINGS:
        out.loc[m, s] = "off" if settings[s] == "unknown" else settings[s]
    return out
