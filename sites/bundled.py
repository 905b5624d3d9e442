"""Site catalogues shipped with the package, for demos and offline use.

``japan``
    97 airport areas of which 85 have a polygon (MLIT National Land Numerical Information C28),
    737 military sites as points (OpenStreetMap), 71 nuclear reactors (GeoNuclearData, of which
    66 have coordinates) and the four hand-drawn boxes of Tokyo's government district covered by
    the Small Unmanned Aircraft Prohibition Act (approximate, not official). Sources, licences
    and the required attributions are in ``sites/data/ATTRIBUTION.md``.

The files are read through :func:`sites.read_sites` and :func:`sites.read_point_catalog`, so a
bundled catalogue obeys exactly the rules of a user's own files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

import geopandas as gpd
import pandas as pd

from sites.build import combine_reports
from sites.catalogs import read_point_catalog
from sites.errors import SiteDataError
from sites.schema import make_sites
from sites.vector import read_sites

__all__ = ["BUNDLED", "bundled"]

Reader = Callable[..., gpd.GeoDataFrame]

#: Each bundled catalogue: its files in ``sites/data/``, the reader and its options.
BUNDLED: Mapping[str, tuple[tuple[str, Reader, Mapping[str, Any]], ...]] = {
    "japan": (
        ("airport_surfaces.geojson", read_sites, {}),
        ("military_bases.geojson", read_sites, {}),
        ("nuclear_power_plants_jp.csv", read_point_catalog, {"kind": "geonucleardata"}),
        ("no_fly_red.geojson", read_sites, {"id_prefix": "jp-nofly"}),
    ),
}


def bundled(name: str = "japan") -> gpd.GeoDataFrame:
    """Return a site catalogue shipped with the package.

    Parameters
    ----------
    name : str
        One of :data:`BUNDLED` (``"japan"``).

    Returns
    -------
    geopandas.GeoDataFrame
        The sites table (see :mod:`sites.schema`), with ``attrs["read_report"]`` adding up
        the reports of its files (each under ``"parts"``).

    Raises
    ------
    SiteDataError
        If ``name`` is not a bundled catalogue.

    Examples
    --------
    >>> s = bundled("japan")
    >>> sorted(s["category"].unique())
    ['airport', 'government', 'military', 'nuclear']
    >>> s.attrs["read_report"]["n_kept"] == len(s)
    True
    """
    if name not in BUNDLED:
        raise SiteDataError(f"bundled({name!r}): no such catalogue (available: {sorted(BUNDLED)})")
    data = resources.files("sites") / "data"
    parts = []
    for filename, reader, options in BUNDLED[name]:
        # as_file gives a real path even when the package is installed as a zip
        with resources.as_file(data / filename) as path:
            parts.append(reader(path, **options))
    combined = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326")
    sites = make_sites(combined, source=f"bundled({name!r})")
    sites.attrs["read_report"] = combine_reports(
        f"bundled:{name}", [p.attrs["read_report"] for p in parts]
    )
    return sites
