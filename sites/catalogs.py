"""Read CSV catalogues that give sites as points (airports, nuclear and other power plants).

Supported catalogues (:data:`KINDS`), recognised from their header when ``kind`` is not given:

========================  ============================================  ===============  =========
kind                      source                                        site_id          category
========================  ============================================  ===============  =========
``airportsdata``          mborsetti/airportsdata ``airports.csv``       ``icao:<icao>``  airport
``geonucleardata``        GeoNuclearData ``nuclear_power_plants.csv``   ``geonuclear:``  nuclear
                          (one row per reactor)                         ``<Id>``
``wri``                   WRI raw national lists (``WRI_raw_*.csv``)    ``wri:<id>``     by fuel
``gppd``                  Global Power Plant Database                   ``gppd:<id>``    by fuel
                          (``global_power_plant_database.csv`` and
                          its per-source slices such as
                          ``database_GEODB.csv``)
========================  ============================================  ===============  =========

"By fuel": ``nuclear`` where the fuel is Nuclear, else ``power_plant``.

GeoNuclearData lists reactors, not plants: units of one plant share its coordinates and a name
such as ``Kashiwazaki Kariwa-3``. With ``by_plant=True`` (the default) they become one site, named
after the plant (``Kashiwazaki Kariwa``), with the id of its first unit; the other units are
counted as merged (``read_report["merged"]``) under ``"another unit of the same plant"``, so that
a plant with seven reactors is not counted as seven exposed sites.

Radius of the circle that stands for a site: ``radius_m`` if given; otherwise the category's
:data:`~sites.taxonomy.POINT_RADIUS_M`, except for non-nuclear power plants with a known
capacity, whose radius grows with capacity (:func:`power_plant_radius`).

Rows without usable coordinates or id are rejected and counted in ``attrs["read_report"]``:
``"missing id"``, ``"missing coordinates"``, ``"unparseable coordinates"``,
``"coordinates out of range"`` and ``"coordinates at 0,0"`` (a common placeholder for unknown).
With ``country``, ``n_read`` counts the rows of that country.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from sites.build import build_sites
from sites.errors import SiteDataError
from sites.taxonomy import POINT_RADIUS_M

__all__ = ["KINDS", "CatalogKind", "power_plant_radius", "read_point_catalog"]

#: Capacity (MW) of a power plant given the category's default radius.
REFERENCE_CAPACITY_MW = 500.0
#: Bounds of the capacity-scaled power-plant radius, in metres.
POWER_PLANT_RADIUS_RANGE_M = (150.0, 1000.0)


@dataclass(frozen=True)
class CatalogKind:
    """Where a point catalogue keeps each thing the sites table needs."""

    name: str
    #: Prefix of the site id.
    tag: str
    id: str
    label: str
    lat: str
    lon: str
    #: Columns the ``country`` filter looks at, with what they hold (for error messages).
    country: tuple[tuple[str, str], ...]
    #: The category of every row, or None to decide by ``fuel``.
    category: str | None = None
    fuel: str | None = None
    capacity: str | None = None

    @property
    def required(self) -> tuple[str, ...]:
        """Columns the file must have."""
        extra = tuple(c for c in (self.fuel,) if c)
        return (self.id, self.label, self.lat, self.lon, *(c for c, _ in self.country), *extra)


#: The catalogues :func:`read_point_catalog` reads, by kind.
KINDS: dict[str, CatalogKind] = {
    k.name: k
    for k in (
        CatalogKind(
            name="airportsdata",
            tag="icao",
            id="icao",
            label="name",
            lat="lat",
            lon="lon",
            country=(("country", "ISO 3166-1 alpha-2 codes"),),
            category="airport",
        ),
        CatalogKind(
            name="geonucleardata",
            tag="geonuclear",
            id="Id",
            label="Name",
            lat="Latitude",
            lon="Longitude",
            country=(("CountryCode", "ISO 3166-1 alpha-2 codes"), ("Country", "names")),
            category="nuclear",
        ),
        CatalogKind(
            name="wri",
            tag="wri",
            id="Power Plant ID",
            label="Name",
            lat="Latitude",
            lon="Longitude",
            country=(("Country", "names"),),
            fuel="Fuel",
            capacity="Capacity (MW)",
        ),
        CatalogKind(
            name="gppd",
            tag="gppd",
            id="gppd_idnr",
            label="name",
            lat="latitude",
            lon="longitude",
            country=(("country", "ISO 3166-1 alpha-3 codes"), ("country_long", "names")),
            fuel="primary_fuel",
            capacity="capacity_mw",
        ),
    )
}


def power_plant_radius(capacity_mw: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Radius in metres of the circle that stands for a (non-nuclear) power plant.

    ``r = clamp(R · sqrt(P / 500 MW), 150 m, 1000 m)``, rounded to the metre, with
    ``R = POINT_RADIUS_M["power_plant"]`` (300 m) and ``P`` the capacity; ``R`` where the
    capacity is unknown or not positive. This is the package's own rule of thumb: a thermal
    plant's land (units, fuel yard, switchyard) grows roughly in proportion to its capacity, so
    the radius grows with its square root; a mid-size 500 MW plant gets the category's radius.
    Solar and wind farms use far more land per MW and are under-represented by it.

    Parameters
    ----------
    capacity_mw : array_like
        Capacity in MW; NaN where unknown.

    Returns
    -------
    numpy.ndarray
        Radii in metres.

    Examples
    --------
    >>> power_plant_radius([20.0, 500.0, 2000.0, 8212.0, float("nan")]).tolist()
    [150.0, 300.0, 600.0, 1000.0, 300.0]
    """
    base = POINT_RADIUS_M["power_plant"]
    p = np.asarray(capacity_mw, dtype=float)
    known = np.isfinite(p) & (p > 0)
    scaled = base * np.sqrt(np.where(known, p, REFERENCE_CAPACITY_MW) / REFERENCE_CAPACITY_MW)
    return np.round(np.clip(scaled, *POWER_PLANT_RADIUS_RANGE_M))


