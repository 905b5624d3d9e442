import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasterio.warp import transform

from exposure.cameras import load_cameras
from exposure.crs import to_local
from exposure.footprint import boresight_points, footprint_rings, ring_polygons
from exposure.footprint_frames import footprints
from exposure.terrain import (
    Dem,
    TerrainError,
    curvature_drop_m,
    elevation,
    elevation_xy,
    heights_above_ground,
    local_dem,
    read_dem,
    visible,
)
from flightlogs.schema import make_samples

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
COBB = DATA / "dem" / "cobb.tif"
PHOTOS = DATA / "flightlogs" / "photos"
UTM16 = 32616  # Georgia's UTM zone
KENNESAW_SUMMIT = (-84.57944, 33.97611)  # the highest cell of cobb.tif, 552 m


def write_tif(path, values, transform, crs, nodata=None):
    values = np.asarray(values)
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[0],
                       width=values.shape[1], count=1, dtype=values.dtype, crs=crs,
                       transform=transform, nodata=nodata) as dst:
        dst.write(values, 1)
    return path


@pytest.fixture(scope="module")
def cobb() -> Dem:
    return read_dem(COBB)


@pytest.fixture(scope="module")
def cobb_utm(cobb) -> Dem:
    return local_dem(cobb, UTM16)


def photo_samples() -> pd.DataFrame:
    """The photo poses in Cobb County, read straight from their JSON metadata."""
    rows = []
    for path in sorted(PHOTOS.glob("*.json")):
        meta = json.loads(path.read_text(encoding="utf-8"))
        lat = float(meta["GPS Latitude"])
        if not 33.74 < lat < 34.08:  # image5.json is in Florida, off the DEM
            continue

        def get(*keys, meta=meta):
            return next(meta[k] for k in keys if k in meta)

        rows.append({
            "flight_id": path.stem, "time": "2024-06-09T12:00:00Z", "lat": lat,
            "lon": float(meta["GPS Longitude"]), "alt_msl_m": float(meta["GPS Altitude"]),
            # A positive depression angle in these files: the samples' pitch is its negative.
            "gimbal_pitch_deg": -float(get("drone:GimbalPitchDegree", "GimbalPitchDegree")),
            "gimbal_yaw_deg": float(get("drone:GimbalYawDegree", "GimbalYawDegree")),
            "gimbal_roll_deg": float(meta["Camera:Roll"]),
            "focal_length_mm": float(meta["Focal Length"]),
        })
    return make_samples(pd.DataFrame(rows))


# ---- reading and elevation -----------------------------------------------------------------


def test_read_cobb_and_bilinear_elevation(cobb):
    assert cobb.values.shape == (1206, 1342) and cobb.crs.to_epsg() == 4326
    assert 25 < cobb.resolution_m < 31
    with rasterio.open(COBB) as src:
        raw = src.read(1)
        t = src.transform
    col = int((KENNESAW_SUMMIT[0] - t.c) / t.a)
    row = int((KENNESAW_SUMMIT[1] - t.f) / t.e)
    cx, cy = t.c + (col + 0.5) * t.a, t.f + (row + 0.5) * t.e  # the pixel centre
    neighbour = float(raw[row, col + 1])
    assert raw[row, col] == 552 == raw.max()
    # At a pixel centre the interpolation returns the pixel; half-way, the mean of two.
    assert elevation(cobb, [cx], [cy])[0] == pytest.approx(552.0, abs=1e-6)
    half = elevation(cobb, [cx + cobb.transform.a / 2], [cy])[0]
    assert half == pytest.approx((552.0 + neighbour) / 2)
    assert math.isnan(elevation(cobb, [-80.0], [30.0])[0])


def test_windowed_read_matches_the_full_one(cobb):
    box = (-84.60, 33.95, -84.55, 34.00)
    part = read_dem(COBB, bounds=box)
    assert part.values.size < cobb.values.size / 10
    lon = np.linspace(-84.599, -84.551, 25)
    lat = np.linspace(33.951, 33.999, 25)
    assert elevation(part, lon, lat) == pytest.approx(elevation(cobb, lon, lat))


