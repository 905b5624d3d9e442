"""Read UAS geographical zones: EUROCAE ED-269 JSON and ED-318 GeoJSON.

ED-269 files hold a ``UASZoneList`` (or a ``features`` list) of zones, each with a ``geometry``
list of volumes: a ``horizontalProjection`` (a GeoJSON ``Polygon``, or a ``Circle`` given as
``center`` [lon, lat] and ``radius``) between ``lowerLimit`` and ``upperLimit`` in
``uomDimensions`` (``M`` or ``FT``, which also applies to the radius) above
``lowerVerticalReference``/``upperVerticalReference``. ED-318 files are a GeoJSON
``FeatureCollection`` whose geometries carry a ``layer`` (``lower``, ``upper``, ``uom`` and the
two references), a ``Point`` with an ``extent`` of ``subType: Circle`` and ``radius`` in metres
being a circle, and a ``GeometryCollection`` holding several volumes. Both may be zipped: the
archive is read in memory, never extracted (:mod:`sites.archive`).

One row per volume: a zone with one volume gets ``site_id`` ``geozone:<country>:<identifier>``,
a zone with several ``.../1``, ``.../2``, … in file order; an identifier that the file repeats
gets ``-2``, ``-3``, … ``source`` is ``<file>:<identifier>``, ``name`` the zone's name in
``lang`` (ED-318 names are lists of ``{"text", "lang"}``), else its first name, else its
identifier. Columns filled from the zone:

``floor_m``, ``ceiling_m``
    The limits in metres (feet × 0.3048), NaN where the file gives none. ``99999`` and such
    "unlimited" values are kept as given.
``vertical_ref``
    ``AGL``, ``AMSL`` or ``WGS84`` (ellipsoid height, kept apart: converting it to AMSL needs a
    geoid model); ``"<floor>/<ceiling>"`` when the two limits differ, e.g. ``AGL/AMSL``.
``schedule``
    ED-269 ``applicability`` / ED-318 ``limitedApplicability`` in the format of
    :mod:`sites.schedule`; NA when the zone always applies.
``restriction``
    ``PROHIBITED``, ``REQ_AUTHORISATION``, ``CONDITIONAL``, ``NO_RESTRICTION`` (ED-318's
    ``type``; its spelling ``REQ_AUTHORIZATION`` is written the ED-269 way).
``zone_reason``
    The reason codes joined with ``;`` (``AIR_TRAFFIC;OTHER``).
``geometry_origin``
    ``polygon``, or ``circle+<radius>m`` for a published circle (a geodesic 64-gon, see
    :func:`sites.geometry.circles`).

Category, from the reason codes and, where they do not say what the zone protects, from its
names (:data:`KEYWORDS`, matched in every language the file gives, case-insensitively, first
match in the order of the table):

=============================================  ================================================
reason codes                                   category
=============================================  ================================================
``SENSITIVE``, ``OTHER``, ``PRIVACY``,         the first keyword group that matches the zone's
``EMERGENCY``, or none                         names or ``otherReasonInfo`` (every group), or
                                               its authority's name (every group but
                                               ``government``: police forces guard hospitals
                                               too); else as below
``AIR_TRAFFIC``                                ``airport``
anything else (``NATURE``, ``POPULATION``,     ``other``
``NOISE``, ``FOREIGN_TERRITORY``, ...)
=============================================  ================================================

Sensitivity is the category's default, except that a ``SENSITIVE`` zone whose category stays
``other`` (a hospital, a fuel depot) gets :data:`SENSITIVE_OTHER` (2): an authority asked that
it not be overflown, but the file does not say why.

Zones are rejected, with a reason, for: no geometry (``"missing geometry"``), a circle whose
radius is missing, zero, negative or larger than 1,000 km (``"no usable radius"``), a point
without a circle extent, geometry that cannot be read, limits that are not numbers, an unknown
unit or vertical reference, an applicability that cannot be read, or fields of the wrong shape
(``"unreadable zone fields"``: a reason that is a number, a name that is a list of lists). A
file whose zones are not objects at all is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.errors
import shapely.geometry

from sites.archive import list_members, read_member
from sites.build import build_sites, resolve_sensitivity
from sites.errors import SiteDataError
from sites.geometry import MAX_RADIUS_M, circles
from sites.schedule import ScheduleError, from_applicability
from sites.taxonomy import DEFAULT_SENSITIVITY

__all__ = ["KEYWORDS", "SENSITIVE_OTHER", "geozone_format", "read_geozones"]

FEET = 0.3048
#: Sensitivity of a SENSITIVE zone that no keyword places in a category.
SENSITIVE_OTHER = 2
#: Largest zone file accepted (decompressed), in bytes.
MAX_BYTES = 512 * 1024**2

#: Keyword groups that place a zone in a category, tried in this order on its names.
KEYWORDS: tuple[tuple[str, str], ...] = (
    ("nuclear", r"kernkraft|nuclear|nucléaire|nucleare|atomkraft|zwischenlager|\bkk[aw]\b"),
    (
        "military",
        r"\bvbs(?:_|\b)|\bddps\b|defen[cs]e|militär|militaire|militare|military|kaserne|caserne"
        r"|caserma|waffenplatz|air ?base|base aérienne",
    ),
    (
        "prison",
        r"gefängnis|prison|pénitentiaire|penitentiary|penitenziario|carcere|vollzug|strafanstalt"
        r"|massnahmenzentrum|haftanstalt|administrativhaft|halbgefangenschaft|détention|\bjva\b",
    ),
    (
        "government",
        r"police|polizei|polizia|gendarmerie|tribunal|gericht|court|parlament|parliament"
        r"|bundeshaus|palais fédéral|government|regierung|gouvernement|governo|embassy"
        r"|ambassade|botschaft|ambasciata|bâtiment administratif",
    ),
    (
        "power_plant",
        r"substation|unterwerk|umspannwerk|sous-station|sottostazione|kraftwerk|power ?plant"
        r"|centrale électrique|kompressorenstation|swissgrid|raffinerie|refinery|refining",
    ),
    ("dam", r"\bdam\b|staumauer|staudamm|talsperre|barrage|\bdiga\b"),
    (
        "airport",
        r"airport|aéroport|aeroporto|flughafen|flugplatz|aerodrome|aérodrome|heliport|héliport"
        r"|airfield",
    ),
    ("port", r"\bport\b|harbou?r|hafen"),
)
_KEYWORD_REASONS = {"SENSITIVE", "OTHER", "PRIVACY", "EMERGENCY"}
_UNITS = {"M": 1.0, "FT": FEET}
_REFS = {"AGL", "AMSL", "WGS84"}
#: Columns of the intermediate table, one row per volume.
_ROW_COLUMNS = (
    "site_id", "ident", "name", "texts", "authority", "reasons", "restriction", "zone_reason",
    "schedule", "reason", "geometry", "circle", "floor_m", "ceiling_m", "vertical_ref",
)


# --- loading -----------------------------------------------------------------------------------


def _load(path: Path, member: str | None) -> tuple[Any, str]:
    if not path.exists():
        raise SiteDataError(f"{path}: no such file (expected an ED-269 or ED-318 zone file)")
    if path.suffix.lower() == ".zip":
        members = [m for m in list_members(path) if not m.endswith("/")]
        if member is None:
            found = [m for m in members if m.lower().endswith((".json", ".geojson"))]
            if len(found) != 1:
                raise SiteDataError(
                    f"{path}: {len(found)} JSON files in the archive {found[:10]} (members: "
                    f"{members[:10]}); expected one, or pass member="
                )
            member = found[0]
        data, label = read_member(path, member, max_bytes=MAX_BYTES), f"{path.name}/{member}"
    else:
        if member is not None:
            raise SiteDataError(f"{path}: member={member!r} given, but the file is not a .zip")
        if path.stat().st_size > MAX_BYTES:
            raise SiteDataError(f"{path}: larger than {MAX_BYTES} bytes")
        data, label = path.read_bytes(), path.name
    try:
        return json.loads(data.decode("utf-8-sig")), label
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SiteDataError(f"{path}: not UTF-8 JSON ({exc})") from None
    except RecursionError:
        raise SiteDataError(f"{path}: JSON nested too deeply to be a zone file") from None


def geozone_format(doc: object) -> str | None:
    """Tell an ED-269 document from an ED-318 one (None: neither).

    Examples
    --------
    >>> geozone_format({"UASZoneList": []}), geozone_format({"type": "FeatureCollection",
    ...     "features": [{"type": "Feature", "properties": {"identifier": "Z1", "reason": []},
    ...                   "geometry": None}]})
    ('ed269', 'ed318')
    >>> geozone_format({"type": "FeatureCollection", "features": []}) is None
    True
    """
    if isinstance(doc, Mapping) and isinstance(doc.get("UASZoneList"), list):
        return "ed269"
    items = doc.get("features") if isinstance(doc, Mapping) else doc
    if not isinstance(items, list) or not items or not isinstance(items[0], Mapping):
        return None
    first = items[0]
    if isinstance(first.get("geometry"), list) and "identifier" in first:
        return "ed269"
    props = first.get("properties")
    geometry = first.get("geometry")
    if isinstance(props, Mapping) and ("identifier" in props and "reason" in props):
        return "ed318"
    if isinstance(geometry, Mapping) and isinstance(geometry.get("layer"), Mapping):
        return "ed318"
    return None


# --- one row per volume ------------------------------------------------------------------------


def _texts(value: object) -> list[tuple[str, str]]:
    """(lang, text) pairs of a name given as text or as ED-318 ``[{"text", "lang"}]``."""
    if isinstance(value, str):
        return [("", value)]
    if isinstance(value, Sequence):
        return [
            (str(v.get("lang") or ""), str(v["text"]))
            for v in value
            if isinstance(v, Mapping) and v.get("text")
        ]
    return []


def _pick(pairs: list[tuple[str, str]], lang: str) -> str | None:
    for code, text in pairs:
        if code.lower().startswith(lang.lower()):
            return text
    return pairs[0][1] if pairs else None


def _shape_problems(fmt: str, doc: Any) -> list[str]:
    """List what keeps a document from having the layout of its standard (at most 10)."""
    if fmt == "ed269":
        zones = doc if isinstance(doc, list) else doc.get("UASZoneList") or doc.get("features")
        volume_key, what = "geometry", "'geometry' list of volume objects"
    else:
        zones = doc.get("features") if isinstance(doc, Mapping) else doc
        volume_key, what = "properties", "'properties' object"
    if not isinstance(zones, list):
        return [f"the zones are a {type(zones).__name__}, expected a list of objects"]
    problems = []
    for k, zone in enumerate(zones, start=1):
        if not isinstance(zone, Mapping):
            problems.append(f"zone {k} is a {type(zone).__name__}, expected an object")
            continue
        part = zone.get(volume_key)
        shape_ok = (
            part is None
            or (fmt == "ed269" and isinstance(part, list)
                and all(isinstance(v, Mapping) for v in part))
            or (fmt != "ed269" and isinstance(part, Mapping))
        )
        geometry = zone.get("geometry") if fmt != "ed269" else None
        if fmt != "ed269" and geometry is not None and isinstance(geometry, Mapping):
            members = geometry.get("geometries")
            if geometry.get("type") == "GeometryCollection" and not (
                isinstance(members, list) and all(isinstance(g, Mapping) for g in members)
            ):
                shape_ok = False
                what = "'geometries' list of geometry objects"
        if not shape_ok:
            problems.append(f"zone {k} has no {what}")
    more = f" and {len(problems) - 10} more" if len(problems) > 10 else ""
    return [*problems[:10], more] if more else problems


def _volumes(fmt: str, doc: Any) -> list[tuple[Mapping[str, Any], list[Mapping[str, Any]]]]:
    """Each zone's properties and its volumes, in a form common to both standards."""
    out = []
    if fmt == "ed269":
        zones = doc if isinstance(doc, list) else doc.get("UASZoneList") or doc.get("features")
        for zone in zones:
            vols = []
            for g in zone.get("geometry") or []:
                vols.append(
                    {
                        "projection": g.get("horizontalProjection"),
                        "uom": g.get("uomDimensions"),
                        "lower": g.get("lowerLimit"),
                        "lower_ref": g.get("lowerVerticalReference"),
                        "upper": g.get("upperLimit"),
                        "upper_ref": g.get("upperVerticalReference"),
                        "radius_in_uom": True,
                    }
                )
            zone = dict(zone)
            zone["restriction"] = zone.get("restriction")
            out.append((zone, vols))
        return out
    for feature in doc.get("features") if isinstance(doc, Mapping) else doc:
        props = dict(feature.get("properties") or {})
        props["restriction"] = props.get("type")
        props["applicability"] = props.get("limitedApplicability")
        geometry = feature.get("geometry")
        parts = []
        if isinstance(geometry, Mapping):
            parts = (
                list(geometry.get("geometries") or [])
                if geometry.get("type") == "GeometryCollection"
                else [geometry]
            )
        vols = []
        for g in parts:
            layer, extent = g.get("layer"), g.get("extent")
            layer = layer if isinstance(layer, Mapping) else {}
            extent = extent if isinstance(extent, Mapping) else {}
            projection: Any = g
            if g.get("type") == "Point" and extent:
                center = g.get("coordinates")
                projection = {"type": "Circle", "center": center, "radius": extent.get("radius")}
            vols.append(
                {
                    "projection": projection,
                    "uom": layer.get("uom", "m"),
                    "lower": layer.get("lower"),
                    "lower_ref": layer.get("lowerReference"),
                    "upper": layer.get("upper"),
                    "upper_ref": layer.get("upperReference"),
                    "radius_in_uom": False,
                }
            )
        out.append((props, vols))
    return out


