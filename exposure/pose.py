"""Camera pose per sample: where each camera pointed, and whether the log says so.

Angles follow DESIGN 4.1: a north-east-down (NED) local frame; yaw clockwise from true north,
pitch 0 at the horizon and −90 straight down, roll positive right side down; composed as yaw,
then pitch, then roll (ZYX, the order of DJI gimbals and of MAVLink attitude).

Each source convention reaches this module already normalised by its reader:

- **DJI gimbal angles** (flight records, AirData CSV, video subtitles) are earth-referenced:
  ``gimbal_yaw_deg`` is a true-north heading, used as is.
- **MAVLink** gimbals may report yaw relative to the vehicle; the samples contract requires
  earth-referenced ``gimbal_yaw_deg``, so a reader adds the vehicle heading before building the
  table. Samples known to hold vehicle-relative yaw can be passed with
  ``gimbal_yaw="vehicle"``: camera yaw = aircraft yaw + gimbal yaw.
- **Photo XMP** (``GimbalPitchDegree``/``GimbalYawDegree``) is earth-referenced like DJI logs
  once the reader has turned a positive depression angle into a negative pitch.
- **Hard-mounted cameras** (no gimbal) are described by a :class:`Mount`: camera yaw = aircraft
  yaw + the mount's yaw offset, pitch and roll those of the mount. The samples contract carries
  no aircraft pitch or roll, so the few degrees a multirotor tilts in forward flight are ignored.

Near nadir a gimbal's yaw and roll are ill-conditioned (at −90° they describe the same rotation,
and gimbals report them noisily there): within :data:`NEAR_NADIR_DEG` of straight down (pitch
below −85°) the camera yaw is the aircraft heading and roll is taken as 0.

A pose is **observed** when the log gives the camera pitch (and a heading, from the gimbal or
the aircraft, unless the camera looks straight down, where heading only turns the footprint);
otherwise it is **assumed** and the engine rates the sample in *potential* mode (DESIGN 4.6):
a camera that could have pointed anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from exposure.errors import ExposureError

__all__ = [
    "MODES",
    "NEAR_NADIR_DEG",
    "CameraPose",
    "Mount",
    "camera_pose",
    "observation_mode",
]

#: Within this many degrees of straight down, gimbal yaw and roll are replaced (see above).
NEAR_NADIR_DEG = 5.0

#: The two ways a sample can be rated (DESIGN 4.6).
MODES = ("observed", "potential")


@dataclass(frozen=True)
class Mount:
    """A camera fixed to the airframe.

    Attributes
    ----------
    pitch_deg : float
        Camera pitch against the airframe: 0 looks ahead, −90 straight down.
    yaw_offset_deg : float
        Camera heading against the aircraft's, clockwise (90: looks out of the right side).
    roll_deg : float
        Camera roll, positive right side down.
    """

    pitch_deg: float = -90.0
    yaw_offset_deg: float = 0.0
    roll_deg: float = 0.0


@dataclass(frozen=True, eq=False)
class CameraPose:
    """Camera orientation per sample.

    Attributes
    ----------
    yaw_deg : numpy.ndarray
        Clockwise from true north, in [0, 360).
    pitch_deg : numpy.ndarray
        0 at the horizon, −90 straight down.
    roll_deg : numpy.ndarray
        Positive right side down.
    observed : numpy.ndarray of bool
        The pose comes from the log (True) or was assumed (False).
    source : numpy.ndarray of str
        How each pose was obtained: ``"gimbal"``, ``"gimbal pitch, aircraft heading"``,
        ``"gimbal pitch, near nadir: aircraft heading"``, ``"mount"``, or ``"assumed"``.
    assumptions : tuple of str
        What was assumed, in words, with counts.
    """

    yaw_deg: NDArray[np.float64]
    pitch_deg: NDArray[np.float64]
    roll_deg: NDArray[np.float64]
    observed: NDArray[np.bool_]
    source: NDArray[np.object_]
    assumptions: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.yaw_deg)


def _wrap360(deg: NDArray[np.float64]) -> NDArray[np.float64]:
    """Angles in [0, 360): ``np.mod`` of a tiny negative angle rounds to 360 itself."""
    out = np.mod(deg, 360.0)
    return np.where(out >= 360.0, 0.0, out)


def _column(samples: pd.DataFrame, name: str) -> NDArray[np.float64]:
    if name not in samples:
        return np.full(len(samples), np.nan)
    return pd.to_numeric(samples[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _mount_pose(samples: pd.DataFrame, mount: Mount) -> CameraPose:
    heading = _column(samples, "yaw_deg")
    known = np.isfinite(heading)
    nadir = abs(mount.pitch_deg + 90.0) < NEAR_NADIR_DEG
    n = len(samples)
    notes = [
        f"hard-mounted camera: pitch {mount.pitch_deg:g}°, yaw offset {mount.yaw_offset_deg:g}°"
        f", roll {mount.roll_deg:g}° against the airframe; aircraft pitch and roll ignored"
    ]
    if (~known).any():
        notes.append(
            f"{int((~known).sum())} samples without aircraft heading: camera heading taken as "
            "north" + ("" if nadir else "; pose treated as unknown (potential mode)")
        )
    return CameraPose(
        yaw_deg=_wrap360(np.where(known, heading, 0.0) + mount.yaw_offset_deg),
        pitch_deg=np.full(n, float(mount.pitch_deg)),
        roll_deg=np.full(n, float(mount.roll_deg)),
        observed=known | nadir,
        source=np.where(known | nadir, "mount", "assumed").astype(object),
        assumptions=tuple(notes),
    )


def camera_pose(
    samples: pd.DataFrame,
    *,
    mount: Mount | None = None,
    gimbal_yaw: Literal["earth", "vehicle"] = "earth",
) -> CameraPose:
    """Compose the camera orientation of every sample from what its log recorded.

    Parameters
    ----------
    samples : pandas.DataFrame
        Canonical samples (``yaw_deg``, ``gimbal_pitch_deg``, ``gimbal_yaw_deg``,
        ``gimbal_roll_deg``; any may be NA); not modified.
    mount : Mount, optional
        The camera is fixed to the airframe; gimbal columns are then ignored.
    gimbal_yaw : {"earth", "vehicle"}
        Whether ``gimbal_yaw_deg`` is a true-north heading (the samples contract) or relative to
        the aircraft's heading.

    Returns
    -------
    CameraPose
        Where the pitch is unknown the pose is assumed straight down along the aircraft heading
        (``observed`` False): the footprint of such a sample is only indicative, and the
        engine rates it in potential mode.

    Raises
    ------
    ExposureError
        If ``gimbal_yaw`` is not ``"earth"`` or ``"vehicle"``.

    Examples
    --------
    An oblique gimbal, a gimbal near nadir (aircraft heading wins) and no gimbal data:

    >>> s = pd.DataFrame({"yaw_deg": [10.0, 10.0, 10.0],
    ...                   "gimbal_pitch_deg": [-30.0, -88.0, None],
    ...                   "gimbal_yaw_deg": [100.0, 100.0, None],
    ...                   "gimbal_roll_deg": [1.0, 3.0, None]})
    >>> p = camera_pose(s)
    >>> p.yaw_deg.tolist(), p.roll_deg.tolist(), p.observed.tolist()
    ([100.0, 10.0, 10.0], [1.0, 0.0, 0.0], [True, True, False])
    >>> p.source.tolist()[1:]
    ['gimbal pitch, near nadir: aircraft heading', 'assumed']
    """
    if gimbal_yaw not in ("earth", "vehicle"):
        raise ExposureError(f"gimbal_yaw is {gimbal_yaw!r}, expected 'earth' or 'vehicle'")
    if mount is not None:
        return _mount_pose(samples, mount)
    heading = _column(samples, "yaw_deg")
    pitch = _column(samples, "gimbal_pitch_deg")
    g_yaw = _column(samples, "gimbal_yaw_deg")
    g_roll = _column(samples, "gimbal_roll_deg")
    if gimbal_yaw == "vehicle":
        g_yaw = heading + g_yaw
    has_pitch = np.isfinite(pitch)
    has_heading = np.isfinite(heading)
    has_gyaw = np.isfinite(g_yaw)
    # Distance from straight down, not "pitch < −85": a pitch of −95 is also 5° from nadir.
    near_nadir = has_pitch & (np.abs(pitch + 90.0) < NEAR_NADIR_DEG)
    oblique = has_pitch & ~near_nadir
    yaw = np.where(
        near_nadir,
        np.where(has_heading, heading, np.where(has_gyaw, g_yaw, 0.0)),
        np.where(has_gyaw, g_yaw, np.where(has_heading, heading, 0.0)),
    )
    observed = near_nadir | (oblique & (has_gyaw | has_heading))
    roll = np.where(oblique & np.isfinite(g_roll), g_roll, 0.0)
    source = np.select(
        [oblique & has_gyaw, oblique & observed, near_nadir],
        ["gimbal", "gimbal pitch, aircraft heading", "gimbal pitch, near nadir: aircraft heading"],
        default="assumed",
    ).astype(object)
    notes = _notes(
        near_nadir=near_nadir,
        nadir_no_heading=near_nadir & ~has_heading,
        gimbal_from_heading=oblique & ~has_gyaw & has_heading,
        no_roll=oblique & observed & ~np.isfinite(g_roll),
        unknown=~observed,
    )
    if gimbal_yaw == "vehicle":
        notes.insert(0, "gimbal yaw taken as relative to the aircraft: camera yaw = heading + it")
    return CameraPose(
        yaw_deg=_wrap360(yaw),
        pitch_deg=np.where(has_pitch & observed, pitch, -90.0),
        roll_deg=roll,
        observed=observed,
        source=source,
        assumptions=tuple(notes),
    )


def _notes(**masks: NDArray[np.bool_]) -> list[str]:
    words = {
        "near_nadir": "samples within {deg:g}° of straight down: camera yaw from the aircraft "
        "heading, gimbal roll ignored (both ill-conditioned there)",
        "nadir_no_heading": "of those without aircraft heading: gimbal yaw, else north, used",
        "gimbal_from_heading": "samples with gimbal pitch but no gimbal yaw: the gimbal taken as "
        "facing the aircraft heading",
        "no_roll": "samples without gimbal roll: roll taken as 0 (gimbals hold the horizon level)",
        "unknown": "samples without a usable camera pose: assumed straight down along the "
        "aircraft heading and rated in potential mode",
    }
    return [
        f"{int(mask.sum())} {words[name].format(deg=NEAR_NADIR_DEG)}"
        for name, mask in masks.items()
        if mask.any()
    ]


def observation_mode(
    samples: pd.DataFrame,
    *,
    force: Literal["potential"] | None = None,
    mount: Mount | None = None,
    gimbal_yaw: Literal["earth", "vehicle"] = "earth",
) -> NDArray[np.object_]:
    """Rate each sample ``"observed"`` (pose from the log) or ``"potential"`` (DESIGN 4.6).

    Parameters
    ----------
    samples : pandas.DataFrame
        Canonical samples; not modified.
    force : {"potential"}, optional
        ``"potential"`` rates every sample as the worst case, a camera that could have pointed
        anywhere.
    mount, gimbal_yaw
        As for :func:`camera_pose`.

    Returns
    -------
    numpy.ndarray of str

    Raises
    ------
    ExposureError
        If ``force`` is neither None nor ``"potential"``.

    Examples
    --------
    >>> s = pd.DataFrame({"yaw_deg": [0.0, 0.0], "gimbal_pitch_deg": [-45.0, None]})
    >>> observation_mode(s).tolist(), observation_mode(s, force="potential").tolist()
    (['observed', 'potential'], ['potential', 'potential'])
    """
    if force not in (None, "potential"):
        raise ExposureError(
            f"mode {force!r} cannot be forced: expected 'potential' (the worst case) or nothing "
            "(observed where the log has the camera pose)"
        )
    if force == "potential":
        return np.full(len(samples), "potential", dtype=object)
    observed = camera_pose(samples, mount=mount, gimbal_yaw=gimbal_yaw).observed
    return np.where(observed, "observed", "potential").astype(object)
