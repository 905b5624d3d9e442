"""An analyst's corrections to a catalogue: sensitivity per category or per site, new categories.

Default sensitivities are the taxonomy's (:data:`sites.taxonomy.DEFAULT_SENSITIVITY`: nuclear 5,
military 5, government 4, power plant 3, dam 3, airport 3, port 2, prison 2, other 1). An
override file changes them, as TOML::

    [categories]            # every site of a category
    airport = 4

    [sites]                 # single sites, by site_id
    "icao:RJTT" = 5                                   # sensitivity only
    "osm:way/123" = { category = "government", sensitivity = 4 }

or as CSV with the columns ``site_id``, ``category``, ``sensitivity``: a row with a ``site_id``
changes that site (its ``category`` if given, its ``sensitivity`` if given); a row without one
sets the ``sensitivity`` of every site of its ``category``.

Precedence: a site's own sensitivity beats its category's; a category's beats what the source
said; a site moved to another category without a sensitivity of its own takes that category's
(overridden or default). Overrides for site ids that the catalogue does not hold are reported in
``attrs["overrides"]["unmatched"]``, not treated as errors: one file can serve several
catalogues.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from sites.errors import SiteDataError
from sites.schema import make_sites
from sites.taxonomy import CATEGORIES, DEFAULT_SENSITIVITY

__all__ = ["SiteOverrides", "apply_overrides", "read_overrides"]


@dataclass(frozen=True)
class SiteOverrides:
    """Sensitivity per category, and category and/or sensitivity per site."""

    #: category → sensitivity
    categories: Mapping[str, int] = field(default_factory=dict)
    #: site_id → {"category": str, "sensitivity": int} (either may be absent)
    sites: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: where they were read from, for messages and reports
    source: str = "overrides"


def _sensitivity(value: object, where: str, problems: list[str]) -> int | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        number = float("nan")
    if isinstance(value, bool) or number not in (1, 2, 3, 4, 5):
        problems.append(f"{where}: sensitivity {value!r} is not an integer 1-5")
        return None
    return int(number)


def _category(value: object, where: str, problems: list[str]) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    text = str(value).strip()
    if text not in CATEGORIES:
        problems.append(
            f"{where}: category {text!r} is not one of {', '.join(CATEGORIES)}"
        )
        return None
    return text


def read_overrides(path: str | PathLike[str]) -> SiteOverrides:
    r"""Read an override file (``.toml`` or ``.csv``; see the module notes).

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    SiteOverrides

    Raises
    ------
    SiteDataError
        Listing every problem: unknown categories, sensitivities outside 1-5, unknown keys or
        columns, a site listed twice, a row that says nothing.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = '[categories]\nairport = 4\n[sites]\n"icao:RJTT" = 5\n'
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "o.toml")
    ...     _ = p.write_text(text)
    ...     o = read_overrides(p)
    >>> dict(o.categories), dict(o.sites)
    ({'airport': 4}, {'icao:RJTT': {'sensitivity': 5}})
    """
    path = Path(path)
    if not path.exists():
        raise SiteDataError(f"{path}: no such file (expected a .toml or .csv override file)")
    problems: list[str] = []
    if path.suffix.lower() == ".toml":
        entries = _toml_entries(path, problems)
    elif path.suffix.lower() == ".csv":
        entries = _csv_entries(path)
    else:
        raise SiteDataError(f"{path}: unknown override format (expected .toml or .csv)")
    categories: dict[str, int] = {}
    sites: dict[str, dict[str, Any]] = {}
    for where, site_id, category, sensitivity in entries:
        cat = _category(category, where, problems)
        sens = _sensitivity(sensitivity, where, problems)
        if site_id:
            if site_id in sites:
                problems.append(f"{where}: site {site_id!r} is listed twice")
            elif category in (None, "") and sensitivity in (None, ""):
                problems.append(f"{where}: site {site_id!r} has neither category nor sensitivity")
            sites[site_id] = {k: v for k, v in (("category", cat), ("sensitivity", sens)) if v}
        elif cat is not None:
            if sensitivity in (None, ""):
                problems.append(f"{where}: category {cat!r} without a sensitivity")
            elif cat in categories:
                problems.append(f"{where}: category {cat!r} is listed twice")
            if sens is not None:
                categories[cat] = sens
        elif category in (None, ""):
            problems.append(f"{where}: neither a site_id nor a category")
    if problems:
        raise SiteDataError(f"{path}: " + "; ".join(problems))
    return SiteOverrides(categories=categories, sites=sites, source=str(path))


Entry = tuple[str, str | None, object, object]


def _toml_entries(path: Path, problems: list[str]) -> list[Entry]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SiteDataError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(doc) - {"categories", "sites"})
    if unknown:
        problems.append(f"unknown table {unknown} (expected [categories] and [sites])")
    entries: list[Entry] = []
    for cat, value in (doc.get("categories") or {}).items():
        entries.append((f"[categories] {cat}", None, cat, value))
    for site_id, value in (doc.get("sites") or {}).items():
        where = f"[sites] {site_id!r}"
        if isinstance(value, Mapping):
            extra = sorted(set(value) - {"category", "sensitivity"})
            if extra:
                problems.append(f"{where}: unknown keys {extra} (expected category, sensitivity)")
            entries.append((where, str(site_id), value.get("category"), value.get("sensitivity")))
        else:
            entries.append((where, str(site_id), None, value))
    return entries


def _csv_entries(path: Path) -> list[Entry]:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SiteDataError(f"{path}: cannot read as CSV ({exc})") from None
    columns = [c.strip() for c in table.columns]
    table.columns = pd.Index(columns)
    allowed = {"site_id", "category", "sensitivity"}
    unknown = sorted(set(columns) - allowed)
    if unknown or not ({"site_id", "category"} & set(columns)):
        raise SiteDataError(
            f"{path}: columns {columns}; expected site_id and/or category, and sensitivity"
            + (f" (unknown: {unknown})" if unknown else "")
        )
    for col in allowed - set(columns):
        table[col] = None
    table = table.astype(object).where(table.notna(), None)
    return [
        (f"row {i + 2}", (r["site_id"] or "").strip() or None, r["category"], r["sensitivity"])
        for i, r in enumerate(table.to_dict("records"))
    ]


def apply_overrides(
    sites: gpd.GeoDataFrame, overrides: SiteOverrides | str | PathLike[str]
) -> gpd.GeoDataFrame:
    """Apply an analyst's overrides to a sites table.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        A sites table. Not modified.
    overrides : SiteOverrides or path
        Overrides, or a file to read them from (:func:`read_overrides`).

    Returns
    -------
    geopandas.GeoDataFrame
        The sites table with the changes, its other ``attrs`` kept, and
        ``attrs["overrides"]``: ``source``, ``sites_changed`` (how many sites a per-site entry
        changed), ``by_category`` (category → sites whose sensitivity it set) and
        ``unmatched`` (site ids not in the table).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from sites import make_sites
    >>> s = make_sites(gpd.GeoDataFrame({"site_id": ["a", "b"], "name": ["A", "B"],
    ...     "category": ["airport", "dam"]}, geometry=[shapely.box(0, 0, 1, 1)] * 2,
    ...     crs="EPSG:4326"))
    >>> o = SiteOverrides(categories={"airport": 4}, sites={"b": {"category": "military"}})
    >>> out = apply_overrides(s, o)
    >>> out[["category", "sensitivity"]].values.tolist()
    [['airport', 4], ['military', 5]]
    """
    if not isinstance(overrides, SiteOverrides):
        overrides = read_overrides(overrides)
    out = pd.DataFrame(sites).copy()
    ids = out["site_id"].astype(str)
    per_site = pd.DataFrame.from_dict(
        {k: dict(v) for k, v in overrides.sites.items()}, orient="index",
        columns=["category", "sensitivity"],
    )
    matched = per_site.reindex(ids.to_numpy())
    matched.index = out.index
    new_cat = matched["category"].where(matched["category"].notna(), out["category"])
    moved = new_cat.astype(str) != out["category"].astype(str)
    sensitivity = out["sensitivity"].astype(float)
    sensitivity[moved] = new_cat[moved].map(DEFAULT_SENSITIVITY).astype(float)
    by_category = {}
    for cat, value in overrides.categories.items():
        hit = (new_cat == cat).to_numpy()
        sensitivity[hit] = float(value)
        by_category[cat] = int(hit.sum())
    own = matched["sensitivity"].notna()
    sensitivity[own] = matched.loc[own, "sensitivity"].astype(float)
    out["category"] = new_cat
    out["sensitivity"] = sensitivity.astype("int64")
    result = make_sites(
        gpd.GeoDataFrame(out, geometry="geometry", crs=sites.crs), source=overrides.source
    )
    result.attrs.update({k: v for k, v in sites.attrs.items() if k != "overrides"})
    found = set(ids)
    result.attrs["overrides"] = {
        "source": overrides.source,
        "sites_changed": int(matched.notna().any(axis=1).sum()),
        "by_category": by_category,
        "unmatched": sorted(k for k in overrides.sites if k not in found),
    }
    return result