def _limit(value: object) -> float:
    if value is None or value == "":
        return np.nan
    return float(value)  # type: ignore[arg-type]


def _volume_row(zone: Mapping[str, Any], vol: Mapping[str, Any]) -> dict[str, Any]:
    """Limits, references, and the geometry (or a circle's centre and radius) of one volume."""
    row: dict[str, Any] = {"reason": None, "geometry": None, "circle": None}
    unit = _UNITS.get(str(vol.get("uom") or "M").upper())
    refs = [str(vol.get(k) or "").upper() for k in ("lower_ref", "upper_ref")]
    try:
        lower, upper = _limit(vol.get("lower")), _limit(vol.get("upper"))
    except (TypeError, ValueError):
        row["reason"] = "unreadable vertical limits"
        return row
    if unit is None:
        row["reason"] = f"unknown unit {vol.get('uom')!r}"
        return row
    bad_refs = [r for r in refs if r and r not in _REFS]
    if bad_refs:
        row["reason"] = f"unknown vertical reference {bad_refs[0]!r}"
        return row
    used = [r for r in refs if r]
    row["floor_m"], row["ceiling_m"] = lower * unit, upper * unit
    row["vertical_ref"] = (
        None if not used else used[0] if len(set(used)) == 1 or len(used) == 1 else "/".join(refs)
    )
    projection = vol.get("projection")
    if not isinstance(projection, Mapping) or not projection.get("type"):
        row["reason"] = "missing geometry"
        return row
    if projection["type"] == "Circle":
        center = projection.get("center") or []
        try:
            lon, lat = float(center[0]), float(center[1])
            radius = float(projection.get("radius"))  # type: ignore[arg-type]
        except (TypeError, ValueError, IndexError, KeyError):
            row["reason"] = "no usable radius" if center else "missing geometry"
            return row
        radius *= unit if vol.get("radius_in_uom") else 1.0
        if not (np.isfinite(radius) and 0 < radius <= MAX_RADIUS_M):
            row["reason"] = "no usable radius"
        elif not (abs(lat) <= 90 and abs(lon) <= 180):
            row["reason"] = "coordinates out of range"
        else:
            row["circle"] = (lon, lat, radius)
        return row
    if projection["type"] == "Point":
        row["reason"] = "point without a circle extent"
        return row
    try:
        row["geometry"] = shapely.geometry.shape(projection)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError,
            shapely.errors.ShapelyError):
        row["reason"] = "unreadable geometry"
    return row


