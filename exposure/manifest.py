"""The run manifest: inputs and their hashes, parameters, versions, counts in and out, run time."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["build_manifest", "manifest_json"]

_PACKAGES = ("exposure", "numpy", "pandas", "shapely", "pyproj", "geopandas", "pyogrio", "folium")


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _flight_inputs(flights: gpd.GeoDataFrame) -> list[dict[str, object]]:
    rows = []
    for r in flights.itertuples(index=False):
        rows.append(
            {
                "path": r.source_path,
                "sha256": r.sha256,
                "format": r.source_format,
                "flight_id": r.flight_id,
                "rows_read": int(r.n_read),
                "rows_kept": int(r.n_samples),
                "rows_rejected": int(r.n_rejected),
                "rejected_by_reason": json.loads(r.rejected_reasons)
                if isinstance(r.rejected_reasons, str)
                else {},
            }
        )
    return rows


def build_manifest(
    *,
    command: str,
    flights: gpd.GeoDataFrame,
    site_reports: list[dict[str, object]],
    parameters: dict[str, object],
    counts: dict[str, int],
    assumptions: list[str],
    outputs: list[str],
    started: datetime,
    extra: dict[str, object] | None = None,
) -> dict[str, object]:
    """Assemble the manifest of one run.

    Parameters
    ----------
    command : str
        The command that ran (``"assess"``, ``"demo"``).
    flights : geopandas.GeoDataFrame
        The flights table (one input entry per flight: path, hash, rows read/kept/rejected).
    site_reports : list of dict
        The ``read_report`` of each site source.
    parameters, counts : dict
        Engine parameters and counts.
    assumptions : list of str
        What the run assumed, in words.
    outputs : list of str
        File names written.
    started : datetime.datetime
        When the run started (UTC).
    extra : dict, optional
        Anything else to record.

    Returns
    -------
    dict
        JSON-serialisable. ``totals`` reconciles rows read = kept + rejected over all files.
    """
    inputs = _flight_inputs(flights)
    finished = datetime.now(UTC)
    totals = {
        "rows_read": sum(i["rows_read"] for i in inputs),
        "rows_kept": sum(i["rows_kept"] for i in inputs),
        "rows_rejected": sum(i["rows_rejected"] for i in inputs),
    }
    return {
        "command": command,
        "started_utc": started.isoformat(timespec="seconds"),
        "seconds_taken": round((finished - started).total_seconds(), 3),
        "versions": _versions(),
        "inputs": {"flight_logs": inputs, "sites": site_reports},
        "totals": totals,
        "parameters": parameters,
        "counts": counts,
        "assumptions": assumptions,
        "outputs": outputs,
        **(extra or {}),
    }


def _default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if value is pd.NA:
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def manifest_json(manifest: dict[str, object]) -> str:
    """Serialise a manifest as indented JSON text (NaN written as null)."""
    return (
        json.dumps(manifest, indent=2, ensure_ascii=False, default=_default, allow_nan=False) + "\n"
    )
