"""Read sensitive sites from OpenStreetMap: ``.osm`` XML and Overpass API JSON.

Which elements are sites, and their category (:data:`OSM_TAGS`; the first rule that matches
an element's tags decides, in the order of the taxonomy):

==============  ======================================================================
category        tags
==============  ======================================================================
``nuclear``     ``power=plant`` with ``plant:source=nuclear``
``military``    ``landuse=military``, or ``military=*`` (any value but ``no``)
``government``  ``office=government``, or ``government=*`` (any value but ``no``)
``power_plant`` ``power=plant`` (any other source)
``dam``         ``waterway=dam``
``airport``     ``aeroway=aerodrome``
``port``        ``landuse=port``
``prison``      ``amenity=prison``
==============  ======================================================================

``amenity=townhall`` is deliberately not mapped: town halls are public buildings open to
visitors, not sites whose imagery is sensitive; relabel them with an override file if needed.
Values listed with ``;`` (``plant:source=nuclear;oil``) match each of their parts. Elements
with none of these tags (the nodes that only shape a way, shops, roads) are not sites and are
not counted in the read report.

Geometry:

- a **node** is a point, and becomes a circle of the category's radius;
- a **way** whose first and last nodes are the same (and not tagged ``area=no``) is a polygon,
  any other way a line, buffered by the radius (a dam crest, an airstrip drawn as a line);
- a **relation** of ``type=multipolygon`` (or ``boundary``) is assembled from its member ways:
  ways that share end nodes are joined into rings (:func:`shapely.line_merge`; a ring may be
  split over any number of ways), and the rings are combined by the even-odd rule (a ring
  inside one ring is a hole, a ring inside a hole an island), which is what the ``outer`` and
  ``inner`` roles describe; the roles themselves are not trusted, as editors often get them
  wrong. Other relation types (``type=site``, ...) are rejected with a reason.
- Overpass ``out geom`` results carry each way's coordinates; plain ``out body`` results need
  the nodes (``>; out skel qt;``); ``out center`` results give only a centre point, which is used
  as a point. A way or relation whose nodes are missing from the extract, or whose rings do not
  close, is rejected with a reason.

``site_id`` is ``osm:<type>/<id>`` (``osm:way/123``, ``osm:relation/456``), ``name`` the
``name`` tag (else ``name:en``; else the id), ``source`` ``<file>:<type>/<id>``.

XML is parsed with :mod:`defusedxml`, which refuses DTDs, entity declarations and external
references, streaming element by element so that a large extract does not sit in memory twice.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import reduce
from os import PathLike
from pathlib import Path
from typing import Any

import defusedxml
import defusedxml.ElementTree as DET
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from sites.build import build_sites, resolve_sensitivity
from sites.errors import SiteDataError
from sites.taxonomy import POINT_RADIUS_M

__all__ = ["OSM_TAGS", "osm_category", "read_osm"]

#: (category, key, accepted values or None for any value but "no", (key, value) also required)
OSM_TAGS: tuple[tuple[str, str, tuple[str, ...] | None, tuple[str, str] | None], ...] = (
    ("nuclear", "power", ("plant",), ("plant:source", "nuclear")),
    ("military", "landuse", ("military",), None),
    ("military", "military", None, None),
    ("government", "office", ("government",), None),
    ("government", "government", None, None),
    ("power_plant", "power", ("plant",), None),
    ("dam", "waterway", ("dam",), None),
    ("airport", "aeroway", ("aerodrome",), None),
    ("port", "landuse", ("port",), None),
    ("prison", "amenity", ("prison",), None),
)

_AREA_RELATIONS = {"multipolygon", "boundary"}


def _values(tags: Mapping[str, str], key: str) -> set[str]:
    return {v.strip() for v in str(tags.get(key, "")).split(";") if v.strip()}


def osm_category(tags: Mapping[str, str]) -> str | None:
    """Decide an OpenStreetMap element's category by :data:`OSM_TAGS` (None: not a site).

    Parameters
    ----------
    tags : mapping
        The element's tags.

    Returns
    -------
    str or None

    Examples
    --------
    >>> osm_category({"power": "plant", "plant:source": "nuclear"})
    'nuclear'
    >>> osm_category({"power": "plant", "plant:source": "coal"})
    'power_plant'
    >>> osm_category({"military": "no", "amenity": "townhall"}) is None
    True
    """
    for category, key, accepted, also in OSM_TAGS:
        found = _values(tags, key)
        if not found:
            continue
        ok = bool(found & set(accepted)) if accepted else bool(found - {"no"})
        if ok and (also is None or also[1] in _values(tags, also[0])):
            return category
    return None


@dataclass
class _Extract:
    """The elements of an OSM file, as parsed."""

    node_id: list[int] = field(default_factory=list)
    node_lon: list[float] = field(default_factory=list)
    node_lat: list[float] = field(default_factory=list)
    #: tagged elements: (type, id, tags, payload); payload is the node's coordinates, the
    #: way's node refs or coordinates, the relation's members
    tagged: list[tuple[str, int, dict[str, str], Any]] = field(default_factory=list)
    #: Overpass ``out center``: the centre of a way or relation, by position in ``tagged``
    centers: dict[int, tuple[float, float]] = field(default_factory=dict)
    #: every way by id: node refs, or coordinates when the file carries them
    ways: dict[int, Any] = field(default_factory=dict)


def read_osm(
    path: str | PathLike[str],
    *,
    sensitivity: int | Mapping[str, int] | None = None,
    point_radius_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Read an OpenStreetMap extract (``.osm`` XML or Overpass JSON) into the sites table.

    Parameters
    ----------
    path : str or path-like
        An ``.osm`` XML file (JOSM, Overpass ``[out:xml]``, osmium) or an Overpass
        ``[out:json]`` result; the format is told from the first character.
    sensitivity : int or mapping, optional
        1-5 for every site, or per category; default: the category's.
    point_radius_m : float, optional
        Radius for nodes and unclosed ways; default: per category.

    Returns
    -------
    geopandas.GeoDataFrame
        The sites table (see :mod:`sites.schema`) with ``attrs["read_report"]``.

    Raises
    ------
    SiteDataError
        If the file is missing, is not OSM XML or Overpass JSON, or declares a DTD or entities.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> xml = '''<osm version="0.6">
    ...  <node id="1" lat="35.0" lon="139.0"/><node id="2" lat="35.0" lon="139.01"/>
    ...  <node id="3" lat="35.01" lon="139.01"/>
    ...  <way id="7"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/>
    ...   <tag k="landuse" v="military"/><tag k="name" v="Camp"/></way>
    ... </osm>'''
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "camp.osm")
    ...     _ = p.write_text(xml)
    ...     s = read_osm(p)
    >>> s.loc[0, ["site_id", "name", "category", "source"]].tolist()
    ['osm:way/7', 'Camp', 'military', 'camp.osm:way/7']
    """
    path = Path(path)
    if not path.exists():
        raise SiteDataError(f"{path}: no such file (expected OSM XML or Overpass JSON)")
    extract = _parse(path)
    problems: list[str] = []
    n = len(extract.tagged)
    kinds = [t[0] for t in extract.tagged]
    ids = [f"{kind}/{ident}" for kind, ident, _, _ in extract.tagged]
    tags = [t[2] for t in extract.tagged]
    category = pd.Series([osm_category(t) for t in tags], dtype=object)
    keep = category.notna().to_numpy()
    geometry = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)
    # A NaN coordinate makes shapely warn while building; the site is then rejected with
    # "coordinates out of range" (sites.geometry), which says it better.
    with np.errstate(invalid="ignore"):
        _node_geometry(extract, kinds, keep, geometry)
        _way_geometry(extract, kinds, keep, geometry, reason)
        _relation_geometry(extract, kinds, keep, geometry, reason)

    sel = np.flatnonzero(keep)
    category = category.iloc[sel].reset_index(drop=True)
    name = pd.Series(
        [tags[i].get("name") or tags[i].get("name:en") for i in sel], dtype="string"
    )
    radius = np.array(category.map(POINT_RADIUS_M), dtype=float)
    if point_radius_m is not None:
        value = float(point_radius_m)
        if not (np.isfinite(value) and value > 0):
            problems.append(f"point_radius_m={point_radius_m!r}: expected a positive number")
        else:
            radius[:] = value
    sens, found = resolve_sensitivity(sensitivity, category, None)
    problems += found
    ref = [ids[i] for i in sel]
    records = pd.DataFrame(
        {
            "site_id": [f"osm:{r}" for r in ref],
            "id_derived": False,
            "name": name,
            "category": category,
            "radius_m": radius,
            "source": [f"{path.name}:{r}" for r in ref],
            "reason": reason[sel],
        }
    )
    if sens is not None:
        records["sensitivity"] = sens.reset_index(drop=True)
    return build_sites(records, geometry[sel], path=str(path), problems=problems)


