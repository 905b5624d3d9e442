"""Read sites from vector files: GeoJSON, GeoPackage, Shapefile, FlatGeobuf, GeoParquet, KML, ...

Files are opened with pyogrio (anything GDAL reads), GeoParquet with
:func:`geopandas.read_parquet`. Archives are read in place, never extracted: a ``.zip`` holding
one dataset (a Shapefile with its ``.dbf``/``.shx``/``.prj``, a GeoPackage, ...; choose with
``member`` when it holds several) is opened through GDAL's ``/vsizip/`` after the checks of
:mod:`sites.archive`; a ``.kmz`` likewise. KML and KMZ files put each folder in its own layer:
without ``layer`` every layer is read (KML is always WGS84, so it needs no ``.prj``). A KML file
that declares a DTD or entities is refused: KML never needs one, and entities can pull in local
files. Other multi-layer files (GeoPackage) need ``layer`` when they hold more than one layer
with geometry. How each column of the sites table is found:

category
    The ``category`` argument: one category for the whole file, or a mapping that translates the
    file's labels (``{"imperial": "government"}``). Otherwise the first of
    :data:`CATEGORY_FIELDS`, normalised with :func:`sites.taxonomy.normalise_category`. A label
    that is not recognised is an error that lists every such label; nothing is silently mapped
    to ``"other"``.
name
    ``name_field``, else the first of :data:`NAME_FIELDS`; an empty name falls back to the id.
site_id
    From ``id_field`` or the first of :data:`ID_FIELDS`, prefixed with a source tag
    (``id_prefix``; ``"osm"`` when the ids are OpenStreetMap ``node/…``/``way/…`` references;
    otherwise the file name): ``"osm:node/11448221490"``. A ``site_id`` column is taken as it is,
    so a file written from a sites table reads back with the same ids. Without an id the site
    id is the tag and a hash of the geometry's WKB, coordinates rounded to 1e-7° (about 1 cm), so
    it is the same on every run and machine; identical geometries get ``-2``, ``-3``, ... in file
    order. An id that the file itself repeats is an error.
known sources
    The MLIT National Land Numerical Information airport file (C28, 「国土数値情報（空港データ）」)
    is recognised by its ``C28_000``/``C28_005`` fields: category ``airport``, name ``C28_005``
    (the airport's name), id ``C28_000`` (the airport-area feature's own identifier, unique per
    polygon; ``C28_101`` names the airport and repeats where an airport has several parts),
    tag ``jp-airport``.
geometry
    See :mod:`sites.geometry`: points and lines become polygons of radius ``point_radius_m``
    (default: the category's :data:`~sites.taxonomy.POINT_RADIUS_M`), invalid polygons are
    repaired and counted, unusable geometry is rejected and counted by reason.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import pyogrio.errors
import pyproj
import shapely

from sites.archive import list_members, read_head, vsizip_path
from sites.build import PASSTHROUGH, build_sites, resolve_sensitivity
from sites.errors import SiteDataError
from sites.taxonomy import CATEGORIES, POINT_RADIUS_M, normalise_category

__all__ = ["CATEGORY_FIELDS", "ID_FIELDS", "NAME_FIELDS", "read_sites"]

#: Fields searched, in order, for a category label.
CATEGORY_FIELDS = ("category", "facility_type", "site_type", "type")
#: Fields searched, in order, for a site name.
NAME_FIELDS = ("name", "NAME", "Name", "name:en", "C28_005")
#: Fields searched, in order, for an identifier.
ID_FIELDS = ("site_id", "id")

_PARQUET_SUFFIXES = {".parquet", ".geoparquet"}
_PYOGRIO_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
    OSError,
    # a damaged file: text fields that are not in their declared encoding, rings that GDAL
    # passes on unclosed
    UnicodeDecodeError,
    shapely.errors.GEOSException,
    # pyogrio's get_crs fails this way on a damaged .prj (found by fuzzing)
    UnboundLocalError,
)
_OSM_REF = re.compile(r"(node|way|relation)/\d+")
_FORMATS = (
    "a GeoJSON, GeoPackage, Shapefile (or a zip of one), KML/KMZ, FlatGeobuf or GeoParquet file"
)
_KML_SUFFIXES = {".kml", ".kmz"}
#: Extensions of the datasets looked for inside a zip archive, in order of preference.
_ZIP_DATASETS = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".kml")
_XML_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")


@dataclass(frozen=True)
class _KnownSource:
    """A published file whose fields are not named like the generic ones."""

    fields: tuple[str, ...]
    tag: str
    id_field: str
    name_field: str
    category: str


_KNOWN_SOURCES = (
    _KnownSource(
        fields=("C28_000", "C28_005"),
        tag="jp-airport",
        id_field="C28_000",
        name_field="C28_005",
        category="airport",
    ),
)


def read_sites(
    path: str | PathLike[str],
    *,
    category: str | Mapping[str, str] | None = None,
    name_field: str | None = None,
    id_field: str | None = None,
    id_prefix: str | None = None,
    layer: str | None = None,
    member: str | None = None,
    sensitivity: int | Mapping[str, int] | None = None,
    point_radius_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector file of sensitive sites into the canonical sites table.

    Parameters
    ----------
    path : str or path-like
        A file pyogrio can open (GeoJSON, GeoPackage, Shapefile, FlatGeobuf, ...) or a
        GeoParquet file (``.parquet``/``.geoparquet``). It must carry a CRS.
    category : str or mapping, optional
        One category for every feature, or a mapping from the file's labels to categories
        (labels it does not list are normalised as usual). Default: read from the file.
    name_field, id_field : str, optional
        Fields holding the site's name and a stable identifier.
    id_prefix : str, optional
        Tag put in front of ids (default: see the module notes).
    layer : str, optional
        Layer of a multi-layer file; required when it has several layers with geometry (except
        KML/KMZ, whose layers are all read by default).
    member : str, optional
        The dataset inside a ``.zip`` archive, when it holds more than one.
    sensitivity : int or mapping, optional
        1-5 for every site, or per category; default: the file's ``sensitivity`` field, else
        the category's default.
    point_radius_m : float, optional
        Radius for points and lines; default: per category (:data:`sites.POINT_RADIUS_M`).

    Returns
    -------
    geopandas.GeoDataFrame
        The sites table (see :mod:`sites.schema`) in EPSG:4326, with
        ``attrs["read_report"]`` (see :mod:`sites.build`).

    Raises
    ------
    SiteDataError
        If the file is missing or unreadable, has no CRS, or its categories, names or ids
        cannot be resolved; all problems are listed at once.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> doc = {"type": "FeatureCollection", "features": [{"type": "Feature",
    ...        "properties": {"name": "Gate", "category": "Military"},
    ...        "geometry": {"type": "Point", "coordinates": [139.7, 35.6]}}]}
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "bases.geojson")
    ...     _ = p.write_text(json.dumps(doc))
    ...     s = read_sites(p)
    >>> row = s.iloc[0]
    >>> row["name"], row["category"], int(row["sensitivity"]), row["geometry_origin"]
    ('Gate', 'military', 5, 'point+250m')
    >>> s.loc[0, "site_id"]
    'bases:5c5223c938e1af9c'
    """
    path = Path(path)
    where = str(path) if layer is None else f"{path} (layer {layer!r})"
    raw, label = _read_vector(path, layer=layer, member=member)
    if raw.crs is None:
        raise SiteDataError(
            f"{where}: no CRS (expected one in the file, e.g. EPSG:4326 in a .prj or the "
            "GeoPackage layer's SRS); refusing to guess"
        )
    try:
        raw = raw.to_crs("EPSG:4326")
    except (pyproj.exceptions.ProjError, pyproj.exceptions.CRSError, ValueError) as exc:
        raise SiteDataError(
            f"{where}: its CRS cannot be converted to EPSG:4326 ({_one_line(exc)[:150]}); "
            "expected a CRS PROJ can convert (is the .prj damaged?)"
        ) from None
    fields = [c for c in raw.columns if c != raw.geometry.name]
    known = next((k for k in _KNOWN_SOURCES if set(k.fields) <= set(fields)), None)
    problems: list[str] = []

    cats, found = _categories(raw, category, known.category if known else None)
    problems += found
    cat_series = pd.Series(cats, dtype=object)

    if name_field is not None and name_field not in fields:
        problems.append(f"name_field={name_field!r} is not a field (fields: {fields})")
    name_col = name_field or (known.name_field if known else None)
    name_col = name_col or next((f for f in NAME_FIELDS if f in fields), None)
    names = raw[name_col] if name_col in fields else pd.Series(pd.NA, index=raw.index)

    if id_field is not None and id_field not in fields:
        problems.append(f"id_field={id_field!r} is not a field (fields: {fields})")
    id_col = id_field or (known.id_field if known else None)
    id_col = id_col or next((f for f in ID_FIELDS if f in fields), None)
    raw_ids = _id_text(raw[id_col]) if id_col in fields else np.full(len(raw), None, object)
    has_id = pd.notna(raw_ids)
    site_id = _site_ids(
        raw_ids,
        np.asarray(raw.geometry.array, dtype=object),
        tag=id_prefix or (known.tag if known else None),
        file_tag=_slug(path.stem),
        verbatim=id_col == "site_id" and id_prefix is None,
    )
    position = np.arange(len(raw)).astype(str)
    key = np.where(has_id, raw_ids, position)
    source = [f"{lab}:{i}" for lab, i in zip(label, key, strict=True)]

    sens, found = resolve_sensitivity(sensitivity, cat_series, raw.get("sensitivity"))
    problems += found
    radius, found = _radius(point_radius_m, cat_series)
    problems += found

    records = pd.DataFrame(
        {
            "site_id": site_id,
            "id_derived": ~has_id,
            "name": names.reset_index(drop=True).astype("string"),
            "category": cat_series,
            "radius_m": radius,
            "source": source,
        }
    )
    if sens is not None:
        records["sensitivity"] = sens.reset_index(drop=True)
    for col in (*PASSTHROUGH[1:], "geometry_origin"):
        if col in fields:
            records[col] = raw[col].reset_index(drop=True)
    hint = f"they come from field {id_col!r}; choose another with id_field=" if id_col else ""
    built = build_sites(
        records,
        np.asarray(raw.geometry.array, dtype=object),
        path=where,
        problems=problems,
        id_hint=hint,
    )
    if raw.attrs.get("gdal_warnings"):
        built.attrs["read_report"]["warnings"] = raw.attrs["gdal_warnings"][:20]
    return built


