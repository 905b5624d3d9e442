"""Small hand-made result tables for the map tests.

Three sites on the Miura peninsula (one scored high, one with a hostile name, one nobody came
near) and two flight tracks (one with a hostile drone id). The builders are plain functions so
that a subprocess can build the same tables (see the determinism test).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely import LineString, Point, box

XSS_NAME = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
XSS_DRONE = '" onmouseover="window.__xss=3'


def _times(values: list[str | None]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True), dtype="datetime64[ns, UTC]")


def make_site_exposure() -> gpd.GeoDataFrame:
    frame = pd.DataFrame(
        {
            "site_id": pd.array(["jp-mil-001", "jp-pwr-002", "jp-dam-003"], dtype="string"),
            "name": pd.array(["Yokosuka naval base", XSS_NAME, "Sagami dam"], dtype="string"),
            "category": pd.array(["military", "power_plant", "dam"], dtype="string"),
            "sensitivity": pd.array([5, 4, 3], dtype="int64"),
            "flights": pd.array([3, 1, 0], dtype="int64"),
            "drones": pd.array([2, 1, 0], dtype="int64"),
            "seconds_in_view": [412.0, 65.0, float("nan")],
            "min_slant_range_m": [180.0, 1250.0, float("nan")],
            "best_gsd_m": [0.05, 0.41, float("nan")],
            "best_niirs": [8.5, 5.5, float("nan")],
            "best_niirs_meaning": pd.array(
                ["readable markings", "equipment types, rail cars by type", None], dtype="string"
            ),
            "coverage_fraction": [0.62, 0.18, float("nan")],
            "coverage_fraction_niirs5": [0.48, 0.05, float("nan")],
            "first_seen": _times(["2024-05-01T09:12:00Z", "2024-05-02T14:00:05Z", None]),
            "last_seen": _times(["2024-05-03T16:40:30Z", "2024-05-02T14:01:10Z", None]),
            "mode": pd.array(["observed", "potential", None], dtype="string"),
            "risk_score": [92.0, 44.0, float("nan")],
            "risk_explanation": pd.array(
                ["5 × 20 × 0.92: 62 % imaged, NIIRS 8.5, 7 min", "4 × 20 × 0.55: 18 % imaged",
                 None],
                dtype="string",
            ),
        }
    )
    polygons = [
        box(139.655, 35.285, 139.685, 35.305),
        box(139.600, 35.240, 139.625, 35.260),
        box(139.560, 35.300, 139.575, 35.312),
    ]
    return gpd.GeoDataFrame(frame, geometry=polygons, crs="EPSG:4326")


def make_flights() -> gpd.GeoDataFrame:
    frame = pd.DataFrame(
        {
            "flight_id": pd.array(["DJI_20240501_0912", "skydio-0002"], dtype="string"),
            "drone_id": pd.array(["1581F5FHD23", XSS_DRONE], dtype="string"),
            "model": pd.array(["Mavic 3", "X2"], dtype="string"),
            "vendor": pd.array(["DJI", "Skydio"], dtype="string"),
            "camera": pd.array(["DJI Mavic 3 wide", "Skydio X2"], dtype="string"),
            "start": _times(["2024-05-01T09:10:00Z", "2024-05-02T13:58:00Z"]),
            "end": _times(["2024-05-01T09:31:00Z", "2024-05-02T14:05:00Z"]),
            "n_samples": pd.array([1260, 420], dtype="int64"),
        }
    )
    tracks = [
        LineString([(139.640, 35.275), (139.662, 35.290), (139.690, 35.300), (139.700, 35.315)]),
        LineString([(139.590, 35.232), (139.612, 35.266), (139.640, 35.270)]),
    ]
    return gpd.GeoDataFrame(frame, geometry=tracks, crs="EPSG:4326")


def make_provenance() -> dict[str, object]:
    return {
        "sites": "sites/<b>catalogue</b>.geojson",
        "logs": ["DJI_20240501_0912.SRT", "skydio-0002.csv"],
        "parameters": {"mode": "observed", "R_max": "5 km"},
        "version": "exposure 0.1.0",
    }


@pytest.fixture
def site_exposure() -> gpd.GeoDataFrame:
    return make_site_exposure()


@pytest.fixture
def flights() -> gpd.GeoDataFrame:
    return make_flights()


@pytest.fixture
def provenance() -> dict[str, object]:
    return make_provenance()


XSS_ZONE = "<b onmouseover=\"window.__xss=4\">Zone</b>"
XSS_RECEIVER = "<svg onload=\"window.__xss=5\">"


def make_points() -> pd.DataFrame:
    """Timed vertices of both fixture tracks (the vertices of make_flights' lines)."""
    rows = []
    for fid, start, minutes, line in (
        ("DJI_20240501_0912", "2024-05-01T09:10:00Z", (0, 7, 14, 21),
         make_flights().geometry.iloc[0]),
        ("skydio-0002", "2024-05-02T13:58:00Z", (0, 3.5, 7), make_flights().geometry.iloc[1]),
    ):  # fmt: skip
        for m, (x, y) in zip(minutes, line.coords, strict=True):
            rows.append({"flight_id": fid, "time": pd.Timestamp(start) + pd.Timedelta(minutes=m),
                         "lon": x, "lat": y})  # fmt: skip
    return pd.DataFrame(rows)


def make_passes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "flight_id": pd.array(["DJI_20240501_0912", "skydio-0002"], dtype="string"),
            "drone_id": pd.array(["1581F5FHD23", XSS_DRONE], dtype="string"),
            "site_id": pd.array(["jp-mil-001", "jp-pwr-002"], dtype="string"),
            "t_start": _times(["2024-05-01T09:13:30Z", "2024-05-02T14:00:05Z"]),
            "t_end": _times(["2024-05-01T09:24:00Z", "2024-05-02T14:01:10Z"]),
            "seconds_in_view": [630.0, 65.0],
            "min_slant_range_m": [180.0, 1250.0],
            "best_gsd_m": [0.05, 0.41],
            "best_niirs": [8.5, 5.5],
            "mode": pd.array(["potential", "potential"], dtype="string"),
            "n_samples": pd.array([630, 65], dtype="int64"),
            "capturing": pd.array([True, None], dtype="boolean"),
        }
    )


