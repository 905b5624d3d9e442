"""One entry point for every site source: tell what a file is, and read it with the right reader.

How a source is recognised (:func:`source_kind`), in order, and the reader it goes to:

``bundled`` (:func:`sites.bundled`)
    The text ``bundled:<name>``.
``osm`` (:func:`sites.read_osm`)
    ``.osm``, or XML whose root is ``<osm``; JSON with an ``"elements"`` list of
    ``node``/``way``/``relation`` (Overpass).
``geozones`` (:func:`sites.read_geozones`)
    JSON naming ``UASZoneList``, ``horizontalProjection`` or ``uomDimensions`` (ED-269), or a
    ``layer`` with ``lowerReference``/``upperReference`` (ED-318); also alone inside a ``.zip``.
``runways`` (:func:`sites.read_runways`)
    CSV with OurAirports' runway columns (``le_latitude_deg``, ...).
``point_catalog`` (:func:`sites.read_point_catalog`)
    Any other CSV (the known point catalogues).
``vector`` (:func:`sites.read_sites`)
    Everything else: GeoJSON, GeoPackage, Shapefile (or a zip of one), KML/KMZ, FlatGeobuf,
    GeoParquet.

JSON is told apart from its first mebibyte, so a large plain GeoJSON file is not parsed twice.

On the command line a source may carry its reader's options after ``::``, one ``key=value``
each (:func:`split_spec`): ``plants.geojson::category=power_plant::name_field=NAME``. Values
are converted to what the option takes (a number, ``true``/``false``, a comma-separated list
for ``airports``); options that take a mapping (per-category sensitivity) take one value here,
the overrides file (:mod:`sites.overrides`) does the rest.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd

from sites.archive import list_members, read_head
from sites.bundled import bundled
from sites.catalogs import read_point_catalog
from sites.errors import SiteDataError
from sites.geozones import read_geozones
from sites.osm import read_osm
from sites.runways import read_runways
from sites.vector import read_sites

__all__ = ["READERS", "read_any", "read_spec", "source_kind", "split_spec"]

#: The reader of each kind of source.
READERS: dict[str, Callable[..., gpd.GeoDataFrame]] = {
    "bundled": bundled,
    "osm": read_osm,
    "geozones": read_geozones,
    "runways": read_runways,
    "point_catalog": read_point_catalog,
    "vector": read_sites,
}

_HEAD = 1 << 20
_ED269 = re.compile(rb'"(UASZoneList|horizontalProjection|uomDimensions)"')
_ED318 = re.compile(rb'"(lowerReference|upperReference)"')
_OVERPASS = re.compile(rb'"elements"\s*:')
_OSM_TYPE = re.compile(rb'"type"\s*:\s*"(node|way|relation)"')
_VECTOR_IN_ZIP = (".shp", ".gpkg", ".fgb", ".kml")


def _json_kind(head: bytes) -> str:
    if _ED269.search(head) or _ED318.search(head):
        return "geozones"
    if _OVERPASS.search(head) and _OSM_TYPE.search(head):
        return "osm"
    return "vector"


def source_kind(source: str | PathLike[str]) -> str:
    """Tell what kind of site source a path (or ``bundled:NAME``) is.

    Parameters
    ----------
    source : str or path-like
        A file, or ``bundled:<name>``.

    Returns
    -------
    str
        One of :data:`READERS`.

    Raises
    ------
    SiteDataError
        If the file does not exist.

    Examples
    --------
    >>> source_kind("bundled:japan")
    'bundled'
    """
    text = str(source)
    if text.startswith("bundled:"):
        return "bundled"
    path = Path(source)
    if not path.exists():
        raise SiteDataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".osm":
        return "osm"
    if suffix == ".csv":
        with path.open("rb") as handle:
            header = handle.readline()
        return "runways" if b"le_latitude_deg" in header else "point_catalog"
    if suffix == ".zip":
        members = list_members(path)
        if any(m.lower().endswith(_VECTOR_IN_ZIP) for m in members):
            return "vector"
        found = [m for m in members if m.lower().endswith((".json", ".geojson"))]
        return _json_kind(read_head(path, found[0], _HEAD)) if len(found) == 1 else "vector"
    if suffix in (".json", ".geojson", ".xml", ""):
        with path.open("rb") as handle:
            head = handle.read(_HEAD)
        if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            return "osm" if b"<osm" in head else "vector"
        return _json_kind(head)
    return "vector"


_SPEC_SEPARATOR = "::"
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


def split_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split ``SOURCE::key=value::key=value`` into the source and its options (as text).

    Raises
    ------
    SiteDataError
        If an option is not ``key=value`` or a key repeats.

    Examples
    --------
    >>> split_spec("plants.geojson::category=power_plant::name_field=NAME")
    ('plants.geojson', {'category': 'power_plant', 'name_field': 'NAME'})
    >>> split_spec("bundled:japan")
    ('bundled:japan', {})
    """
    source, *parts = spec.split(_SPEC_SEPARATOR)
    options: dict[str, str] = {}
    problems = []
    for part in parts:
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"option {part!r} is not key=value")
        elif key in options:
            problems.append(f"option {key!r} is given twice")
        else:
            options[key] = value.strip()
    if problems:
        raise SiteDataError(f"{spec}: " + "; ".join(problems))
    return source, options


