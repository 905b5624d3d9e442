"""Small hand-made result tables for the map tests.

Three sites on the Miura peninsula (one scored high, one with a hostile name, one nobody came
near) and two flight tracks (one with a hostile drone id). The builders are plain functions so
that a subprocess can build the same tables (see the determinism test).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely import LineString, box

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
