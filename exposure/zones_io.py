"""Write no-fly zones in the formats planners exchange: ED-269 JSON, ED-318 GeoJSON, KML, GeoJSON.

A zones table is a GeoDataFrame in EPSG:4326 with one (Multi)Polygon per zone and the columns
``zone_id``, ``name``, ``restriction`` (``PROHIBITED``, ``REQ_AUTHORISATION``, ...), ``reason``
(e.g. ``SENSITIVE``), ``floor_m``, ``ceiling_m`` and ``vertical_ref`` (``AGL``/``AMSL``), plus
``message`` (free text) where known. The writers follow the structure of the public EUROCAE
samples: ED-269 ``UASZoneList`` entries with ``geometry[].horizontalProjection`` and limits in
metres; ED-318 features with ``geometry.layer`` and multilingual ``name``. A MultiPolygon zone
becomes one ED-269 geometry entry per polygon and one ED-318 feature per polygon (ED-318
geometries are single polygons).

KML is written with the standard library's XML tree (text nodes are escaped by it); a KML
library would add a dependency for a few dozen lines of output.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from exposure.errors import ExposureError

__all__ = ["ZONE_COLUMNS", "to_ed269", "to_ed318", "to_geojson", "to_kml"]

ZONE_COLUMNS = ("zone_id", "name", "restriction", "reason", "floor_m", "ceiling_m", "vertical_ref")
_KML_NS = "http://www.opengis.net/kml/2.2"


def _check(zones: gpd.GeoDataFrame) -> None:
    problems = []
    if zones.crs is None or zones.crs.to_epsg() != 4326:
        problems.append(f"zones must be in EPSG:4326, got {zones.crs}")
    missing = [c for c in ZONE_COLUMNS if c not in zones]
    if missing:
        problems.append(f"missing columns {missing}")
    kinds = shapely.get_type_id(np.asarray(zones.geometry.array))
    if len(zones) and not np.isin(kinds, [3, 6]).all():
        problems.append("every zone geometry must be a Polygon or MultiPolygon")
    if problems:
        raise ExposureError("zones: " + "; ".join(problems))


def _polygons(geom) -> list[shapely.Polygon]:
    return list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]


def _ring_coords(poly: shapely.Polygon) -> list[list[list[float]]]:
    poly = shapely.orient_polygons(poly) if hasattr(shapely, "orient_polygons") else poly
    rings = [poly.exterior, *poly.interiors]
    return [[[round(x, 7), round(y, 7)] for x, y in r.coords] for r in rings]


def _limit(value: float) -> str | None:
    return None if value is None or not np.isfinite(value) else f"{value:g}"


def _text(value: object, default: str = "") -> str:
    missing = value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))
    return default if missing else str(value)


def to_ed269(
    zones: gpd.GeoDataFrame, *, country: str = "XXX", created: datetime | None = None
) -> str:
    """Serialise zones as an ED-269 ``UASZoneList`` JSON document.

    Examples
    --------
    >>> z = gpd.GeoDataFrame({"zone_id": ["Z1"], "name": ["Plant"],
    ...     "restriction": ["PROHIBITED"], "reason": ["SENSITIVE"], "floor_m": [0.0],
    ...     "ceiling_m": [150.0], "vertical_ref": ["AGL"]},
    ...     geometry=[shapely.box(7, 46, 7.01, 46.01)], crs=4326)
    >>> doc = json.loads(to_ed269(z, created=datetime(2026, 1, 1, tzinfo=UTC)))
    >>> zone = doc["UASZoneList"][0]
    >>> g = zone["geometry"][0]
    >>> zone["restriction"], g["upperLimit"], g["uomDimensions"]
    ('PROHIBITED', '150', 'M')
    """
    _check(zones)
    created = created or datetime.now(UTC)
    out = []
    for row in zones.itertuples(index=False):
        ref = _text(row.vertical_ref, "AGL").upper()
        out.append(
            {
                "identifier": _text(row.zone_id),
                "country": country,
                "name": _text(row.name),
                "type": "COMMON",
                "restriction": _text(row.restriction, "PROHIBITED"),
                "restrictionConditions": None,
                "reason": [r for r in _text(row.reason, "SENSITIVE").split("|") if r],
                "message": _text(getattr(row, "message", None)) or None,
                "applicability": [
                    {
                        "permanent": "YES",
                        "startDateTime": None,
                        "endDateTime": None,
                        "dailyPeriod": [{"day": [], "startTime": None, "endTime": None}],
                    }
                ],
                "zoneAuthority": [],
                "geometry": [
                    {
                        "uomDimensions": "M",
                        "lowerLimit": _limit(row.floor_m),
                        "lowerVerticalReference": ref,
                        "upperLimit": _limit(row.ceiling_m),
                        "upperVerticalReference": ref,
                        "horizontalProjection": {"type": "Polygon", "coordinates": _ring_coords(p)},
                    }
                    for p in _polygons(row.geometry)
                ],
            }
        )
    doc = {
        "formatVersion": "1.0.0",
        "createdAt": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "UASZoneList": out,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def to_ed318(zones: gpd.GeoDataFrame, *, country: str = "XXX", lang: str = "en-GB") -> str:
    """Serialise zones as an ED-318 GeoJSON FeatureCollection (one feature per polygon).

    Examples
    --------
    >>> z = gpd.GeoDataFrame({"zone_id": ["Z1"], "name": ["Plant"],
    ...     "restriction": ["PROHIBITED"], "reason": ["SENSITIVE"], "floor_m": [0.0],
    ...     "ceiling_m": [150.0], "vertical_ref": ["AGL"]},
    ...     geometry=[shapely.box(7, 46, 7.01, 46.01)], crs=4326)
    >>> f = json.loads(to_ed318(z))["features"][0]
    >>> p = f["properties"]
    >>> p["type"], f["geometry"]["layer"]["upper"], p["name"][0]["text"]
    ('PROHIBITED', 150.0, 'Plant')
    """
    _check(zones)
    features = []
    for row in zones.itertuples(index=False):
        ref = _text(row.vertical_ref, "AGL").upper()
        parts = _polygons(row.geometry)
        for i, poly in enumerate(parts):
            ident = _text(row.zone_id) + (f"-{i + 1}" if len(parts) > 1 else "")
            features.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": _ring_coords(poly),
                        "layer": {
                            "upper": None
                            if not np.isfinite(row.ceiling_m)
                            else float(row.ceiling_m),
                            "upperReference": ref,
                            "lower": None if not np.isfinite(row.floor_m) else float(row.floor_m),
                            "lowerReference": ref,
                            "uom": "m",
                        },
                    },
                    "properties": {
                        "identifier": ident,
                        "country": country,
                        "name": [{"text": _text(row.name), "lang": lang}],
                        "type": _text(row.restriction, "PROHIBITED"),
                        "variant": "COMMON",
                        "reason": [r for r in _text(row.reason, "SENSITIVE").split("|") if r],
                        "message": [{"text": _text(getattr(row, "message", None)), "lang": lang}],
                    },
                }
            )
    return (
        json.dumps(
            {"type": "FeatureCollection", "features": features}, indent=2, ensure_ascii=False
        )
        + "\n"
    )


def to_geojson(zones: gpd.GeoDataFrame) -> str:
    """Serialise zones as plain GeoJSON with the zone columns as properties."""
    _check(zones)
    frame = zones[[*ZONE_COLUMNS, *(["message"] if "message" in zones else []), "geometry"]]
    return frame.to_json(na="null", drop_id=True, ensure_ascii=False) + "\n"


def to_kml(zones: gpd.GeoDataFrame, *, document_name: str = "No-fly zones") -> str:
    """Serialise zones as KML: one Placemark per zone, polygons clamped to the ground.

    Examples
    --------
    >>> z = gpd.GeoDataFrame({"zone_id": ["Z1"], "name": ["<Plant & co>"],
    ...     "restriction": ["PROHIBITED"], "reason": ["SENSITIVE"], "floor_m": [0.0],
    ...     "ceiling_m": [150.0], "vertical_ref": ["AGL"]},
    ...     geometry=[shapely.box(7, 46, 7.01, 46.01)], crs=4326)
    >>> "&lt;Plant &amp; co&gt;" in to_kml(z)
    True
    """
    _check(zones)
    ET.register_namespace("", _KML_NS)
    q = lambda tag: f"{{{_KML_NS}}}{tag}"  # noqa: E731
    kml = ET.Element(q("kml"))
    doc = ET.SubElement(kml, q("Document"))
    ET.SubElement(doc, q("name")).text = document_name
    for row in zones.itertuples(index=False):
        mark = ET.SubElement(doc, q("Placemark"))
        ET.SubElement(mark, q("name")).text = _text(row.name)
        ET.SubElement(mark, q("description")).text = (
            f"{_text(row.restriction)} ({_text(row.reason)}), {_limit(row.floor_m) or '-'}-"
            f"{_limit(row.ceiling_m) or '-'} m {_text(row.vertical_ref)}"
        )
        data = ET.SubElement(mark, q("ExtendedData"))
        for col in ZONE_COLUMNS:
            if col == "name":
                continue
            d = ET.SubElement(data, q("Data"), name=col)
            ET.SubElement(d, q("value")).text = _text(getattr(row, col))
        multi = ET.SubElement(mark, q("MultiGeometry"))
        for poly in _polygons(row.geometry):
            pg = ET.SubElement(multi, q("Polygon"))
            for tag, ring in zip(
                ["outerBoundaryIs"] + ["innerBoundaryIs"] * len(poly.interiors),
                _ring_coords(poly),
                strict=True,
            ):
                lr = ET.SubElement(ET.SubElement(pg, q(tag)), q("LinearRing"))
                ET.SubElement(lr, q("coordinates")).text = " ".join(f"{x},{y}" for x, y in ring)
    return ET.tostring(kml, encoding="unicode", xml_declaration=True) + "\n"