def test_nodata_becomes_nan_and_any_crs_is_read(tmp_path):
    values = np.array([[100, 110, -9999], [120, 130, 140], [150, 160, 170]], dtype=np.int16)
    path = write_tif(tmp_path / "utm.tif", values, Affine(30, 0, 500_000, 0, -30, 3_760_000),
                     "EPSG:32616", nodata=-9999)
    dem = read_dem(path)
    assert math.isnan(dem.values[0, 2]) and dem.values[1, 1] == 130.0
    # Through EPSG:4326: the centre of the middle pixel is (500045, 3759955) in UTM 16 N.
    lon, lat = transform("EPSG:32616", "EPSG:4326", [500_045.0], [3_759_955.0])
    assert elevation(dem, lon, lat)[0] == pytest.approx(130.0, abs=1e-6)
    # Next to the nodata cell there is nothing to interpolate from.
    assert math.isnan(elevation_xy(dem, [500_070.0], [3_759_985.0])[0])


def test_unreadable_dems_are_reported(tmp_path):
    with pytest.raises(TerrainError, match=r"absent\.tif: cannot read"):
        read_dem(tmp_path / "absent.tif")
    text = tmp_path / "notes.tif"
    text.write_text("not a raster", encoding="utf-8")
    with pytest.raises(TerrainError, match=r"notes\.tif: cannot read"):
        read_dem(text)
    with pytest.raises(TerrainError, match=r"no DEM cells within lon/lat bounds"):
        read_dem(COBB, bounds=(139.0, 35.0, 139.1, 35.1))
    no_crs = write_tif(tmp_path / "nocrs.tif", np.zeros((3, 3), np.float32),
                       Affine(1, 0, 0, 0, -1, 3), None)
    with pytest.raises(TerrainError, match="no CRS"):
        read_dem(no_crs)
    with pytest.raises(TerrainError, match="shape"):
        Dem(np.zeros(5), Affine.identity(), 4326)


def test_heights_above_ground_from_the_photo_altitudes(cobb):
    s = photo_samples()
    h = heights_above_ground(s, cobb)
    assert set(h["height_source"]) == {"alt_msl_m − DEM"}
    with rasterio.open(COBB) as src:
        nearest = np.array([v[0] for v in src.sample(zip(s["lon"], s["lat"], strict=True))])
    # Bilinear and nearest-pixel ground differ by a few metres at most on these slopes.
    assert h["height_m"].to_numpy() == pytest.approx(s["alt_msl_m"] - nearest, abs=5.0)
    image1 = h["height_m"][s["flight_id"] == "image1"].iloc[0]
    assert 160 < image1 < 175  # 437.9 m MSL over ground at about 270 m
    without = heights_above_ground(s, None)
    assert set(without["height_source"]) == {"unknown"}  # photos carry no height above take-off


def test_local_dem_keeps_the_elevations(cobb, cobb_utm):
    assert cobb_utm.crs.to_epsg() == UTM16 and cobb_utm.north_up
    lon = np.linspace(-84.70, -84.40, 40)
    lat = np.linspace(33.77, 34.05, 40)
    x, y = to_local(lon, lat, UTM16)
    warped = elevation_xy(cobb_utm, x, y)
    # Two bilinear interpolations of 30 m SRTM: agree within a few metres.
    assert np.nanmax(np.abs(warped - elevation(cobb, lon, lat))) < 8.0
    with pytest.raises(TerrainError, match="not a projected"):
        local_dem(cobb, 4326)


# ---- line of sight -------------------------------------------------------------------------


def test_curvature_and_refraction_drop():
    assert float(curvature_drop_m(10_000.0)) == pytest.approx(6.73, abs=0.01)
    assert float(curvature_drop_m(10_000.0, k=0.0)) == pytest.approx(1e8 / (2 * 6_371_000))


def test_synthetic_ridge_by_hand(tmp_path):
    # Flat ground at 0 m, a 100 m wall one 10 m cell thick 1 km east of the observer.
    values = np.zeros((5, 400), dtype=np.float32)
    values[:, 100] = 100.0
    path = write_tif(tmp_path / "ridge.tif", values,
                     Affine(10, 0, 600_000, 0, -10, 3_700_050), "EPSG:32616")
    dem = read_dem(path)
    ox, oy = 600_005.0, 3_700_025.0
    targets = [[ox + 2000, oy], [ox + 500, oy], [ox - 2000, oy]]
    # Observer 190 m up: the sight line to 2 km east passes the wall at 95 m, below its top.
    assert visible(dem, [ox, oy, 190.0], targets).tolist() == [False, True, True]
    # 210 m up: it passes at 105 m, above the top.
    assert visible(dem, [ox, oy, 210.0], targets).tolist() == [True, True, True]
    # A 10 m mast behind the wall, seen from 190 m: the line passes at 100 m: grazes, visible.
    assert visible(dem, [ox, oy, 190.0], targets[:1], target_height_m=10.5).tolist() == [True]
    # One observer per target.
    both = visible(dem, [[ox, oy, 190.0], [ox, oy, 210.0]], [targets[0], targets[0]])
    assert both.tolist() == [False, True]