# --- parsing -----------------------------------------------------------------------------------


def _parse(path: Path) -> _Extract:
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return _parse_xml(path)
    if head.startswith(b"{"):
        return _parse_overpass(path)
    raise SiteDataError(
        f"{path}: neither OSM XML nor Overpass JSON (starts with {head[:20]!r}); "
        "expected <osm ...> or {\"elements\": [...]}"
    )


def _xml_events(path: Path) -> Iterator[ET.Element]:
    try:
        for _, element in DET.iterparse(path, events=("end",), forbid_dtd=True):
            yield element
    except (defusedxml.DefusedXmlException, ET.ParseError, LookupError, ValueError) as exc:
        # (LookupError: an encoding the XML declaration names and Python does not know)
        raise SiteDataError(f"{path}: refused or unreadable OSM XML ({exc})") from None


def _parse_xml(path: Path) -> _Extract:
    out = _Extract()
    pending: list[ET.Element] = []
    root_seen = False
    for element in _xml_events(path):
        tag = element.tag
        if tag in ("tag", "nd", "member"):
            pending.append(element)
            continue
        tags = {c.get("k", ""): c.get("v", "") for c in pending if c.tag == "tag"}
        ident = element.get("id")
        try:
            if tag == "node":
                lon, lat = float(element.get("lon", "nan")), float(element.get("lat", "nan"))
                out.node_id.append(int(ident or ""))
                out.node_lon.append(lon)
                out.node_lat.append(lat)
                if tags:
                    out.tagged.append(("node", int(ident or ""), tags, (lon, lat)))
            elif tag == "way":
                refs = [int(c.get("ref", "")) for c in pending if c.tag == "nd"]
                out.ways[int(ident or "")] = refs
                if tags:
                    out.tagged.append(("way", int(ident or ""), tags, refs))
            elif tag == "relation" and tags:
                members = [
                    (c.get("type"), int(c.get("ref", "")), c.get("role", ""), None)
                    for c in pending
                    if c.tag == "member"
                ]
                out.tagged.append(("relation", int(ident or ""), tags, members))
            elif tag == "osm":
                root_seen = True
        except ValueError:
            raise SiteDataError(
                f"{path}: <{tag} id={ident!r}> has a malformed id, reference or coordinate"
            ) from None
        if tag in ("node", "way", "relation"):
            pending.clear()
            element.clear()
    if not root_seen:
        raise SiteDataError(f"{path}: XML but not OpenStreetMap (expected an <osm> root element)")
    return out


