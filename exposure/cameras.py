"""The camera catalogue: sensor geometry of the cameras that fleets fly.

The catalogue is data (``exposure/data/cameras.csv``, one row per camera with the source of its
figures); a user file (CSV in the same columns, or TOML with one ``[[camera]]`` table per camera)
extends or overrides it. Vendor figures differ between sources: the ``source`` column says which
one was used.

Focal length per sample (:func:`focal_lengths`): the log's real focal length where it has one;
else its ``zoom``, a 35-mm-equivalent ratio (``f_eq = zoom · 24 mm``, as DJI's video subtitles
give it), turned into a real focal length with the sensor's crop factor
(``f = f_eq · diagonal / 43.27 mm``); else the camera's widest focal length. Every value is
clamped to the camera's optical range: digital zoom beyond it crops the image but adds no detail.
With ``worst_case`` every sample gets the longest focal length (an operator, or a compromised app,
could have zoomed in).
"""

from __future__ import annotations

import csv
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from exposure.errors import CameraError

__all__ = [
    "DEFAULT_CAMERA",
    "FULL_FRAME_DIAGONAL_MM",
    "ZOOM_BASE_EQUIVALENT_MM",
    "Camera",
    "camera_for_model",
    "focal_lengths",
    "focal_sources",
    "identify_cameras",
    "load_cameras",
    "per_sample_cameras",
]

#: Diagonal of a 36 × 24 mm frame: the reference of 35-mm-equivalent focal lengths.
FULL_FRAME_DIAGONAL_MM = 43.27

#: Equivalent focal length of ``zoom == 1`` (DJI subtitles write 24 mm for these cameras
#: unzoomed; :mod:`flightlogs.srt` stores ``zoom = focal_len / 24``).
ZOOM_BASE_EQUIVALENT_MM = 24.0

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

    @property
    def diagonal_mm(self) -> float:
        """Sensor diagonal in millimetres."""
        return math.hypot(self.sensor_width_mm, self.sensor_height_mm)

    @property
    def crop_factor(self) -> float:
        """35-mm crop factor ``43.27 mm / diagonal``."""
        return FULL_FRAME_DIAGONAL_MM / self.diagonal_mm

    def focal_from_equivalent(self, focal_eq_mm: ArrayLike) -> NDArray[np.float64]:
        """Real focal length of a 35-mm-equivalent one, ``f_eq · diagonal / 43.27``, unclamped.

        Examples
        --------
        >>> cam = load_cameras()["dji_mavic3_wide"]
        >>> cam.focal_from_equivalent([24.0, 48.0]).round(1).tolist()
        [12.0, 24.0]
        """
        return np.asarray(focal_eq_mm, float) / self.crop_factor

    def hfov_rad(self, focal_mm: float | None = None) -> float:
        """Horizontal field of view ``2·atan(w / 2f)`` in radians (widest focal by default)."""
        f = self.focal_min_mm if focal_mm is None else focal_mm
        return 2.0 * math.atan(self.sensor_width_mm / (2.0 * f))

    def vfov_rad(self, focal_mm: float | None = None) -> float:
        """Vertical field of view ``2·atan(h / 2f)`` in radians (widest focal by default)."""
        f = self.focal_min_mm if focal_mm is None else focal_mm
        return 2.0 * math.atan(self.sensor_height_mm / (2.0 * f))


def _text(value: object) -> str:
    """Return a catalogue field as text (a TOML list of model names in the CSV's ``a|b`` form)."""
    if isinstance(value, list | tuple):
        return "|".join(str(v) for v in value)
    return "" if value is None else str(value).strip()


def _parse(row: Mapping[str, object], where: str) -> tuple[Camera | None, list[str]]:
    """One catalogue entry, or None and every problem found in it."""
    fields = {f: _text(row.get(f)) for f in _FIELDS}
    problems = []
    missing = [f for f in _FIELDS if not fields[f]]
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
    numbers: dict[str, float] = {}
    for name in _FIELDS[3:9]:
        if not fields[name]:
            continue
        try:
            numbers[name] = float(fields[name])
        except ValueError:
            problems.append(f"{where}: {name} is {fields[name]!r}, expected a number")
            continue
        if not (math.isfinite(numbers[name]) and numbers[name] > 0):
            problems.append(f"{where}: {name} is {fields[name]}, expected a positive number")
    for name in ("image_width_px", "image_height_px"):
        if name in numbers and not numbers[name].is_integer():
            problems.append(f"{where}: {name} is {fields[name]}, expected a whole number")
    lo, hi = numbers.get("focal_min_mm"), numbers.get("focal_max_mm")
    if lo is not None and hi is not None and lo > hi:
        problems.append(f"{where}: focal_min_mm {lo:g} is above focal_max_mm {hi:g}")
    if fields["kind"] and fields["kind"] not in ("visible", "thermal"):
        problems.append(f"{where}: kind is {fields['kind']!r}, expected 'visible' or 'thermal'")
    if problems:
        return None, problems
    cam = Camera(
        key=fields["key"],
        vendor=fields["vendor"],
        models=tuple(m.strip() for m in fields["models"].split("|") if m.strip()),
        sensor_width_mm=numbers["sensor_width_mm"],
        sensor_height_mm=numbers["sensor_height_mm"],
        image_width_px=int(numbers["image_width_px"]),
        image_height_px=int(numbers["image_height_px"]),
        focal_min_mm=numbers["focal_min_mm"],
        focal_max_mm=numbers["focal_max_mm"],
        kind=fields["kind"],
        source=fields["source"],
    )
    return cam, []


