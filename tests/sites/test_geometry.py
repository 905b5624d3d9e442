from __future__ import annotations

import math

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from sites.geometry import (
    N_VERTICES,
    buffer_metric,
    circles,
    to_site_polygons,
    unwrap_antimeridian,
)

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


# --- antimeridian and poles in polygons read from files ---------------------------------------


def test_polygon_across_the_antimeridian_is_split_not_a_world_band() -> None:
    # a 0.2° x 0.1° box from 179.9°E to 179.9°W, written the way many files write it
    box = shapely.Polygon([(179.9, -16.1), (-179.9, -16.1), (-179.9, -16.0), (179.9, -16.0)])
    assert box.bounds[2] - box.bounds[0] > 359  # as shapely reads it: around the world
    r = to_site_polygons([box], 0.0)
    geom = r.geometry[0]
    assert r.repaired.tolist() == [True] and r.origin.tolist() == ["polygon"]
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    east, west = sorted(geom.geoms, key=lambda g: -g.bounds[0])
    assert east.bounds == pytest.approx((179.9, -16.1, 180.0, -16.0))
    assert west.bounds == pytest.approx((-180.0, -16.1, -179.9, -16.0))
    assert geom.area == pytest.approx(0.2 * 0.1)


def test_holes_follow_their_shell_across_the_antimeridian() -> None:
    shell = [(179.0, 0.0), (-179.0, 0.0), (-179.0, 1.0), (179.0, 1.0)]
    hole = [(-179.8, 0.4), (-179.6, 0.4), (-179.6, 0.6), (-179.8, 0.6)]  # wholly west of it
    (geom,), changed = unwrap_antimeridian([shapely.Polygon(shell, [hole])])
    assert changed.tolist() == [True]
    assert geom.area == pytest.approx(2.0 - 0.04)
    assert not geom.contains(shapely.Point(-179.7, 0.5))
    assert geom.contains(shapely.Point(179.5, 0.5)) and geom.contains(shapely.Point(-179.1, 0.5))


def test_ring_around_the_pole_becomes_a_cap() -> None:
    ring = [(-180.0, 85.0), (-90.0, 85.0), (0.0, 85.0), (90.0, 85.0), (180.0, 85.0)]
    (geom,), changed = unwrap_antimeridian([shapely.Polygon(ring)])
    assert changed.tolist() == [True] and shapely.is_valid(geom)
    assert geom.bounds == pytest.approx((-180.0, 85.0, 180.0, 90.0))
    assert geom.contains(shapely.Point(45.0, 89.0))
    south = [(0.0, -75.0), (120.0, -75.0), (-120.0, -75.0), (0.0, -75.0)]
    (cap,), _ = unwrap_antimeridian([shapely.Polygon(south)])
    assert cap.bounds[1] == -90.0 and cap.contains(shapely.Point(10.0, -89.0))


def test_ordinary_and_wide_polygons_are_left_alone() -> None:
    square = shapely.box(10, 10, 11, 11)
    # wider than 180° but without a jump between vertices: a deliberate band
    band = shapely.Polygon([(-100, 0), (0, 0), (100, 0), (100, 1), (0, 1), (-100, 1)])
    out, changed = unwrap_antimeridian([square, band, None, shapely.Point(0, 0)])
    assert changed.tolist() == [False] * 4
    assert out[0].equals(square) and out[1].equals(band)


@pytest.mark.parametrize("lat", [89.0, -89.0, 89.9])
def test_circles_near_a_pole_keep_their_area(lat: float) -> None:
    (c,) = circles([30.0], [lat], 1500.0)
    assert shapely.is_valid(c)
    assert abs(geodesic_area(c) / (math.pi * 1500.0**2) - 1) < 0.005
