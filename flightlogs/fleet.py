"""The optional fleet inventory: what an analyst knows about each drone beyond its logs.

A fleet CSV has one row per drone (joined on ``drone_id``) or per flight (joined on
``flight_id``); either key column must be present. Recognised columns: ``drone_id``,
``flight_id``, ``model``, ``vendor``, ``vendor_country``, ``operator``, ``agency``, ``app``,
``data_settings``, ``camera``, ``replacement_cost``. Other columns are kept as they are.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from flightlogs.errors import FlightLogError

__all__ = ["FLEET_COLUMNS", "apply_fleet", "read_fleet"]

FLEET_COLUMNS = (
    "drone_id",
    "flight_id",
    "model",
    "vendor",
    "vendor_country",
    "operator",
    "agency",
    "app",
    "data_settings",
    "camera",
    "replacement_cost",
)
_KEYS = ("flight_id", "drone_id")


def read_fleet(path: str | Path) -> pd.DataFrame:
    """Read a fleet inventory CSV.

    Parameters
    ----------
    path : str or pathlib.Path
        A UTF-8 CSV with a header row containing ``drone_id`` or ``flight_id``.

    Returns
    -------
    pandas.DataFrame
        All columns as strings, except ``replacement_cost`` (float, NaN where empty).

    Raises
    ------
    FlightLogError
        If the file is missing or unreadable, has no key column, repeats a key, or has a
        replacement cost that is not a number.
    """
    path = Path(path)
    try:
        fleet = pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise FlightLogError(f"{path}: no such fleet file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise FlightLogError(f"{path}: not a readable fleet CSV ({exc})") from None
    fleet.columns = [c.strip() for c in fleet.columns]
    problems = []
    keys = [k for k in _KEYS if k in fleet]
    if not keys:
        problems.append(
            f"no key column: expected 'drone_id' or 'flight_id' in {list(fleet.columns)}"
        )
    for k in keys:
        values = fleet[k].dropna()
        dup = values[values.duplicated()]
        if len(dup):
            problems.append(f"column {k!r} repeats {sorted(set(dup))[:5]}")
    if "replacement_cost" in fleet:
        cost = pd.to_numeric(fleet["replacement_cost"], errors="coerce")
        bad = cost.isna() & fleet["replacement_cost"].notna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0]) + 2
            value = fleet["replacement_cost"][bad].iloc[0]
            problems.append(f"row {row}: replacement_cost {value!r} is not a number")
        fleet["replacement_cost"] = cost.astype("float64")
    if problems:
        raise FlightLogError(f"{path}: " + "; ".join(problems))
    return fleet


def apply_fleet(flights: gpd.GeoDataFrame, fleet: pd.DataFrame) -> gpd.GeoDataFrame:
    """Join a fleet inventory onto the flights table.

    Rows keyed by ``flight_id`` are applied first, then rows keyed by ``drone_id``. A value from
    the inventory replaces the log's value only where the inventory has one; columns the flights
    table lacks (``vendor_country``, ``agency``, ...) are added.

    Parameters
    ----------
    flights : geopandas.GeoDataFrame
        Canonical flights table; not modified.
    fleet : pandas.DataFrame
        As returned by :func:`read_fleet`.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``flights`` with the inventory's columns.

    Examples
    --------
    >>> import pandas as pd, geopandas as gpd
    >>> flights = gpd.GeoDataFrame({"flight_id": ["a"], "drone_id": [None], "vendor": [None]},
    ...                            geometry=[None], crs="EPSG:4326")
    >>> fleet = pd.DataFrame({"flight_id": ["a"], "drone_id": ["SN1"], "vendor": ["DJI"]})
    >>> apply_fleet(flights, fleet)[["drone_id", "vendor"]].iloc[0].tolist()
    ['SN1', 'DJI']
    """
    out = flights.copy()
    for key in _KEYS:
        if key not in fleet or key not in out:
            continue
        table = fleet[fleet[key].notna()].set_index(key)
        for col in table.columns:
            if col in _KEYS and col != "drone_id":
                continue
            mapped = out[key].map(table[col])
            if col in out:
                out[col] = mapped.where(mapped.notna(), out[col])
            else:
                out[col] = mapped
    return out