def test_flat_earth_horizon_matches_the_horizon_formula():
    # Over flat ground the corrected sight line clears the terrain up to about 3.86 km·√h.
    dem = Dem(np.zeros((3, 1000)), Affine(30, 0, 0, 0, -30, 90), UTM16)
    h = 10.0
    horizon = 3860 * math.sqrt(h)  # 12.2 km
    got = visible(dem, [15.0, 45.0, h], [[15 + 0.95 * horizon, 45.0], [15 + 1.05 * horizon, 45]])
    assert got.tolist() == [True, False]
    # Without curvature (k = 1) everything on flat ground is visible.
    assert visible(dem, [15.0, 45.0, h], [[15 + 1.05 * horizon, 45.0]], k=1.0).tolist() == [True]


def test_kennesaw_mountain_hides_the_far_side(cobb_utm):
    # Observer 30 m above the ground 2.4 km west of the summit; targets on the ground.
    lon_o, lat = -84.605, KENNESAW_SUMMIT[1]
    ox, oy = to_local([lon_o], [lat], UTM16)
    oz = float(elevation_xy(cobb_utm, ox, oy)[0]) + 30.0
    east = to_local([-84.555], [lat], UTM16)  # 2.2 km east of the summit
    near = to_local([-84.600], [lat], UTM16)  # 460 m east of the observer, open ground
    targets = np.array([[east[0][0], east[1][0]], [near[0][0], near[1][0]]])
    assert visible(cobb_utm, [ox[0], oy[0], oz], targets).tolist() == [False, True]
    # Why: the summit (552 m) stands ~190 m above the sight line, which runs at ~355 m there.
    sx, sy = to_local([KENNESAW_SUMMIT[0]], [KENNESAW_SUMMIT[1]], UTM16)
    tz = float(elevation_xy(cobb_utm, targets[:1, 0], targets[:1, 1])[0])
    f = math.hypot(sx[0] - ox[0], sy[0] - oy[0]) / math.hypot(*(targets[0] - [ox[0], oy[0]]))
    line_at_summit = oz + (tz - oz) * f
    assert float(elevation_xy(cobb_utm, sx, sy)[0]) - line_at_summit > 150
    # From 1,000 m above sea level the far side is in view.
    assert visible(cobb_utm, [ox[0], oy[0], 1000.0], targets).tolist() == [True, True]


def test_geographic_dem_is_refused_for_line_of_sight(cobb):
    with pytest.raises(TerrainError, match="local_dem"):
        visible(cobb, [0.0, 0.0, 100.0], [[1.0, 1.0]])
    with pytest.raises(TerrainError, match=r"expected \(n, 2\)"):
        dem = Dem(np.zeros((3, 3)), Affine(10, 0, 0, 0, -10, 30), UTM16)
        visible(dem, [0.0, 0.0, 100.0], [[1.0, 1.0, 1.0]])


# ---- footprints on terrain -----------------------------------------------------------------


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pitch=st.floats(-90, 40), yaw=st.floats(0, 360), roll=st.floats(-30, 30),
    h=st.floats(5, 500), ground=st.floats(-100, 3000), reach=st.floats(1.1, 20),
)
def test_flat_dem_gives_the_flat_footprint(pitch, yaw, roll, h, ground, reach):
    dem = Dem(np.full((4, 4), ground), Affine(40, 0, -80, 0, -40, 80), UTM16)
    pose = {"x": [1.0], "y": [2.0], "height_m": h, "yaw_deg": yaw, "pitch_deg": pitch,
            "roll_deg": roll, "hfov_rad": 1.2, "vfov_rad": 0.9, "reach_m": reach * h,
            "n_per_edge": 6}
    flat = ring_polygons(footprint_rings(**pose))[0]
    # The DEM covers only 160 m: beyond it the ground is taken at the drone's own ground level.
    on_dem = ring_polygons(footprint_rings(**pose, terrain=dem))[0]
    assert flat.is_empty == on_dem.is_empty
    if not flat.is_empty:
        assert on_dem.is_valid
        # Hull vertices are snapped to 1e-9 of the footprint's size against rounding.
        slack = 1e-6 * flat.area + 1e-8 * flat.length * reach * h
        assert flat.symmetric_difference(on_dem).area <= slack