def _convert(source: str, kind: str, key: str, text: str) -> Any:
    """Convert an option given as text to what the ``kind`` reader's parameter takes."""
    parameter = inspect.signature(READERS[kind]).parameters.get(key)
    if parameter is None:
        return text  # read_any names the options this reader takes
    annotation = str(parameter.annotation)
    try:
        if annotation.startswith("bool"):
            if text.lower() not in _TRUE | _FALSE:
                raise ValueError
            return text.lower() in _TRUE
        if annotation.startswith("int"):
            return int(text)
        if annotation.startswith("float"):
            return float(text)
    except ValueError:
        expected = "true or false" if annotation.startswith("bool") else annotation.split()[0]
        raise SiteDataError(
            f"{source}: option {key}={text!r}: expected {expected}"
        ) from None
    if annotation.startswith("Iterable"):
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def read_spec(spec: str) -> gpd.GeoDataFrame:
    """Read a source written as on the command line, ``SOURCE[::key=value...]``.

    Examples
    --------
    >>> len(read_spec("bundled:japan"))
    850
    """
    source, texts = split_spec(spec)
    kind = source_kind(source)
    options = {key: _convert(source, kind, key, text) for key, text in texts.items()}
    return read_any(source, **options)


def read_any(source: str | PathLike[str], **options: Any) -> gpd.GeoDataFrame:
    """Read any site source into the canonical sites table, choosing the reader from it.

    Parameters
    ----------
    source : str or path-like
        A file of any supported kind (see the module notes), or ``bundled:<name>``.
    **options
        Passed to the chosen reader (e.g. ``category=`` for a vector file, ``country=`` for a
        point catalogue, ``lang=`` for geozones).

    Returns
    -------
    geopandas.GeoDataFrame
        The sites table with ``attrs["read_report"]``; the report's ``kind`` names the reader.

    Raises
    ------
    SiteDataError
        If the source cannot be read, or an option does not apply to its kind.

    Examples
    --------
    >>> s = read_any("bundled:japan")
    >>> s.attrs["read_report"]["kind"], len(s)
    ('bundled', 850)
    """
    kind = source_kind(source)
    reader = READERS[kind]
    accepted = set(inspect.signature(reader).parameters) - {"path", "name"}
    wrong = sorted(set(options) - accepted)
    if wrong:
        raise SiteDataError(
            f"{source}: option {', '.join(wrong)} does not apply to a {kind} source "
            f"(it takes {', '.join(sorted(accepted)) or 'no options'})"
        )
    frame = reader(str(source).split(":", 1)[1]) if kind == "bundled" else reader(
        source, **options
    )
    frame.attrs.setdefault("read_report", {"source": str(source)})
    frame.attrs["read_report"]["kind"] = kind
    return frame
