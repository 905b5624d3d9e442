"""Merge site tables read from several sources, folding the duplicates together.

Two sites from *different* sources (different tables given to :func:`merge_sites`) describe the
same place when they have the same category and

- both are real polygons (a drawn or published outline, a runway, a geozone, a circle a zone
  file publishes): they overlap by at least :data:`MIN_OVERLAP` (half) of the smaller one's
  area, as a runway lies inside its airport's outline;
- either is a point or line buffered by this package (``geometry_origin`` ``point+…`` or
  ``line+…``): the two shapes intersect and each is the other's nearest such candidate in its
  source (mutual nearest, by centroid distance), so that one airport reference point is not
  folded into every runway, and one catalogue's plant not into two neighbouring plants of
  another;
- or they carry the same ``site_id`` (the same file read twice).

UAS geozones (rows with a ``restriction``) are never merged by geometry: a zone is a legal
volume with its own limits and schedule, drawn around a facility rather than another drawing of
it, and a runway inside an airport's control zone is not the zone.

The better geometry is kept: a real polygon before a buffered point, then the larger area, then
the earlier source; it keeps its ``site_id``, name, limits and schedule. Chains fold into the
best (a reference point into a runway into the airport's outline). ``source`` lists every
provenance, the kept site's first, joined with ``"; "``; ``sensitivity`` is the highest of the
group. The merged rows are counted in the read report's ``merged``
(``"duplicate <category> from another source"``), so that, over all sources,
``n_read == n_kept + sum(merged) + sum(rejected)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from sites.build import combine_reports
from sites.errors import SiteDataError
from sites.schema import make_sites

__all__ = ["MIN_OVERLAP", "duplicate_pairs", "merge_sites"]

#: Share of the smaller polygon's area two polygons must have in common to be one site.
MIN_OVERLAP = 0.5


def _buffered(origin: pd.Series) -> npt.NDArray[np.bool_]:
    text = origin.astype("string").fillna("")
    return (text.str.startswith("point+") | text.str.startswith("line+")).to_numpy(dtype=bool)


def duplicate_pairs(sites: gpd.GeoDataFrame, part: npt.ArrayLike) -> pd.DataFrame:
    """Find the pairs of sites from different parts that describe the same place.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        A sites table (EPSG:4326).
    part : array_like of int
        The source of each row; only rows of different parts are compared.

    Returns
    -------
    pandas.DataFrame
        ``worse``, ``better`` (row positions) of each duplicate pair, by the rules of the
        module notes, and ``rank`` (the better row's rank among all rows, higher is better).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> s = gpd.GeoDataFrame({"site_id": ["a", "b"], "category": ["dam", "dam"],
    ...     "geometry_origin": ["polygon", "point+200m"]},
    ...     geometry=[shapely.box(0, 0, 0.01, 0.01), shapely.Point(0.005, 0.005).buffer(0.002)],
    ...     crs="EPSG:4326")
    >>> duplicate_pairs(s, [0, 1]).to_dict("records")
    [{'worse': 1, 'better': 0, 'rank': 1}]
    """
    part = np.asarray(part)
    geoms = np.asarray(sites.geometry.array, dtype=object)
    category = sites["category"].astype(str).to_numpy()
    buffered = _buffered(sites["geometry_origin"])
    area = shapely.area(geoms)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    zone = (
        sites["restriction"].notna().to_numpy(dtype=bool)
        if "restriction" in sites
        else np.zeros(len(sites), dtype=bool)
    )
    cand = (left < right) & (part[left] != part[right]) & (category[left] == category[right])
    cand &= ~zone[left] & ~zone[right]
    left, right = left[cand], right[cand]
    poly = ~buffered[left] & ~buffered[right]
    shared = np.zeros(len(left), dtype=float)
    if poly.any():
        inter = shapely.area(shapely.intersection(geoms[left[poly]], geoms[right[poly]]))
        shared[poly] = inter / np.minimum(area[left[poly]], area[right[poly]])
    same_poly = poly & (shared >= MIN_OVERLAP)
    loose = ~poly
    if loose.any():
        loose[loose] = _mutual_nearest(geoms, part, left[loose], right[loose])
    # the same id in two parts is the same site whatever its geometry
    ids = pd.Series(sites["site_id"].astype(str).to_numpy())
    unique = ~ids.duplicated().to_numpy()
    lookup = pd.Series(np.flatnonzero(unique), index=ids[unique].to_numpy())
    first = lookup.loc[ids.to_numpy()].to_numpy(dtype=np.intp)
    again = np.flatnonzero((first != np.arange(len(ids))) & (part[first] != part))
    dup_left = np.concatenate([left[same_poly | loose], first[again]])
    dup_right = np.concatenate([right[same_poly | loose], again])
    # rank: a real polygon before a buffered one, then the larger area, then the earlier row
    rank = np.lexsort((-np.arange(len(geoms)), area, ~buffered))
    score = np.empty(len(geoms), dtype=np.int64)
    score[rank] = np.arange(len(geoms))
    left_better = score[dup_left] > score[dup_right]
    better = np.where(left_better, dup_left, dup_right)
    pairs = pd.DataFrame(
        {
            "worse": np.where(left_better, dup_right, dup_left),
            "better": better,
            "rank": score[better],
        }
    ).drop_duplicates()
    return pairs.reset_index(drop=True)


def _mutual_nearest(
    geoms: npt.NDArray[np.object_],
    part: npt.NDArray[Any],
    left: npt.NDArray[np.intp],
    right: npt.NDArray[np.intp],
) -> npt.NDArray[np.bool_]:
    """Keep the pairs whose members are each other's nearest candidate in the other's part."""
    centre = shapely.centroid(geoms)
    dist = shapely.distance(centre[left], centre[right])
    both = pd.DataFrame(
        {
            "a": np.concatenate([left, right]),
            "b": np.concatenate([right, left]),
            "d": np.concatenate([dist, dist]),
        }
    )
    both["part_b"] = part[both["b"].to_numpy()]
    nearest = both.loc[both.groupby(["a", "part_b"])["d"].idxmin(), ["a", "b"]]
    # a pair is mutual when (a, b) and (b, a) were both chosen
    mutual = nearest.merge(nearest, left_on=["a", "b"], right_on=["b", "a"])[["a_x", "b_x"]]
    mutual.columns = pd.Index(["a", "b"])
    asked = pd.DataFrame({"a": left, "b": right, "row": np.arange(len(left))})
    found = asked.merge(mutual, on=["a", "b"])["row"].to_numpy()
    out = np.zeros(len(left), dtype=bool)
    out[found] = True
    return out


def merge_sites(
    frames: Sequence[gpd.GeoDataFrame], *, names: Sequence[str] | None = None
) -> gpd.GeoDataFrame:
    """Combine site tables from several sources into one, merging duplicates across sources.

    Parameters
    ----------
    frames : sequence of geopandas.GeoDataFrame
        Sites tables, one per source (as the readers return them). Not modified.
    names : sequence of str, optional
        A name per source for the report; default: each table's ``read_report["source"]``.

    Returns
    -------
    geopandas.GeoDataFrame
        The sites table, with ``attrs["read_report"]`` adding up the sources' reports (each
        under ``"parts"``) plus the merges, and ``attrs["merges"]``: one record per merged site
        (``site_id``, ``into``, ``category``).

    Raises
    ------
    SiteDataError
        If no table is given or a table is not a sites table.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from sites import make_sites
    >>> outline = make_sites(gpd.GeoDataFrame({"site_id": ["jp:1"], "name": ["Airport"],
    ...     "category": ["airport"], "source": ["outlines.geojson:1"]},
    ...     geometry=[shapely.box(139.7, 35.5, 139.8, 35.6)], crs="EPSG:4326"))
    >>> point = make_sites(gpd.GeoDataFrame({"site_id": ["icao:X"], "name": ["X"],
    ...     "category": ["airport"], "source": ["airports.csv:X"],
    ...     "geometry_origin": ["point+1500m"]},
    ...     geometry=[shapely.Point(139.75, 35.55).buffer(0.01)], crs="EPSG:4326"))
    >>> m = merge_sites([point, outline], names=["points", "outlines"])
    >>> m[["site_id", "source"]].values.tolist()
    [['jp:1', 'outlines.geojson:1; airports.csv:X']]
    >>> m.attrs["read_report"]["merged"]
    {'duplicate airport from another source': 1}
    """
    if not frames:
        raise SiteDataError("merge_sites: no site tables given")
    reports = []
    for k, frame in enumerate(frames):
        report = dict(frame.attrs.get("read_report") or {})
        name = names[k] if names is not None else report.get("source", f"table {k + 1}")
        if not report:
            report = {"n_read": len(frame), "n_kept": len(frame), "repaired": 0,
                      "merged": {}, "rejected": {}}
        report["source"] = str(name)
        reports.append(report)
    part = np.concatenate([np.full(len(f), k) for k, f in enumerate(frames)])
    combined = gpd.GeoDataFrame(
        pd.concat([pd.DataFrame(f) for f in frames], ignore_index=True),
        geometry="geometry",
        crs="EPSG:4326",
    )
    pairs = duplicate_pairs(combined, part)
    root = _roots(len(combined), pairs)
    merged_rows = np.flatnonzero(root != np.arange(len(combined)))

    row = np.arange(len(combined))
    sources = np.array(combined["source"].astype("string").fillna(""), dtype=object)
    ids = combined["site_id"].astype(str).to_numpy(dtype=object)
    cats = combined["category"].astype(str).to_numpy(dtype=object)
    grouped = np.flatnonzero(np.isin(root, root[merged_rows]))
    # the kept site's own provenance first, then the merged ones in source order
    order = grouped[np.lexsort((grouped, root[grouped] != grouped, root[grouped]))]
    joined = pd.Series(sources[order]).groupby(root[order], sort=False).agg("; ".join)
    sources[joined.index.to_numpy()] = joined.to_numpy()
    top = pd.Series(combined["sensitivity"].to_numpy()).groupby(root).max()
    keep = np.flatnonzero(root == row)
    out = combined.iloc[keep].copy()
    out["source"] = sources[keep]
    out["sensitivity"] = top.reindex(keep).to_numpy()
    result = make_sites(gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326"),
                        source="merge_sites")
    merges = pd.DataFrame(
        {"site_id": ids[merged_rows], "into": ids[root[merged_rows]], "category": cats[merged_rows]}
    )
    report = combine_reports("merged", reports)
    counts = merges["category"].value_counts()
    for category, count in counts.items():
        key = f"duplicate {category} from another source"
        report["merged"][key] = report["merged"].get(key, 0) + int(count)
    report["merged"] = dict(sorted(report["merged"].items()))
    report["n_kept"] = len(result)
    result.attrs["read_report"] = report
    result.attrs["merges"] = merges.to_dict("records")
    return result


def _roots(n: int, pairs: pd.DataFrame) -> npt.NDArray[np.int64]:
    """Follow each site to the best site it merges into (itself when it is kept)."""
    parent = np.arange(n, dtype=np.int64)
    if len(pairs):
        # each worse site merges into its best partner; partners are strictly better, so the
        # pointers form a forest and pointer jumping reaches the roots
        best = pairs.loc[pairs.groupby("worse")["rank"].idxmax()]
        parent[best["worse"].to_numpy(dtype=np.int64)] = best["better"].to_numpy(dtype=np.int64)
    while True:
        nxt = parent[parent]
        if np.array_equal(nxt, parent):
            return parent
        parent = nxt