def _coords(points: list[Any] | None) -> npt.NDArray[np.float64] | None:
    """Overpass ``geometry`` ([{lat, lon}, ...], null where clipped) → array, None if incomplete."""
    if not points or any(p is None for p in points):
        return None
    return np.array([[p["lon"], p["lat"]] for p in points], dtype=float)


def _parse_overpass(path: Path) -> _Extract:
    try:
        doc = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SiteDataError(f"{path}: not valid JSON ({exc})") from None
    elements = doc.get("elements") if isinstance(doc, dict) else None
    if not isinstance(elements, list):
        raise SiteDataError(
            f"{path}: JSON without an 'elements' list; expected an Overpass API [out:json] result"
        )
    out = _Extract()
    for k, e in enumerate(elements):
        try:
            kind, ident, tags = e["type"], int(e["id"]), dict(e.get("tags") or {})
            if kind == "node":
                lon, lat = float(e["lon"]), float(e["lat"])
                out.node_id.append(ident)
                out.node_lon.append(lon)
                out.node_lat.append(lat)
                payload: Any = (lon, lat)
            elif kind == "way":
                geom = _coords(e.get("geometry")) if "geometry" in e else None
                payload = geom if geom is not None else [int(r) for r in e.get("nodes", [])]
                if "geometry" in e and geom is None:
                    payload = None  # clipped by the query's bounding box
                out.ways[ident] = payload
            elif kind == "relation":
                payload = [
                    (m.get("type"), int(m["ref"]), m.get("role", ""),
                     _coords(m.get("geometry")) if "geometry" in m else None)
                    for m in e.get("members", [])
                ]
            else:
                continue
            center = e.get("center")
            if tags and center is not None and kind != "node":
                out.centers[len(out.tagged)] = (float(center["lon"]), float(center["lat"]))
        except (KeyError, TypeError, ValueError):
            raise SiteDataError(
                f"{path}: element {k} ({str(e)[:80]}) lacks a valid type, id or coordinate"
            ) from None
        if tags:
            out.tagged.append((kind, ident, tags, payload))
    return out


# --- geometry ----------------------------------------------------------------------------------


def _node_geometry(
    extract: _Extract, kinds: list[str], keep: npt.NDArray[np.bool_], out: npt.NDArray[Any]
) -> None:
    idx = [i for i, k in enumerate(kinds) if k == "node" and keep[i]]
    if idx:
        xy = np.array([extract.tagged[i][3] for i in idx], dtype=float)
        out[idx] = shapely.points(xy)