def make_coverage() -> gpd.GeoDataFrame:
    d = 0.002
    cells = [box(139.660 + i * d, 35.290, 139.660 + (i + 1) * d, 35.290 + d) for i in range(4)]
    return gpd.GeoDataFrame(
        {"site_id": ["jp-mil-001"] * 4, "best_gsd_m": [0.05, 0.05, 0.3, 0.3],
         "best_niirs": [8.5, 8.4, 6.2, 6.1]},
        geometry=cells, crs="EPSG:4326",
    )  # fmt: skip


def make_zones() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [XSS_ZONE, "Proposed 1 km buffer"], "restriction": ["PROHIBITED"] * 2,
         "floor_m": [0.0, 0.0], "ceiling_m": [150.0, float("nan")],
         "vertical_ref": ["AGL", "AGL"], "source": ["test", "plan"],
         "status": ["existing", "proposed"]},
        geometry=[box(139.650, 35.280, 139.690, 35.310), box(139.595, 35.235, 139.630, 35.265)],
        crs="EPSG:4326",
    )  # fmt: skip


def make_violations() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"flight_id": ["DJI_20240501_0912"], "drone_id": ["1581F5FHD23"], "zone": [XSS_ZONE],
         "t_entry": _times(["2024-05-01T09:14:00Z"]), "t_exit": _times(["2024-05-01T09:22:00Z"])},
        geometry=[LineString([(139.655, 35.287), (139.685, 35.299)])], crs="EPSG:4326",
    )  # fmt: skip


def make_receivers() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [XSS_RECEIVER], "range_m": [3000.0]},
        geometry=[Point(139.62, 35.29)], crs="EPSG:4326",
    )  # fmt: skip


def make_footprints() -> gpd.GeoDataFrame:
    times = _times(["2024-05-01T09:16:00Z", "2024-05-01T09:20:00Z", "2024-05-01T09:40:00Z"])
    return gpd.GeoDataFrame(
        {"flight_id": ["DJI_20240501_0912"] * 3, "site_id": ["jp-mil-001"] * 3, "time": times},
        geometry=[box(139.66 + k * 0.005, 35.288, 139.664 + k * 0.005, 35.292) for k in range(3)],
        crs="EPSG:4326",
    )  # fmt: skip


def make_site_leaks() -> pd.DataFrame:
    return pd.DataFrame(
        {"site_id": ["jp-mil-001", "jp-pwr-002"], "p_any_imagery_leaked": [0.34, 0.02],
         "p_visits_known": [0.91, 0.5], "expected_leaked_coverage": [0.2, 0.01]}
    )  # fmt: skip


@pytest.fixture
def layers() -> dict[str, object]:
    """Every optional table of the full map, keyed by risk_map's argument names."""
    return {
        "points": make_points(),
        "passes": make_passes(),
        "coverage": make_coverage(),
        "zones": make_zones(),
        "violations": make_violations(),
        "receivers": make_receivers(),
        "footprints": make_footprints(),
        "site_leaks": make_site_leaks(),
    }
