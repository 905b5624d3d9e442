"""The one builder every site reader ends in: records and geometry in, canonical sites out.

A reader parses its file into *records* (a :class:`pandas.DataFrame`, one row per feature or
catalogue row) and an array of geometries in EPSG:4326, and hands both to :func:`build_sites`.
The builder turns the geometry into polygons (:mod:`sites.geometry`), drops the rows that cannot
be used and counts them by reason, makes the ids unique, calls :func:`sites.schema.make_sites`
and attaches the *read report* to the result as ``frame.attrs["read_report"]``::

    {"source": "<path>", "n_read": N, "n_kept": K, "repaired": R,
     "merged": {reason: count}, "rejected": {reason: count}}

with ``N == K + sum(merged.values()) + sum(rejected.values())``. A row is *merged* when the site
it describes is already in the table (another reactor unit of the same plant, the same airport
from another source); a reader marks such rows with a reason starting with ``"merged: "``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from sites.errors import SiteDataError
from sites.geometry import to_site_polygons
from sites.schema import make_sites
from sites.taxonomy import CATEGORIES

__all__ = ["MERGED", "build_sites", "combine_reports", "read_report", "resolve_sensitivity"]

#: Record columns a reader must provide.
RECORD_COLUMNS = ("site_id", "id_derived", "name", "category", "radius_m", "source")
#: Optional record columns passed through to the sites table.
PASSTHROUGH = (
    "sensitivity",
    "floor_m",
    "ceiling_m",
    "vertical_ref",
    "schedule",
    "restriction",
    "zone_reason",
)
#: A reason starting with this marks a row merged into another site rather than rejected.
MERGED = "merged: "


def read_report(source: str, reasons: npt.ArrayLike, repaired: int) -> dict[str, Any]:
    """Summarise what a reader kept and rejected.

    Parameters
    ----------
    source : str
        The file read.
    reasons : array_like
        One entry per row read: the rejection reason (``"merged: <why>"`` for a row merged
        into another site), or None where the row was kept.
    repaired : int
        How many kept rows had their geometry repaired.

    Returns
    -------
    dict
        ``source``, ``n_read``, ``n_kept``, ``repaired``, ``merged`` and ``rejected``
        (reason → count).

    Examples
    --------
    >>> r = read_report("x.csv", [None, "empty geometry", "merged: same plant", None], 1)
    >>> r["n_kept"], r["merged"], r["rejected"]
    (2, {'same plant': 1}, {'empty geometry': 1})
    """
    reasons = pd.Series(np.asarray(reasons, dtype=object), dtype=object)
    counts = reasons.dropna().astype(str).value_counts()
    merged = {k[len(MERGED):]: int(counts[k]) for k in sorted(counts.index) if k.startswith(MERGED)}
    rejected = {k: int(counts[k]) for k in sorted(counts.index) if not k.startswith(MERGED)}
    return {
        "source": source,
        "n_read": len(reasons),
        "n_kept": len(reasons) - int(counts.sum()),
        "repaired": int(repaired),
        "merged": merged,
        "rejected": rejected,
    }


def combine_reports(source: str, reports: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Add up the read reports of several sources; the parts are kept under ``"parts"``.

    Examples
    --------
    >>> a = read_report("a", [None, "empty geometry"], 0)
    >>> b = read_report("b", ["empty geometry", None, None], 1)
    >>> c = combine_reports("both", [a, b])
    >>> c["n_read"], c["n_kept"], c["repaired"], c["merged"], c["rejected"]
    (5, 3, 1, {}, {'empty geometry': 2})
    """
    parts = [dict(r) for r in reports]
    totals: dict[str, dict[str, int]] = {"merged": {}, "rejected": {}}
    for part in parts:
        for key, counts in totals.items():
            for reason, count in (part.get(key) or {}).items():
                counts[reason] = counts.get(reason, 0) + int(count)
    return {
        "source": source,
        "n_read": sum(int(p["n_read"]) for p in parts),
        "n_kept": sum(int(p["n_kept"]) for p in parts),
        "repaired": sum(int(p["repaired"]) for p in parts),
        "merged": dict(sorted(totals["merged"].items())),
        "rejected": dict(sorted(totals["rejected"].items())),
        "parts": parts,
    }


def resolve_sensitivity(
    sensitivity: int | Mapping[str, int] | None,
    category: pd.Series,
    given: pd.Series | None,
) -> tuple[pd.Series | None, list[str]]:
    """Per-row sensitivity from the reader's argument, else from the file's own column.

    Parameters
    ----------
    sensitivity : int, mapping or None
        One value for every row, or a value per category (rows of other categories keep
        ``given`` or their default), or None to use ``given``.
    category : pandas.Series
        The rows' categories.
    given : pandas.Series or None
        The file's ``sensitivity`` column, if it has one.

    Returns
    -------
    (pandas.Series or None, list of str)
        The values (NA = the category's default; None = all defaults) and the problems found.

    Examples
    --------
    >>> import pandas as pd
    >>> s, problems = resolve_sensitivity({"airport": 4}, pd.Series(["airport", "dam"]), None)
    >>> s.tolist(), problems
    ([4.0, nan], [])
    """
    if sensitivity is None:
        return given, []
    if isinstance(sensitivity, Mapping):
        unknown = sorted(str(k) for k in sensitivity if k not in CATEGORIES)
        if unknown:
            return None, [
                f"sensitivity mapping has unknown categories {unknown} "
                f"(expected keys among {', '.join(CATEGORIES)})"
            ]
        values = category.map({k: float(v) for k, v in sensitivity.items()}).astype(float)
        if given is not None:
            values = values.where(values.notna(), pd.to_numeric(given, errors="coerce"))
        return values, []
    if isinstance(sensitivity, bool) or not isinstance(sensitivity, int | np.integer):
        return None, [f"sensitivity={sensitivity!r}: expected an integer 1-5 or a mapping"]
    return pd.Series(float(sensitivity), index=category.index), []