def _read_vector(
    path: Path, *, layer: str | None, member: str | None
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Open the file (choosing layer and archive member); every library error becomes one line.

    Returns the features and, for each, the label of the file (and layer) it came from.
    """
    if not path.exists():
        raise SiteDataError(f"{path}: no such file (expected {_FORMATS})")
    suffix = path.suffix.lower()
    if member is not None and suffix != ".zip":
        raise SiteDataError(f"{path}: member={member!r} given, but the file is not a .zip archive")
    if suffix in _PARQUET_SUFFIXES:
        if layer is not None:
            raise SiteDataError(f"{path}: layer={layer!r} given, but GeoParquet has no layers")
        try:
            frame = gpd.read_parquet(path)
        except (ValueError, OSError, TypeError) as exc:
            raise SiteDataError(f"{path}: cannot read as GeoParquet: {_one_line(exc)}") from None
        return frame, [path.name] * len(frame)
    source, name, kml = str(path), path.name, suffix in _KML_SUFFIXES
    if suffix == ".zip":
        chosen = _zip_dataset(path, member)
        source, name = vsizip_path(path, chosen), f"{path.name}/{chosen}"
        kml = chosen.lower().endswith(".kml")
        if kml:
            _refuse_xml_declarations(path, read_head(path, chosen, 65536))
    elif suffix == ".kmz":
        for inner in list_members(path):
            if inner.lower().endswith(".kml"):
                _refuse_xml_declarations(path, read_head(path, inner, 65536))
    if suffix == ".kml":
        with path.open("rb") as handle:
            _refuse_xml_declarations(path, handle.read(65536))
    # GDAL reports what it could not read (a geometry of an unknown type, a coordinate with
    # one dimension) as warnings and reads on; they are kept for the read report rather than
    # printed, and the features concerned are rejected by reason ("missing geometry").
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame, labels = _read_layers(path, source, name, layer=layer, kml=kml)
    frame.attrs["gdal_warnings"] = sorted({str(w.message) for w in caught})
    return frame, labels


def _read_layers(
    path: Path, source: str, name: str, *, layer: str | None, kml: bool
) -> tuple[gpd.GeoDataFrame, list[str]]:
    try:
        layers = pyogrio.list_layers(source)
        names = [str(n) for n in layers[:, 0]]
        spatial = [str(n) for n, kind in layers if kind is not None]
        if layer is not None and layer not in names:
            raise SiteDataError(f"{path}: no layer {layer!r} (layers: {names})")
        if layer is not None:
            chosen_layers = [layer]
        elif kml:
            chosen_layers = spatial or names[:1]
        elif len(names) > 1:
            if len(spatial) != 1:
                raise SiteDataError(
                    f"{path}: {len(names)} layers {names}; pass layer= to choose one"
                )
            chosen_layers = spatial
        else:
            chosen_layers = [None]
        # A NaN coordinate makes shapely's WKB parser warn; such a site is rejected later
        # ("coordinates out of range", sites.geometry), so the warning says nothing new.
        with np.errstate(invalid="ignore"):
            frames = [pyogrio.read_dataframe(source, layer=c) for c in chosen_layers]
    except _PYOGRIO_ERRORS as exc:
        raise SiteDataError(
            f"{path}: cannot read ({_one_line(exc)}); expected {_FORMATS}"
        ) from None
    if not frames or not all(isinstance(f, gpd.GeoDataFrame) for f in frames):
        raise SiteDataError(
            f"{path}: no geometry in the file (expected {_FORMATS}); "
            "for CSV point catalogues use read_point_catalog"
        )
    labels = [
        name if c is None or (layer is None and not kml) else f"{name}/{c}"
        for c, f in zip(chosen_layers, frames, strict=True)
        for _ in range(len(f))
    ]
    if len(frames) == 1:
        return frames[0], labels
    crs = frames[0].crs
    # KML layers differ in their fields (ExtendedData); concat aligns them
    frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)
    return frame, labels


def _zip_dataset(path: Path, member: str | None) -> str:
    """Check the archive and choose the dataset to read from it."""
    members = list_members(path)
    if member is not None:
        if member not in members:
            raise SiteDataError(f"{path}: no member {member!r} (members: {members[:20]})")
        return member
    for ext in _ZIP_DATASETS:
        found = [m for m in members if m.lower().endswith(ext)]
        if len(found) == 1:
            return found[0]
        if found:
            raise SiteDataError(
                f"{path}: {len(found)} datasets {found[:10]} in the archive; "
                "pass member= to choose one"
            )
    raise SiteDataError(
        f"{path}: no vector dataset in the archive (members: {members[:20]}); expected one of "
        f"{', '.join(_ZIP_DATASETS)}"
    )


def _refuse_xml_declarations(path: Path, head: bytes) -> None:
    found = [d.decode() for d in _XML_DECLARATIONS if d in head]
    if found:
        raise SiteDataError(
            f"{path}: the KML declares {' and '.join(found)}; refused (KML needs no DTD or "
            "entities, and entities can read local files)"
        )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _categories(
    raw: pd.DataFrame, category: str | Mapping[str, str] | None, default: str | None
) -> tuple[npt.NDArray[np.object_], list[str]]:
    """Each feature's category, or None where it is unknown, and the problems found."""
    n = len(raw)
    expected = f"expected one of {', '.join(CATEGORIES)}"
    if isinstance(category, str):
        value = normalise_category(category)
        if value is None:
            problem = f"category={category!r} is not a category ({expected})"
            return np.full(n, None, object), [problem]
        return np.full(n, value, object), []
    problems = []
    mapping: dict[str, str] = {}
    for label, target in (category or {}).items():
        value = normalise_category(target)
        if value is None:
            problems.append(
                f"category mapping {label!r}: {target!r} is not a category ({expected})"
            )
        else:
            mapping[str(label).strip()] = value
    field = next((f for f in CATEGORY_FIELDS if f in raw.columns), None)
    if field is None:
        # an empty file has no fields to look in, and nothing to categorise either
        if n == 0 or (default is not None and not mapping):
            return np.full(n, default, object), problems
        problems.append(
            f"no category field (looked for {', '.join(CATEGORY_FIELDS)}); "
            "pass category='<category>' to set one for the whole file"
        )
        return np.full(n, None, object), problems
    labels = raw[field].astype("string").str.strip()
    lookup = {u: mapping.get(u) or normalise_category(u) for u in labels.dropna().unique()}
    values = labels.map(lookup).astype(object)
    values = values.where(values.notna(), None)
    unknown = values.isna()
    if unknown.any():
        counts = labels[unknown].fillna("<missing>").value_counts()
        listing = ", ".join(f"{k!r} ({v} feature{'s' * (v > 1)})" for k, v in counts.items())
        problems.append(
            f"unrecognised category labels in field {field!r}: {listing} ({expected}); pass "
            "category='<category>' for the whole file or category={'<label>': '<category>'} "
            "to translate labels"
        )
    return values.to_numpy(dtype=object), problems


def _radius(
    point_radius_m: float | None, category: pd.Series
) -> tuple[npt.NDArray[np.float64], list[str]]:
    default = category.map(POINT_RADIUS_M).astype(float).fillna(POINT_RADIUS_M["other"])
    if point_radius_m is None:
        return default.to_numpy(), []
    value = float(point_radius_m)
    if not np.isfinite(value) or value <= 0:
        # the defaults let the rest of the file be checked, so that every problem is reported
        return default.to_numpy(), [
            f"point_radius_m={point_radius_m!r}: expected a positive number of metres"
        ]
    return np.full(len(category), value), []


def _site_ids(
    raw_ids: npt.NDArray[np.object_],
    geoms: npt.NDArray[np.object_],
    *,
    tag: str | None,
    file_tag: str,
    verbatim: bool,
) -> npt.NDArray[np.object_]:
    """Prefix the file's ids with the source tag; derive the missing ones from the geometry."""
    has_id = pd.notna(raw_ids)
    if tag is None and has_id.any() and all(_OSM_REF.fullmatch(i) for i in raw_ids[has_id]):
        tag = "osm"
    tag = tag or file_tag
    derived = [f"{file_tag if verbatim else tag}:{h}" for h in _geometry_hash(geoms)]
    given = raw_ids if verbatim else [f"{tag}:{i}" for i in raw_ids]
    return np.where(has_id, np.asarray(given, dtype=object), np.asarray(derived, dtype=object))


def _id_text(values: pd.Series) -> npt.NDArray[np.object_]:
    """Turn identifiers into text: integral floats lose ``.0``, GML references their ``#``."""
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")
    text = values.astype("string").str.strip().str.lstrip("#")
    text = text.where(text != "")
    return np.array([None if pd.isna(v) else str(v) for v in text], dtype=object)


def _geometry_hash(geoms: npt.NDArray[np.object_]) -> list[str | None]:
    """Digest each geometry into a short, platform-independent text (None if missing)."""
    # rounding to 1e-7 degrees (~1 cm) hides floating-point noise from reprojection; adding 0.0
    # turns -0.0 into 0.0, whose WKB differs
    # (coordinates near the float limit overflow when rounded: their sites are rejected anyway)
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = shapely.transform(shapely.force_2d(geoms), lambda c: np.round(c, 7) + 0.0)
    wkb = shapely.to_wkb(rounded, byte_order=1)
    return [
        None if b is None else hashlib.blake2b(b, digest_size=8).hexdigest() for b in wkb
    ]


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "sites"