def _category(
    names: pd.Series, authorities: pd.Series, reasons: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Category and sensitivity of each zone (see the module notes)."""
    category = pd.Series(None, index=names.index, dtype=object)
    for cat, pattern in KEYWORDS:
        unset = category.isna()
        hit = names.str.contains(pattern, case=False, regex=True)
        if cat != "government":
            hit |= authorities.str.contains(pattern, case=False, regex=True)
        category[unset & hit] = cat
    codes = reasons.map(set)
    by_keyword = codes.map(lambda c: not c or bool(c & _KEYWORD_REASONS))
    category = category.where(by_keyword, None)
    air = codes.map(lambda c: "AIR_TRAFFIC" in c)
    category = category.where(category.notna(), np.where(air, "airport", "other"))
    sensitivity = category.map(DEFAULT_SENSITIVITY).astype(float)
    sensitive_other = (category == "other") & codes.map(lambda c: "SENSITIVE" in c)
    sensitivity[sensitive_other] = SENSITIVE_OTHER
    return category, sensitivity


def read_geozones(
    path: str | PathLike[str],
    *,
    lang: str = "en",
    sensitivity: int | Mapping[str, int] | None = None,
    member: str | None = None,
) -> gpd.GeoDataFrame:
    """Read an ED-269 or ED-318 UAS geozone file into the sites table (one row per volume).

    Parameters
    ----------
    path : str or path-like
        A ``.json``/``.geojson`` file, or a ``.zip`` holding one.
    lang : str
        Language of the names to keep (a prefix of the file's codes: ``"en"`` matches
        ``en-GB``); the first name where there is none in it.
    sensitivity : int or mapping, optional
        1-5 for every zone, or per category; default: see the module notes.
    member : str, optional
        The file inside a ``.zip`` archive that holds several.

    Returns
    -------
    geopandas.GeoDataFrame
        The sites table (see :mod:`sites.schema`) with ``attrs["read_report"]``.

    Raises
    ------
    SiteDataError
        If the file is missing, not JSON, not ED-269/ED-318, or an unsafe archive.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> zone = {"identifier": "Z1", "country": "CHE", "name": "Camp", "reason": ["SENSITIVE"],
    ...         "restriction": "PROHIBITED", "applicability": [{"permanent": "YES"}],
    ...         "zoneAuthority": [{"name": "Swiss Armed Forces DDPS"}],
    ...         "geometry": [{"uomDimensions": "FT", "lowerLimit": 0, "upperLimit": 400,
    ...                       "lowerVerticalReference": "AGL", "upperVerticalReference": "AGL",
    ...                       "horizontalProjection": {"type": "Circle", "center": [7.4, 46.9],
    ...                                                "radius": 1000}}]}
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "zones.json")
    ...     _ = p.write_text(json.dumps({"UASZoneList": [zone]}))
    ...     s = read_geozones(p)
    >>> r = s.iloc[0]
    >>> r["site_id"], r["category"], round(float(r["ceiling_m"]), 2), r["vertical_ref"]
    ('geozone:CHE:Z1', 'military', 121.92, 'AGL')
    >>> r["restriction"], r["zone_reason"], r["geometry_origin"]
    ('PROHIBITED', 'SENSITIVE', 'circle+304.8m')
    """
    path = Path(path)
    doc, label = _load(path, member)
    fmt = geozone_format(doc)
    if fmt is None:
        raise SiteDataError(
            f"{path}: not a UAS geozone file (expected an ED-269 'UASZoneList' or an ED-318 "
            "FeatureCollection whose features carry 'identifier' and 'reason')"
        )
    shape_problems = _shape_problems(fmt, doc)
    if shape_problems:
        raise SiteDataError(f"{path}: " + "; ".join(shape_problems))
    rows: list[dict[str, Any]] = []
    for k, (zone, vols) in enumerate(_volumes(fmt, doc)):
        try:
            rows += _zone_rows(zone, vols, k=k, path=path, lang=lang)
        except (AttributeError, TypeError, ValueError, KeyError, IndexError):
            # A zone whose fields have the wrong shapes (a reason that is a number, a name
            # that is a list of lists) is rejected on its own; the file's other zones stay.
            ident = str(zone.get("identifier") or f"{path.stem}-{k + 1}")
            rows.append({"ident": ident, "site_id": f"geozone:{ident}", "name": ident,
                         "texts": "", "authority": "", "reasons": [], "geometry": None,
                         "circle": None, "reason": "unreadable zone fields"})
    table = pd.DataFrame(rows, columns=list(_ROW_COLUMNS))
    return _to_sites(table, path=path, label=label, sensitivity=sensitivity)


def _zone_rows(
    zone: Mapping[str, Any], vols: list[Mapping[str, Any]], *, k: int, path: Path, lang: str
) -> list[dict[str, Any]]:
    """Build one zone's rows: one per volume (one row with a reason when it has none)."""
    rows = []
    names = _texts(zone.get("name"))
    authority = [
        text for a in zone.get("zoneAuthority") or [] if isinstance(a, Mapping)
        for _, text in _texts(a.get("name"))
    ]
    reasons = [str(r).upper() for r in zone.get("reason") or []]
    ident = str(zone.get("identifier") or f"{path.stem}-{k + 1}")
    country = str(zone.get("country") or "").strip()
    restriction = str(zone.get("restriction") or "").upper().replace("AUTHORIZATION",
                                                                      "AUTHORISATION")
    try:
        schedule, bad_schedule = from_applicability(zone.get("applicability")), None
    except ScheduleError as exc:
        schedule, bad_schedule = None, f"unreadable applicability ({exc})"
    base = {
        "ident": ident,
        "zone_id": f"geozone:{country}:{ident}" if country else f"geozone:{ident}",
        "name": _pick(names, lang) or ident,
        "texts": " | ".join([t for _, t in names] + [str(zone.get("otherReasonInfo") or "")]),
        "authority": " | ".join(authority),
        "reasons": reasons,
        "restriction": restriction or None,
        "zone_reason": ";".join(reasons) or None,
        "schedule": schedule,
    }
    for j, vol in enumerate(vols or [{}]):
        row = {**base, **_volume_row(zone, vol)}
        row["site_id"] = row["zone_id"] + (f"/{j + 1}" if len(vols) > 1 else "")
        row["reason"] = row["reason"] or bad_schedule
        rows.append(row)
    return rows