def _entries(name: str, text: str) -> tuple[list[tuple[str, Mapping[str, object]]], list[str]]:
    """Catalogue entries of one file with where each comes from, and problems of the file."""
    if name.lower().endswith(".toml"):
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            return [], [f"{name}: not valid TOML ({exc})"]
        tables = doc.get("camera")
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            return [], [f"{name}: expected one or more [[camera]] tables"]
        return [(f"{name} camera {i}", t) for i, t in enumerate(tables, start=1)], []
    if not name.lower().endswith(".csv"):
        return [], [f"{name}: unknown camera file type, expected a .csv or .toml file"]
    reader = csv.DictReader(text.splitlines())
    absent = [f for f in _FIELDS if f not in (reader.fieldnames or [])]
    if absent:
        return [], [f"{name}: missing columns {', '.join(absent)} (expected {', '.join(_FIELDS)})"]
    return [(f"{name} row {i}", row) for i, row in enumerate(reader, start=2)], []


def load_cameras(extra: str | Path | None = None) -> dict[str, Camera]:
    """Load the bundled camera catalogue, optionally extended by a user CSV or TOML file.

    Parameters
    ----------
    extra : str or pathlib.Path, optional
        A ``.csv`` with the same columns as ``exposure/data/cameras.csv``, or a ``.toml`` with one
        ``[[camera]]`` table per camera holding the same fields (``models`` a list of strings);
        its entries override bundled ones with the same key.

    Returns
    -------
    dict of str to Camera
        Keyed by catalogue key.

    Raises
    ------
    CameraError
        Naming the file and row (or ``[[camera]]`` table) of every malformed entry, one problem
        per line.

    Examples
    --------
    >>> cams = load_cameras()
    >>> len(cams) >= 10, cams["dji_h20_zoom"].focal_max_mm
    (True, 119.9)
    """
    cameras: dict[str, Camera] = {}
    bundled = resources.files("exposure") / "data" / "cameras.csv"
    sources: list[tuple[str, str]] = [("cameras.csv", bundled.read_text(encoding="utf-8"))]
    if extra is not None:
        try:
            sources.append((str(extra), Path(extra).read_text(encoding="utf-8")))
        except OSError as exc:
            raise CameraError(f"{extra}: cannot read camera file ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise CameraError(f"{extra}: not a UTF-8 text file") from None
    problems: list[str] = []
    for name, text in sources:
        entries, file_problems = _entries(name, text)
        problems += file_problems
        seen: dict[str, str] = {}
        for where, row in entries:
            cam, row_problems = _parse(row, where)
            problems += row_problems
            if cam is None:
                continue
            if cam.key in seen:
                problems.append(f"{where}: key {cam.key!r} already given in {seen[cam.key]}")
            seen[cam.key] = where
            cameras[cam.key] = cam
    if problems:
        raise CameraError("\n".join(problems))
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


def per_sample_cameras(
    samples: pd.DataFrame, camera: Camera | Mapping[str, Camera]
) -> pd.DataFrame:
    """Geometry of each sample's camera as columns, for vectorised work.

    Parameters
    ----------
    samples : pandas.DataFrame
        With ``flight_id`` when ``camera`` is a mapping; not modified.
    camera : Camera or mapping of str to Camera
        One camera for every sample, or the camera of each flight keyed by ``flight_id``.

    Returns
    -------
    pandas.DataFrame
        Index of ``samples``; ``camera`` (key), ``pixel_pitch_mm``, ``sensor_width_mm``,
        ``sensor_height_mm``, ``diagonal_mm``, ``focal_min_mm``, ``focal_max_mm``.

    Raises
    ------
    CameraError
        If a flight has no camera in the mapping.

    Examples
    --------
    >>> cams = load_cameras()
    >>> s = pd.DataFrame({"flight_id": ["a", "b"]})
    >>> per_sample_cameras(s, {"a": cams["dji_mini2"], "b": cams["skydio_x2"]})["camera"].tolist()
    ['dji_mini2', 'skydio_x2']
    """
    if isinstance(camera, Camera):
        by_key = {camera.key: camera}
        rows = np.zeros(len(samples), dtype=np.intp)
    else:
        # One lookup per flight, then an integer take per sample.
        codes, flights = pd.factorize(samples["flight_id"])
        missing = sorted(set(flights) - set(camera), key=str)
        if missing or (codes < 0).any():
            shown = ", ".join(map(str, missing[:5])) or "<missing flight_id>"
            raise CameraError(f"no camera given for flight(s) {shown} ({len(missing)} in all)")
        by_key = {c.key: c for c in camera.values()}
        position = {key: i for i, key in enumerate(by_key)}
        rows = np.array([position[camera[f].key] for f in flights], dtype=np.intp)[codes]
    cams = list(by_key.values())
    columns = {
        "camera": np.array(list(by_key), dtype=object)[rows],
        **{
            name: np.array([getattr(c, name) for c in cams], dtype=float)[rows]
            for name in (
                "pixel_pitch_mm",
                "sensor_width_mm",
                "sensor_height_mm",
                "diagonal_mm",
                "focal_min_mm",
                "focal_max_mm",
            )
        },
    }
    return pd.DataFrame(columns, index=samples.index)


def _column(samples: pd.DataFrame, name: str) -> NDArray[np.float64]:
    if name not in samples:
        return np.full(len(samples), np.nan)
    return pd.to_numeric(samples[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def focal_lengths(
    samples: pd.DataFrame,
    camera: Camera | Mapping[str, Camera],
    *,
    worst_case: bool = False,
) -> NDArray[np.float64]:
    """Real focal length of each sample's camera, in millimetres.

    In order: the sample's ``focal_length_mm`` (a real focal length); its ``zoom`` as a
    35-mm-equivalent ratio, ``f = zoom · 24 mm · diagonal / 43.27 mm``; the camera's widest focal
    length. Clamped to the camera's ``[focal_min_mm, focal_max_mm]``. :func:`focal_sources` says
    which rule gave each value.

    Parameters
    ----------
    samples : pandas.DataFrame
        Canonical samples (``focal_length_mm``, ``zoom`` where known); not modified.
    camera : Camera or mapping of str to Camera
        One camera, or one per ``flight_id``.
    worst_case : bool
        Give every sample the camera's longest focal length.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    An H20 zoom camera (7.6 × 5.7 mm, 6.83-119.9 mm): a logged 50 mm, 10× zoom, and nothing:

    >>> cam = load_cameras()["dji_h20_zoom"]
    >>> s = pd.DataFrame({"focal_length_mm": [50.0, None, None], "zoom": [None, 10.0, None]})
    >>> focal_lengths(s, cam).round(2).tolist()
    [50.0, 52.69, 6.83]
    >>> focal_lengths(s, cam, worst_case=True).tolist()
    [119.9, 119.9, 119.9]
    """
    cams = per_sample_cameras(samples, camera)
    lo = cams["focal_min_mm"].to_numpy(float)
    hi = cams["focal_max_mm"].to_numpy(float)
    if worst_case:
        return hi.copy()
    real = _column(samples, "focal_length_mm")
    zoom = _column(samples, "zoom")
    from_zoom = zoom * ZOOM_BASE_EQUIVALENT_MM * cams["diagonal_mm"].to_numpy(float)
    from_zoom /= FULL_FRAME_DIAGONAL_MM
    focal = np.where(real > 0, real, np.where(zoom > 0, from_zoom, lo))
    return np.clip(focal, lo, hi)


def focal_sources(samples: pd.DataFrame, *, worst_case: bool = False) -> NDArray[np.object_]:
    """Which rule of :func:`focal_lengths` gave each sample's focal length, in words.

    Examples
    --------
    >>> s = pd.DataFrame({"focal_length_mm": [50.0, None, None], "zoom": [None, 10.0, None]})
    >>> focal_sources(s).tolist()
    ['logged focal length', 'logged zoom', 'widest (not logged)']
    """
    if worst_case:
        return np.full(len(samples), "longest (worst case)", dtype=object)
    real = _column(samples, "focal_length_mm") > 0
    zoom = _column(samples, "zoom") > 0
    labels = np.where(
        real, "logged focal length", np.where(zoom, "logged zoom", "widest (not logged)")
    )
    return labels.astype(object)