def build_sites(
    records: pd.DataFrame,
    geometry: npt.ArrayLike,
    *,
    path: str,
    problems: Sequence[str] = (),
    id_hint: str = "",
) -> gpd.GeoDataFrame:
    """Build the canonical sites table from a reader's records.

    Parameters
    ----------
    records : pandas.DataFrame
        One row per feature read, with :data:`RECORD_COLUMNS`: ``site_id`` (str; ids the
        reader derived from the geometry have ``id_derived`` True), ``name`` (NA or blank →
        the site id), ``category``, ``radius_m`` (for points and lines), ``source``; optionally
        ``reason`` (a rejection the reader already decided, e.g. bad coordinates),
        ``geometry_origin`` (kept for polygons) and the columns of :data:`PASSTHROUGH`.
    geometry : array_like of shapely.Geometry or None
        Aligned with ``records``, in EPSG:4326.
    path : str
        The source, for messages and the read report.
    problems : sequence of str
        Problems the reader found; reported together with the builder's own.
    id_hint : str
        Appended to the message about repeated ids (e.g. how to choose another id field).

    Returns
    -------
    geopandas.GeoDataFrame
        The output of :func:`sites.schema.make_sites`, with ``attrs["read_report"]``.

    Raises
    ------
    SiteDataError
        With every problem found: the reader's, and ids that the source repeats. Repeated
        *derived* ids (identical geometry) get a suffix ``-2``, ``-3``, ... in file order instead.

    Examples
    --------
    >>> import pandas as pd, shapely
    >>> rec = pd.DataFrame({"site_id": ["a", "b"], "id_derived": False, "name": ["A", None],
    ...                     "category": "dam", "radius_m": 200.0, "source": ["f:1", "f:2"]})
    >>> out = build_sites(rec, [shapely.Point(135.0, 35.0), None], path="f")
    >>> out.loc[0, ["site_id", "geometry_origin"]].tolist(), out.attrs["read_report"]["rejected"]
    (['a', 'point+200m'], {'missing geometry': 1})
    """
    problems = list(problems)
    missing = [c for c in RECORD_COLUMNS if c not in records]
    if missing:
        raise SiteDataError(f"{path}: reader records lack the columns {missing}")
    records = records.reset_index(drop=True)
    polys = to_site_polygons(geometry, records["radius_m"].to_numpy(dtype=float))
    reason = polys.reason.copy()
    if "reason" in records:
        early = records["reason"].to_numpy(dtype=object)
        decided = pd.notna(early)
        reason[decided] = early[decided]
    keep = pd.isna(reason)
    kept = records.loc[keep].reset_index(drop=True)

    site_id = kept["site_id"].astype("string")
    rank = site_id.groupby(site_id, dropna=False).cumcount()
    derived = kept["id_derived"].to_numpy(dtype=bool)
    repeated = (rank > 0).to_numpy()
    suffix = derived & repeated
    site_id = site_id.where(~suffix, site_id + "-" + (rank + 1).astype("string"))
    clash = repeated & ~derived
    if clash.any():
        ids = sorted(set(site_id[clash]))
        problems.append(
            f"{len(ids)} ids repeated, e.g. {ids[:5]}; ids must be unique within a source"
            + (f" ({id_hint})" if id_hint else "")
        )
    if problems:
        raise SiteDataError(f"{path}: " + "; ".join(problems))

    name = kept["name"].astype("string").str.strip()
    name = name.where(name.notna() & (name != ""), site_id)
    origin = pd.Series(polys.origin[keep], dtype="string")
    if "geometry_origin" in kept:
        # a polygon written by this package keeps the origin it was built from
        given = kept["geometry_origin"].astype("string")
        origin = given.where(given.notna() & (origin == "polygon"), origin)
    columns: dict[str, Any] = {
        "site_id": site_id,
        "name": name,
        "category": kept["category"].astype("string"),
        "source": kept["source"].astype("string"),
        "geometry_origin": origin,
    }
    columns.update({c: kept[c] for c in PASSTHROUGH if c in kept})
    frame = gpd.GeoDataFrame(columns, geometry=polys.geometry[keep], crs="EPSG:4326")
    sites = make_sites(frame, source=path)
    sites.attrs["read_report"] = read_report(path, reason, int(polys.repaired[keep].sum()))
    return sites