def _node_lookup(extract: _Extract) -> tuple[pd.Index, npt.NDArray[np.float64]]:
    index = pd.Index(np.asarray(extract.node_id, dtype=np.int64))
    xy = np.column_stack([extract.node_lon, extract.node_lat]).astype(float).reshape(-1, 2)
    if not index.is_unique:  # a node listed twice (merged extracts): its first entry counts
        first = ~index.duplicated(keep="first")
        index, xy = index[first], xy[first]
    return index, xy


def _resolve(
    refs_or_coords: list[Any], lookup: tuple[pd.Index, npt.NDArray[np.float64]]
) -> list[npt.NDArray[np.float64] | None]:
    """Coordinates of many ways at once: one vectorised look-up of every node reference."""
    index, xy = lookup
    lists = [r for r in refs_or_coords if isinstance(r, list)]
    flat = np.fromiter((n for r in lists for n in r), dtype=np.int64)
    pos = index.get_indexer(flat) if len(index) else np.full(len(flat), -1)
    out: list[npt.NDArray[np.float64] | None] = []
    start = 0
    for item in refs_or_coords:
        if isinstance(item, list):
            p = pos[start : start + len(item)]
            start += len(item)
            ok = len(p) > 0 and bool((p >= 0).all())
            out.append(xy[p] if ok and np.isfinite(xy[p]).all() else None)
        else:
            out.append(item)
    return out


def _center(extract: _Extract, i: int) -> shapely.Point | None:
    """Give the Overpass centre of element ``i`` (all the geometry ``out center`` gives)."""
    center = extract.centers.get(i)
    return None if center is None else shapely.Point(center)


def _way_geometry(
    extract: _Extract,
    kinds: list[str],
    keep: npt.NDArray[np.bool_],
    out: npt.NDArray[Any],
    reason: npt.NDArray[Any],
) -> None:
    idx = [i for i, k in enumerate(kinds) if k == "way" and keep[i]]
    coords = _resolve([extract.tagged[i][3] for i in idx], _node_lookup(extract))
    for i, xy in zip(idx, coords, strict=True):
        tags = extract.tagged[i][2]
        if xy is None or len(xy) < 2:
            out[i] = _center(extract, i)
            if out[i] is None:
                reason[i] = "incomplete way (nodes missing from the extract)"
            continue
        closed = len(xy) >= 4 and bool((xy[0] == xy[-1]).all())
        if closed and tags.get("area") != "no":
            out[i] = shapely.Polygon(xy)
        else:
            out[i] = shapely.LineString(xy)


def _relation_geometry(
    extract: _Extract,
    kinds: list[str],
    keep: npt.NDArray[np.bool_],
    out: npt.NDArray[Any],
    reason: npt.NDArray[Any],
) -> None:
    idx = [i for i, k in enumerate(kinds) if k == "relation" and keep[i]]
    lookup = _node_lookup(extract)
    for i in idx:
        _, _, tags, members = extract.tagged[i]
        kind = tags.get("type", "")
        if kind not in _AREA_RELATIONS:
            out[i] = _center(extract, i)
            if out[i] is None:
                reason[i] = f"relation of type={kind or '<none>'} is not an area"
            continue
        ways = [m for m in members if m[0] == "way" and m[2] in ("outer", "inner", "")]
        parts = [m[3] if m[3] is not None else extract.ways.get(m[1]) for m in ways]
        lines = _resolve(parts, lookup)
        if not lines or any(line is None or len(line) < 2 for line in lines):
            out[i] = _center(extract, i)
            if out[i] is None:
                reason[i] = "incomplete relation (member ways missing from the extract)"
            continue
        out[i], reason[i] = _assemble([line for line in lines if line is not None])


def _assemble(lines: list[npt.NDArray[np.float64]]) -> tuple[Any, str | None]:
    """Join member ways into rings and combine the rings by the even-odd rule."""
    merged = shapely.line_merge(shapely.multilinestrings([shapely.linestrings(c) for c in lines]))
    rings = shapely.get_parts(merged)
    closed = shapely.is_closed(rings) & (shapely.get_num_coordinates(rings) >= 4)
    if not closed.all():
        return None, "open ring in multipolygon (member ways do not join up)"
    coords, index = shapely.get_coordinates(rings, return_index=True)
    polygons = shapely.polygons(shapely.linearrings(coords, indices=index))
    # a ring that touches itself is invalid as a polygon; repair before combining
    polygons = shapely.make_valid(polygons, method="structure")
    return reduce(shapely.symmetric_difference, polygons), None
