"""Hand-computable fixtures in a metric CRS, converted to the EPSG:4326 contract."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from exposure.cameras import Camera
from flightlogs.schema import make_flights, make_samples
from sites.schema import make_sites

UTM54 = 32654  # Tokyo's UTM zone
ORIGIN = (390_000.0, 3_950_000.0)  # a point in Tokyo Bay's zone, metres


@pytest.fixture
def camera72() -> Camera:
    """A fixed-lens camera with HFOV 72° and VFOV 57° (f = 10 mm, 4000 px across)."""
    f = 10.0
    return Camera(
        key="test72",
        vendor="test",
        models=("Test 72",),
        sensor_width_mm=2 * f * math.tan(math.radians(36)),
        sensor_height_mm=2 * f * math.tan(math.radians(28.5)),
        image_width_px=4000,
        image_height_px=3000,
        focal_min_mm=f,
        focal_max_mm=f,
        kind="visible",
        source="test",
    )


@pytest.fixture
def origin() -> tuple[float, float]:
    return ORIGIN


@pytest.fixture
def track():
    return _track


@pytest.fixture
def square_site():
    return _square_site


def to_wgs84(x, y):
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=UTM54).to_crs(4326)
    return pts.x.to_numpy(), pts.y.to_numpy()


def _track(x, y, *, height, t0="2024-05-01T00:00:00Z", dt=1.0, flight_id="f1", yaw=0.0, **cols):
    """A samples + flights pair from metric positions (x, y) sampled every dt seconds."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    lon, lat = to_wgs84(x, y)
    n = len(x)
    frame = pd.DataFrame(
        {
            "flight_id": flight_id,
            "time": pd.Timestamp(t0) + pd.to_timedelta(np.arange(n) * dt, unit="s"),
            "lon": lon,
            "lat": lat,
            "height_agl_m": np.broadcast_to(height, n).astype(float),
            "height_ref": "takeoff",
            "yaw_deg": np.broadcast_to(yaw, n).astype(float),
            "source_row": np.arange(1, n + 1),
            **cols,
        }
    )
    samples = make_samples(frame)
    flights = make_flights(
        pd.DataFrame(
            {
                "flight_id": [flight_id],
                "drone_id": ["SN-" + flight_id],
                "camera": ["test72"],
                "source_path": ["memory"],
                "source_format": ["test"],
                "n_read": [n],
                "n_samples": [n],
                "n_rejected": [0],
            }
        ),
        samples=samples,
    )
    return samples, flights


def _square_site(cx, cy, side, *, site_id="s1", category="military"):
    poly = gpd.GeoSeries(
        [shapely.box(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)], crs=UTM54
    ).to_crs(4326)
    return make_sites(
        gpd.GeoDataFrame(
            {"site_id": [site_id], "name": ["Site " + site_id], "category": [category]},
            geometry=poly.values,
            crs=4326,
        )
    )
