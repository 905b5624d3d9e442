"""Writing result directories so that a failed or killed run never leaves a half-written file.

Every output of a run is first written into a hidden staging directory inside the output
directory; only when all of them are complete are they moved into place, each with an atomic
``os.replace``. A run that fails before that point leaves the previous outputs untouched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd

__all__ = ["staged_outputs", "write_table"]


@contextmanager
def staged_outputs(out_dir: str | Path) -> Iterator[Path]:
    """Yield a staging directory; on success move its files into ``out_dir``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The result directory; created if missing.

    Yields
    ------
    pathlib.Path
        Where to write the outputs (flat: no subdirectories).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        yield stage
        for f in sorted(stage.iterdir()):
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = (
                out[col]
                .dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                .str.replace(r"\.000000Z$", "Z", regex=True)
            )
    return out


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a result table in the format its extension names.

    ``.csv``: no geometry, ISO-8601 UTC times, NA as an empty cell; ``.gpkg``: a GeoPackage
    layer named after the file; ``.parquet``: GeoParquet.
    """
    if path.suffix == ".csv":
        _csv_ready(frame).to_csv(path, index=False, float_format="%.6g", lineterminator="\n")
    elif path.suffix == ".gpkg":
        gdf = gpd.GeoDataFrame(frame, geometry="geometry", crs=frame.crs)
        for col in gdf.columns:
            if isinstance(gdf[col].dtype, pd.DatetimeTZDtype):
                gdf[col] = gdf[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        gdf.to_file(path, layer=path.stem, driver="GPKG", engine="pyogrio")
    elif path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        raise ValueError(f"{path}: unsupported table format (expected .csv, .gpkg or .parquet)")