def _to_sites(
    table: pd.DataFrame,
    *,
    path: Path,
    label: str,
    sensitivity: int | Mapping[str, int] | None,
) -> gpd.GeoDataFrame:
    for col in ("floor_m", "ceiling_m"):
        table[col] = pd.to_numeric(table[col], errors="coerce")
    category, default_sens = _category(
        table["texts"].astype(str), table["authority"].astype(str), table["reasons"]
    )
    sens, problems = resolve_sensitivity(sensitivity, category, default_sens)
    geometry = np.array(table["geometry"].to_numpy(), dtype=object)
    origin = pd.Series(pd.NA, index=table.index, dtype="string")
    circle = table["circle"].notna().to_numpy()
    if circle.any():
        lon, lat, radius = np.array(table.loc[circle, "circle"].tolist(), dtype=float).T
        geometry[circle] = circles(lon, lat, radius)
        text = [np.format_float_positional(r, trim="-") for r in radius]
        origin[circle] = [f"circle+{t}m" for t in text]
    records = pd.DataFrame(
        {
            "site_id": table["site_id"],
            # repeated identifiers are numbered rather than refused: national sets do repeat
            "id_derived": True,
            "name": table["name"],
            "category": category,
            "radius_m": np.nan,
            "source": label + ":" + table["ident"].astype(str),
            "reason": table["reason"],
            "floor_m": table["floor_m"],
            "ceiling_m": table["ceiling_m"],
            "vertical_ref": table["vertical_ref"],
            "schedule": table["schedule"],
            "restriction": table["restriction"],
            "zone_reason": table["zone_reason"],
            "geometry_origin": origin,
        }
    )
    if sens is not None:
        records["sensitivity"] = sens
    return build_sites(records, geometry, path=str(path), problems=problems)
