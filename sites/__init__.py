"""Read sensitive-site sources of every supported kind into one canonical sites table.

The columns are fixed in :mod:`sites.schema`; categories and default sensitivities in
:mod:`sites.taxonomy`. :func:`read_any` reads any source, choosing the reader from the file
(:mod:`sites.sources`); :func:`merge_sites` combines sources and folds duplicates together;
:func:`apply_overrides` applies an analyst's sensitivity and category corrections. This package
knows nothing about flights.
"""

from __future__ import annotations

from sites.bundled import bundled
from sites.catalogs import read_point_catalog
from sites.errors import SiteDataError
from sites.geozones import read_geozones
from sites.merge import merge_sites
from sites.osm import read_osm
from sites.overrides import SiteOverrides, apply_overrides, read_overrides
from sites.runways import read_runways
from sites.schedule import is_active
from sites.schema import SITE_COLUMNS, make_sites
from sites.sources import read_any, read_spec, source_kind
from sites.taxonomy import CATEGORIES, DEFAULT_SENSITIVITY, POINT_RADIUS_M
from sites.vector import read_sites

__all__ = [
    "CATEGORIES",
    "DEFAULT_SENSITIVITY",
    "POINT_RADIUS_M",
    "SITE_COLUMNS",
    "SiteDataError",
    "SiteOverrides",
    "apply_overrides",
    "bundled",
    "is_active",
    "make_sites",
    "merge_sites",
    "read_any",
    "read_geozones",
    "read_osm",
    "read_overrides",
    "read_point_catalog",
    "read_runways",
    "read_sites",
    "read_spec",
    "source_kind",
]
