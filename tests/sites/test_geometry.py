from __future__ import annotations

import math

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from sites.geometry import N_VERTICES, buffer_metric, circles, to_site_polygons

GEOD = pyproj.Geod(ellps="WGS84")
# the inscribed N-gon's share of the circle's area
POLYGON_SHARE = N_VERTICES / (2 * math.pi) * math.sin(2 * math.pi / N_VERTICES)


def geodesic_area(geom: shapely.Geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


@settings(max_examples=60, deadline=None)
@given(
    lon=st.floats(-180.0, 180.0),
    lat=st.floats(-85.0, 85.0),
    radius=st.floats(10.0, 20_000.0),
)
def test_circle_area_is_pi_r_squared_within_half_a_percent(lon, lat, radius) -> None:
    (c,) = circles([lon], [lat], radius)
    assert shapely.is_valid(c)
    assert c.bounds[0] >= -180.0 and c.bounds[2] <= 180.0
    ratio = geodesic_area(c) / (math.pi * radius**2)
    assert abs(ratio - 1) < 0.005
    assert ratio == pytest.approx(POLYGON_SHARE, abs=2e-4)


def test_circle_vertices_are_at_the_radius() -> None:
    (c,) = circles([141.03], [37.42], 600.0)
    x, y = np.asarray(c.exterior.coords).T
    _, _, dist = GEOD.inv(np.full(len(x), 141.03), np.full(len(x), 37.42), x, y)
    assert dist == pytest.approx(600.0, abs=1e-6)
    assert c.exterior.is_ccw


def test_circle_across_the_antimeridian_is_split() -> None:
    (c,) = circles([179.999], [-16.7], 1000.0)
    assert c.geom_type == "MultiPolygon" and len(c.geoms) == 2
    assert shapely.is_valid(c)
    west, east = sorted(c.geoms, key=lambda g: g.bounds[0])
    assert west.bounds[0] == pytest.approx(-180.0, abs=0.02) and east.bounds[2] == 180.0
    assert geodesic_area(c) == pytest.approx(POLYGON_SHARE * math.pi * 1e6, rel=1e-3)


@pytest.mark.parametrize(("lat", "north"), [(-90.0, False), (89.999, True)])
def test_circle_around_a_pole_is_a_cap(lat: float, north: bool) -> None:
    (c,) = circles([0.0], [lat], 1500.0)
    assert shapely.is_valid(c)
    assert c.bounds[0] == -180.0 and c.bounds[2] == 180.0
    pole = 90.0 if north else -90.0
    assert (c.bounds[3] if north else c.bounds[1]) == pole
    near_pole = shapely.Point(123.0, pole - math.copysign(0.005, pole))
    assert c.contains(near_pole)


def test_buffer_metric_near_the_north_pole_uses_ups() -> None:
    line = shapely.LineString([(10.0, 85.5), (10.05, 85.5)])
    (b,) = buffer_metric([line], 200.0)
    assert shapely.is_valid(b)
    length = GEOD.geometry_length(line)
    expected = length * 400.0 + math.pi * 200.0**2
    assert geodesic_area(b) == pytest.approx(expected, rel=0.01)


def test_to_site_polygons_handles_every_kind() -> None:
    square = shapely.box(135.0, 35.0, 135.01, 35.01)
    collection = shapely.GeometryCollection([shapely.Point(135, 35), square])
    multipoint = shapely.MultiPoint([(135.0, 35.0), (135.001, 35.0)])  # overlapping circles
    polygon_z = shapely.Polygon([(135, 35, 5), (135.01, 35, 5), (135.01, 35.01, 5)])
    r = to_site_polygons([square, collection, multipoint, polygon_z], [100.0, 100.0, 100.0, 1.0])
    assert r.reason.tolist() == [None] * 4
    assert r.origin.tolist() == ["polygon", "polygon", "point+100m", "polygon"]
    assert r.geometry[1].equals(square)
    assert r.geometry[2].geom_type == "Polygon"  # the two circles merged
    assert not r.geometry[3].has_z
    assert shapely.is_valid(r.geometry).all()


def test_to_site_polygons_rejects_points_without_a_radius() -> None:
    r = to_site_polygons([shapely.Point(135, 35), shapely.box(0, 0, 1, 1)], [np.nan, np.nan])
    assert r.reason.tolist() == ["no usable radius", None]
