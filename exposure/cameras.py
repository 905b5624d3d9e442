"""The camera catalogue: sensor geometry of the cameras that fleets fly.

The catalogue is data (``exposure/data/cameras.csv``, one row per camera with the source of its
figures); a user file in the same columns extends or overrides it. Vendor figures differ between
sources: the ``source`` column says which one was used.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from exposure.errors import CameraError

__all__ = ["DEFAULT_CAMERA", "Camera", "camera_for_model", "identify_cameras", "load_cameras"]

#: Camera assumed for a flight whose log and fleet entry name no known camera: the most common
#: wide camera of the consumer/government fleets this tool is built for.
DEFAULT_CAMERA = "dji_mavic3_wide"

_FIELDS = (
    "key",
    "vendor",
    "models",
    "sensor_width_mm",
    "sensor_height_mm",
    "image_width_px",
    "image_height_px",
    "focal_min_mm",
    "focal_max_mm",
    "kind",
    "source",
)


@dataclass(frozen=True)
class Camera:
    """One camera's geometry.

    Attributes
    ----------
    key : str
        Catalogue key, e.g. ``"dji_mavic3_wide"``.
    vendor, kind, source : str
        Maker, ``"visible"`` or ``"thermal"``, and where the figures come from.
    models : tuple of str
        Model names (as logs and fleet files write them) that carry this camera.
    sensor_width_mm, sensor_height_mm : float
        Active sensor size.
    image_width_px, image_height_px : int
        Image size in pixels.
    focal_min_mm, focal_max_mm : float
        Real (not 35-mm-equivalent) focal length range; equal for a fixed lens.

    Examples
    --------
    >>> cam = load_cameras()["dji_mavic3_wide"]
    >>> round(cam.pixel_pitch_mm * 1000, 2), round(math.degrees(cam.hfov_rad()), 1)
    (3.28, 70.3)
    """

    key: str
    vendor: str
    models: tuple[str, ...]
    sensor_width_mm: float
    sensor_height_mm: float
    image_width_px: int
    image_height_px: int
    focal_min_mm: float
    focal_max_mm: float
    kind: str
    source: str

    @property
    def pixel_pitch_mm(self) -> float:
        """Pixel pitch ``p = sensor_width / image_width`` in millimetres."""
        return self.sensor_width_mm / self.image_width_px

    def hfov_rad(self, focal_mm: float | None = None) -> float:
        """Horizontal field of view ``2·atan(w / 2f)`` in radians (widest focal by default)."""
        f = self.focal_min_mm if focal_mm is None else focal_mm
        return 2.0 * math.atan(self.sensor_width_mm / (2.0 * f))

    def vfov_rad(self, focal_mm: float | None = None) -> float:
        """Vertical field of view ``2·atan(h / 2f)`` in radians (widest focal by default)."""
        f = self.focal_min_mm if focal_mm is None else focal_mm
        return 2.0 * math.atan(self.sensor_height_mm / (2.0 * f))


def _parse(row: dict[str, str], where: str) -> Camera:
    missing = [f for f in _FIELDS if not (row.get(f) or "").strip()]
    if missing:
        raise CameraError(f"{where}: missing {missing}")
    try:
        cam = Camera(
            key=row["key"].strip(),
            vendor=row["vendor"].strip(),
            models=tuple(m.strip() for m in row["models"].split("|") if m.strip()),
            sensor_width_mm=float(row["sensor_width_mm"]),
            sensor_height_mm=float(row["sensor_height_mm"]),
            image_width_px=int(row["image_width_px"]),
            image_height_px=int(row["image_height_px"]),
            focal_min_mm=float(row["focal_min_mm"]),
            focal_max_mm=float(row["focal_max_mm"]),
            kind=row["kind"].strip(),
            source=row["source"].strip(),
        )
    except ValueError as exc:
        raise CameraError(
            f"{where}: {exc} (expected numbers for sizes and focal lengths)"
        ) from None
    sizes = (cam.sensor_width_mm, cam.sensor_height_mm, cam.image_width_px, cam.image_height_px)
    if min(sizes) <= 0 or not 0 < cam.focal_min_mm <= cam.focal_max_mm:
        raise CameraError(f"{where}: sizes must be positive and 0 < focal_min_mm <= focal_max_mm")
    return cam


def load_cameras(extra: str | Path | None = None) -> dict[str, Camera]:
    """Load the bundled camera catalogue, optionally extended by a user CSV.

    Parameters
    ----------
    extra : str or pathlib.Path, optional
        A CSV with the same columns as ``exposure/data/cameras.csv``; its rows override bundled
        rows with the same key.

    Returns
    -------
    dict of str to Camera
        Keyed by catalogue key.

    Raises
    ------
    CameraError
        Naming the file and row of a malformed entry.
    """
    cameras: dict[str, Camera] = {}
    bundled = resources.files("exposure") / "data" / "cameras.csv"
    sources: list[tuple[str, str]] = [("cameras.csv", bundled.read_text(encoding="utf-8"))]
    if extra is not None:
        try:
            sources.append((str(extra), Path(extra).read_text(encoding="utf-8")))
        except OSError as exc:
            raise CameraError(f"{extra}: cannot read camera file ({exc.strerror})") from None
    for name, text in sources:
        for i, row in enumerate(csv.DictReader(text.splitlines()), start=2):
            cam = _parse(row, f"{name} row {i}")
            cameras[cam.key] = cam
    return cameras


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def camera_for_model(model: str | None, cameras: dict[str, Camera]) -> str | None:
    """Return the catalogue key of the camera carried by a drone model, or None.

    The longest model name contained in ``model`` wins, so "Mavic 3 Classic" does not match a
    shorter "Mavic 3" entry of another camera by accident.

    Parameters
    ----------
    model : str or None
        Model as written in a log or fleet file, e.g. ``"DJI Mavic 3 Enterprise"``.
    cameras : dict of str to Camera
        The catalogue.

    Returns
    -------
    str or None

    Examples
    --------
    >>> cams = load_cameras()
    >>> camera_for_model("DJI MINI 4 PRO", cams), camera_for_model("Zeppelin", cams)
    ('dji_mini3pro', None)
    """
    if not model:
        return None
    text = f" {_norm(model)} "
    best, best_len = None, 0
    for key, cam in cameras.items():
        for m in cam.models:
            pattern = f" {_norm(m)} "
            if pattern in text and len(pattern) > best_len:
                best, best_len = key, len(pattern)
    return best


def identify_cameras(
    flights: pd.DataFrame, cameras: dict[str, Camera], *, camera: str | None = None
) -> pd.DataFrame:
    """Decide the camera of every flight, and say how it was decided.

    In order: ``camera`` (one key for every flight), the flight's own ``camera`` column (from
    the log or the fleet file), its ``model`` matched against the catalogue, and finally
    :data:`DEFAULT_CAMERA`.

    Parameters
    ----------
    flights : pandas.DataFrame
        With ``flight_id``, and ``camera`` and ``model`` where known; not modified.
    cameras : dict of str to Camera
        The catalogue.
    camera : str, optional
        A key to use for every flight.

    Returns
    -------
    pandas.DataFrame
        ``flight_id``, ``camera`` (a catalogue key) and ``camera_match``: ``"override"``,
        ``"named"``, ``"model <model>"`` or ``"none matched: default"``.

    Raises
    ------
    CameraError
        If ``camera`` or a flight's named camera is not in the catalogue.

    Examples
    --------
    >>> f = pd.DataFrame({"flight_id": ["a", "b", "c"], "camera": [None, "skydio_x2", None],
    ...                   "model": ["DJI Mini 4 Pro", None, "Zeppelin NT"]})
    >>> identify_cameras(f, load_cameras())[["camera", "camera_match"]].values.tolist()
    [['dji_mini3pro', 'model DJI Mini 4 Pro'], ['skydio_x2', 'named'], \
['dji_mavic3_wide', 'none matched: default']]
    """
    ids = flights["flight_id"].tolist()
    if camera is not None:
        if camera not in cameras:
            raise CameraError(
                f"camera {camera!r} is not in the catalogue (known: {', '.join(sorted(cameras))})"
            )
        return pd.DataFrame({"flight_id": ids, "camera": camera, "camera_match": "override"})
    named = flights["camera"] if "camera" in flights else pd.Series([None] * len(ids))
    models = flights["model"] if "model" in flights else pd.Series([None] * len(ids))
    keys, how, unknown = [], [], []
    for fid, key, model in zip(ids, named, models, strict=True):
        if isinstance(key, str) and key:
            if key not in cameras:
                unknown.append(f"flight {fid}: camera {key!r}")
            keys.append(key)
            how.append("named")
            continue
        key = camera_for_model(model if isinstance(model, str) else None, cameras)
        keys.append(key or DEFAULT_CAMERA)
        how.append(f"model {model}" if key else "none matched: default")
    if unknown:
        raise CameraError(
            "; ".join(unknown) + f" not in the catalogue (known: {', '.join(sorted(cameras))})"
        )
    return pd.DataFrame({"flight_id": ids, "camera": keys, "camera_match": how})