def read_point_catalog(
    path: str | PathLike[str],
    *,
    kind: str | None = None,
    country: str | None = None,
    radius_m: float | None = None,
    by_plant: bool = True,
) -> gpd.GeoDataFrame:
    r"""Read a CSV point catalogue into the canonical sites table (points become circles).

    Parameters
    ----------
    path : str or path-like
        The CSV file (UTF-8).
    kind : str, optional
        One of :data:`KINDS`; detected from the header when not given.
    country : str, optional
        Keep only this country, matched (case-insensitively) against the catalogue's country
        columns: ISO codes or names, as the catalogue has them (e.g. ``"JP"`` for airportsdata
        and GeoNuclearData, ``"JPN"`` or ``"Japan"`` for the Global Power Plant Database).
    radius_m : float, optional
        Radius of every circle; default per category (see the module notes).
    by_plant : bool
        GeoNuclearData only: merge the reactor units of one plant into one site.

    Returns
    -------
    geopandas.GeoDataFrame
        The sites table, with ``attrs["read_report"]``.

    Raises
    ------
    SiteDataError
        If the file is missing or unreadable, the kind is unknown or its columns are missing,
        no row matches ``country``, or an id repeats.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = ('"icao","iata","name","city","subd","country","elevation","lat","lon","tz","lid"\n'
    ...         '"RJTT","HND","Tokyo Haneda","Tokyo","Tokyo","JP",35,35.5523,139.78,"",""\n'
    ...         '"XXXX","","Nowhere","","","JP",0,,,"",""\n')
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "airports.csv")
    ...     _ = p.write_text(text)
    ...     s = read_point_catalog(p, country="jp")
    >>> s.loc[0, ["site_id", "category", "geometry_origin", "source"]].tolist()
    ['icao:RJTT', 'airport', 'point+1500m', 'airports.csv:RJTT']
    >>> s.attrs["read_report"]["rejected"]
    {'missing coordinates': 1}
    """
    path = Path(path)
    table = _read_csv(path)
    spec = _kind(path, table, kind)
    if radius_m is not None and not (np.isfinite(float(radius_m)) and float(radius_m) > 0):
        raise SiteDataError(f"{path}: radius_m={radius_m!r}: expected a positive number of metres")
    if country is not None:
        table = _filter_country(path, table, spec, country)
    table = table.reset_index(drop=True)

    ident = table[spec.id].str.strip()
    lat_text, lon_text = table[spec.lat], table[spec.lon]
    lat = pd.to_numeric(lat_text, errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(lon_text, errors="coerce").to_numpy(dtype=float)
    missing = (lat_text.isna() | lon_text.isna()).to_numpy()
    unparseable = ~missing & ~(np.isfinite(lat) & np.isfinite(lon))
    with np.errstate(invalid="ignore"):
        out_of_range = (np.abs(lat) > 90) | (np.abs(lon) > 180)
    reason = np.select(
        [ident.isna().to_numpy(), missing, unparseable, out_of_range, (lat == 0) & (lon == 0)],
        ["missing id", "missing coordinates", "unparseable coordinates",
         "coordinates out of range", "coordinates at 0,0"],
        default="",
    ).astype(object)
    reason[reason == ""] = None
    name = table[spec.label]
    if by_plant and spec.name == "geonucleardata":
        name, reason = _merge_units(name, lat, lon, reason)
    usable = pd.isna(reason)
    geometry = np.full(len(table), None, dtype=object)
    geometry[usable] = shapely.points(lon[usable], lat[usable])

    if spec.category is not None:
        category = pd.Series(spec.category, index=table.index, dtype=object)
    else:
        nuclear = table[spec.fuel].str.strip().str.casefold().eq("nuclear").fillna(False)
        category = pd.Series(np.where(nuclear, "nuclear", "power_plant"), dtype=object)
    radius = np.array(category.map(POINT_RADIUS_M), dtype=float)
    if spec.capacity is not None and spec.capacity in table:
        capacity = pd.to_numeric(table[spec.capacity], errors="coerce").to_numpy(dtype=float)
        plant = (category == "power_plant").to_numpy()
        radius[plant] = power_plant_radius(capacity[plant])
    if radius_m is not None:
        radius[:] = float(radius_m)

    records = pd.DataFrame(
        {
            "site_id": spec.tag + ":" + ident.fillna(""),
            "id_derived": False,
            "name": name,
            "category": category,
            "radius_m": radius,
            "source": path.name + ":" + ident.fillna(""),
            "reason": reason,
        }
    )
    return build_sites(records, geometry, path=str(path))


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise SiteDataError(f"{path}: no such file (expected a CSV point catalogue)")
    try:
        # everything as text: ids such as "00AA" keep their zeros, and only an empty field is
        # missing (pandas would otherwise read Namibia's country code "NA" as missing)
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as exc:
        text = str(exc).strip().splitlines()
        raise SiteDataError(
            f"{path}: cannot read as a UTF-8 CSV catalogue ({text[0] if text else exc!r})"
        ) from None


def _kind(path: Path, table: pd.DataFrame, kind: str | None) -> CatalogKind:
    header = set(table.columns)
    if kind is None:
        found = [k for k in KINDS.values() if set(k.required) <= header]
        if not found:
            known = "; ".join(f"{k.name}: {list(k.required)}" for k in KINDS.values())
            raise SiteDataError(
                f"{path}: not a known point catalogue (header starts {list(table.columns)[:6]}); "
                f"expected the columns of one of {known}"
            )
        return found[0]
    if kind not in KINDS:
        raise SiteDataError(f"{path}: kind={kind!r} is not one of {sorted(KINDS)}")
    spec = KINDS[kind]
    missing = [c for c in spec.required if c not in header]
    if missing:
        raise SiteDataError(f"{path}: missing columns {missing} for a {kind} catalogue")
    return spec


def _filter_country(
    path: Path, table: pd.DataFrame, spec: CatalogKind, country: str
) -> pd.DataFrame:
    wanted = country.strip().casefold()
    match = np.zeros(len(table), dtype=bool)
    for column, _ in spec.country:
        match |= table[column].str.strip().str.casefold().eq(wanted).fillna(False).to_numpy()
    if len(table) and not match.any():
        held = "; ".join(
            f"column {col!r} holds {what} such as {list(table[col].dropna().unique()[:3])}"
            for col, what in spec.country
        )
        raise SiteDataError(f"{path}: no row has country {country!r} ({held})")
    return table.loc[match]


_UNIT_SUFFIX = r"[-\s]+(?:\d+[A-Za-z]?|[IVX]+)$"


def _merge_units(
    name: pd.Series, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64], reason: np.ndarray
) -> tuple[pd.Series, np.ndarray]:
    """Plant names, and a merge reason on every unit after the first of each plant.

    Units belong to one plant when their names agree once the unit number is stripped and they
    sit at the same coordinates (to about 10 m).
    """
    stem = name.str.replace(_UNIT_SUFFIX, "", regex=True).str.strip()
    key = pd.DataFrame({"stem": stem, "lat": np.round(lat, 4), "lon": np.round(lon, 4)})
    usable = np.flatnonzero(pd.isna(reason))
    later = usable[key.iloc[usable].duplicated().to_numpy()]
    out = reason.copy()
    out[later] = "merged: another unit of the same plant"
    return stem.where(stem.str.len() > 0, name), out