def test_photo_boresights_land_on_the_terrain(cobb, cobb_utm):
    s = photo_samples()
    h = heights_above_ground(s, cobb)["height_m"].to_numpy()
    x, y = to_local(s["lon"], s["lat"], UTM16)
    g0 = elevation_xy(cobb_utm, x, y)
    hit = boresight_points(x=x, y=y, height_m=h, yaw_deg=s["gimbal_yaw_deg"],
                           pitch_deg=s["gimbal_pitch_deg"], reach_m=5000.0, terrain=cobb_utm)
    dist = np.hypot(hit[:, 0] - x, hit[:, 1] - y)
    ray_z = g0 + h - dist * np.tan(np.radians(-s["gimbal_pitch_deg"].to_numpy()))
    ground = elevation_xy(cobb_utm, hit[:, 0], hit[:, 1])
    # Each hit lies on the terrain (to the DEM's interpolation between 26 m samples)...
    assert ray_z == pytest.approx(ground, abs=1.5)
    # ...and in view of the camera that looks at it.
    observers = np.stack([x, y, g0 + h], axis=1)
    assert visible(cobb_utm, observers, hit - 0.01 * (hit - np.stack([x, y], axis=1))).all()
    # On rolling ground the hit differs from the flat-ground answer, but not wildly.
    flat = boresight_points(x=x, y=y, height_m=h, yaw_deg=s["gimbal_yaw_deg"],
                            pitch_deg=s["gimbal_pitch_deg"], reach_m=5000.0)
    flat_dist = np.hypot(flat[:, 0] - x, flat[:, 1] - y)
    assert np.abs(dist - flat_dist).max() > 1.0
    assert (np.abs(dist - flat_dist) < 0.5 * flat_dist + 50).all()


def test_photo_footprints_with_the_dem(cobb, cobb_utm):
    s = photo_samples()
    cams = load_cameras()
    fp = footprints(s, cams["dji_mini3pro"], dem=cobb)
    assert shapely.is_valid(fp.geometry.to_numpy()).all() and not fp.geometry.is_empty.any()
    assert set(fp["mode"]) == {"observed"}
    assert set(fp["height_source"]) == {"alt_msl_m − DEM"}
    notes = " ".join(fp.attrs["assumptions"])
    assert "buildings and trees are not in it" in notes
    # Every footprint holds the ground point at its image centre, found on the terrain.
    x, y = to_local(s["lon"], s["lat"], UTM16)
    centre = boresight_points(
        x=x, y=y, height_m=fp["height_m"], yaw_deg=fp["camera_yaw_deg"],
        pitch_deg=fp["camera_pitch_deg"], reach_m=fp["reach_m"], terrain=cobb_utm,
    )
    local = fp.to_crs(UTM16).geometry.to_numpy()
    assert shapely.covers(shapely.buffer(local, 1.0), shapely.points(centre)).all()
    # Oblique views are larger than the near-nadir one from 15 m (image4).
    area = dict(zip(s["flight_id"], shapely.area(local), strict=True))
    assert area["image4"] < 1000 < min(v for k, v in area.items() if k != "image4")


def test_samples_off_the_dem_keep_flat_footprints(cobb):
    frame = pd.DataFrame({
        "flight_id": ["cobb", "tokyo"], "time": ["2024-06-09T12:00:00Z"] * 2,
        "lon": [-84.52, 139.70], "lat": [33.84, 35.60], "alt_msl_m": [430.0, np.nan],
        "height_agl_m": [np.nan, 120.0], "height_ref": ["takeoff", "takeoff"],
        "yaw_deg": [0.0, 45.0], "gimbal_pitch_deg": [-60.0, -60.0],
    })
    s = make_samples(frame)
    cam = load_cameras()["dji_mavic3_wide"]
    with_dem = footprints(s, cam, dem=cobb)
    without = footprints(s, cam)
    assert with_dem["height_source"].tolist() == ["alt_msl_m − DEM", "log: above take-off"]
    assert np.isnan(without["height_m"].iloc[0])  # no height above ground without the DEM
    tokyo = [g.iloc[1] for g in (with_dem.geometry, without.geometry)]
    assert tokyo[0].symmetric_difference(tokyo[1]).area <= 1e-9 * tokyo[1].area
    assert not with_dem.geometry.iloc[0].is_empty
