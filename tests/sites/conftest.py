"""Shared fixtures for the site readers' tests."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

#: The shared real data (../shared/data from the repository root).
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def sites_data() -> Path:
    """The folder of real site sources."""
    return DATA / "sites"


@pytest.fixture(scope="session")
def area_m2() -> Callable[[gpd.GeoDataFrame], np.ndarray]:
    """Areas in m², computed in an equal-area projection (NSIDC EASE-Grid 2.0, EPSG:6933)."""

    def compute(frame: gpd.GeoDataFrame) -> np.ndarray:
        return frame.to_crs(6933).area.to_numpy()

    return compute


@pytest.fixture
def write_vector() -> Callable[..., Path]:
    """Write a frame with pyogrio, allowing the warning GDAL gives for a frame without a CRS."""

    def write(frame: gpd.GeoDataFrame, path: Path, **kwargs: object) -> Path:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=".*'crs' was not provided", category=UserWarning
            )
            frame.to_file(path, engine="pyogrio", **kwargs)
        return path

    return write


@pytest.fixture(scope="session")
def adds_up() -> Callable[[gpd.GeoDataFrame], dict]:
    """Check a table's read report (read = kept + merged + rejected) and return it."""

    def check(frame: gpd.GeoDataFrame) -> dict:
        report = frame.attrs["read_report"]
        merged, rejected = report["merged"], report["rejected"]
        assert report["n_read"] == report["n_kept"] + sum(merged.values()) + sum(
            rejected.values()
        )
        assert report["n_kept"] == len(frame)
        return report

    return check


@pytest.fixture(scope="session")
def geozones_data() -> Path:
    """The folder of real UAS geozone files."""
    return DATA / "geozones"
