"""Read sensitive-site sources of every supported kind into one canonical sites table.

The columns are fixed in :mod:`sites.schema`; categories and default sensitivities in
:mod:`sites.taxonomy`. This package knows nothing about flights.
"""

from __future__ import annotations

from sites.bundled import bundled
from sites.catalogs import read_point_catalog
from sites.errors import SiteDataError
from sites.schema import SITE_COLUMNS, make_sites
from sites.taxonomy import CATEGORIES, DEFAULT_SENSITIVITY, POINT_RADIUS_M
from sites.vector import read_sites

__all__ = [
    "CATEGORIES",
    "DEFAULT_SENSITIVITY",
    "POINT_RADIUS_M",
    "SITE_COLUMNS",
    "SiteDataError",
    "bundled",
    "make_sites",
    "read_point_catalog",
    "read_sites",
]
