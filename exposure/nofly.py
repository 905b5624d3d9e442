"""No-fly zones sized by what a camera can see: observation buffers.

Today's zones are sized for flight safety (Japan's ~300 m around designated facilities, US 14 CFR
99.7 at the fence line); a zoom camera images a site at NIIRS 6 from kilometres away. The
observation buffer of a camera, a flight-height band and a target NIIRS k is the horizontal
distance beyond which the camera cannot image the site at NIIRS ≥ k from any height in the band.

Derivation (simplified GIQE, DESIGN 4.4): at slant range R from a target, height h above it, the
weighted GSD is ``GSD_w = (p·R/f) / sin(ε)^(1/4)`` with ``sin ε = h/R``; NIIRS ≥ k needs
``GSD_w ≤ G_k = 2^(4.2 − k)`` m, i.e. ``R^(5/4) ≤ (G_k·f/p)·h^(1/4)``::

    R_k(h) = (G_k · f / p)^(4/5) · h^(1/5),      d_k(h) = sqrt(R_k² − h²)

(d_k = 0 when R_k ≤ h: even straight overhead the camera cannot reach NIIRS k). The horizontal
distance is bounded by the horizon (3.86 km·√h) and, for a camera fixed pointing straight down,
by its footprint's half-diagonal at that height. The buffer is the largest d_k over the band.
Terrain and buildings that block the line of sight only shorten real distances: the buffer is an
upper bound where the view is open.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray

from exposure.cameras import Camera
from exposure.errors import ExposureError
from exposure.quality import horizon_m

__all__ = ["POLICY_NIIRS", "buffer_table", "observation_distance_m", "plan_zones", "whatif_zones"]

#: Default NIIRS a zone must deny, per site category: the level at which what matters there
#: becomes interpretable (equipment types at nuclear plants and military sites; site layout
#: elsewhere). A planner can override it.
POLICY_NIIRS: dict[str, float] = {
    "nuclear": 5.0,
    "military": 5.0,
    "government": 5.0,
    "power_plant": 4.0,
    "dam": 4.0,
    "airport": 4.0,
    "port": 4.0,
    "prison": 5.0,
    "other": 3.0,
}


def _distance_at(
    k: float,
    heights: NDArray[np.float64],
    pitch_mm: float,
    focal_mm: float,
    *,
    nadir_only: bool,
    hfov: float,
    vfov: float,
) -> NDArray[np.float64]:
    g_k = 2.0 ** (4.2 - k)
    slant = (g_k * focal_mm / pitch_mm) ** 0.8 * heights**0.2
    d = np.sqrt(np.maximum(slant**2 - heights**2, 0.0))
    d = np.where(slant > heights, d, 0.0)
    d = np.minimum(d, horizon_m(heights))
    if nadir_only:
        reach = heights * np.hypot(np.tan(hfov / 2), np.tan(vfov / 2))
        d = np.minimum(d, reach)
    return d


def observation_distance_m(
    camera: Camera,
    niirs_k: float,
    heights_m: ArrayLike,
    *,
    worst_case: bool = True,
    nadir_only: bool = False,
) -> float:
    """Horizontal distance beyond which ``camera`` cannot image at NIIRS ≥ ``niirs_k``.

    Parameters
    ----------
    camera : Camera
        From the catalogue.
    niirs_k : float
        Target NIIRS level to deny.
    heights_m : array_like
        Heights above the site to consider (the band, sampled; e.g. ``np.arange(30, 151)``).
    worst_case : bool
        Use the camera's longest focal length (a zoom at full zoom); the widest otherwise.
    nadir_only : bool
        The camera is fixed pointing straight down: it sees no farther than its footprint.

    Returns
    -------
    float
        Metres (0 when the camera never reaches ``niirs_k`` from the band).

    Raises
    ------
    ExposureError
        If a height is not positive or the band is empty.

    Examples
    --------
    Mavic 3 tele (1.6 µm pixels, 28.8 mm) at 100 m, NIIRS 6: R = (0.287·18000)^0.8 · 100^0.2.

    >>> from exposure.cameras import load_cameras
    >>> tele = load_cameras()["dji_mavic3_tele"]
    >>> round(observation_distance_m(tele, 6.0, [100.0]))
    2346
    """
    h = np.atleast_1d(np.asarray(heights_m, dtype=float))
    if not len(h) or not (h > 0).all():
        raise ExposureError(f"heights_m must be positive metres, got {h.tolist()[:5]}")
    focal = camera.focal_max_mm if worst_case else camera.focal_min_mm
    d = _distance_at(
        niirs_k,
        h,
        camera.pixel_pitch_mm,
        focal,
        nadir_only=nadir_only,
        hfov=camera.hfov_rad(focal),
        vfov=camera.vfov_rad(focal),
    )
    return float(d.max())


def buffer_table(
    cameras: dict[str, Camera],
    *,
    levels: tuple[float, ...] = (3.0, 5.0, 6.0, 7.0),
    heights_m: ArrayLike = tuple(range(30, 151, 5)),
    worst_case: bool = True,
) -> pd.DataFrame:
    """Observation buffers for every camera of a catalogue at several NIIRS levels.

    Returns
    -------
    pandas.DataFrame
        One row per camera: ``camera``, ``vendor``, ``kind``, ``focal_mm``, and
        ``buffer_niirs<k>_m`` per level, sorted by the largest buffer.

    Examples
    --------
    >>> from exposure.cameras import load_cameras
    >>> t = buffer_table(load_cameras(), levels=(5.0,), heights_m=[100.0])
    >>> bool((t["buffer_niirs5_m"] > 300).all())  # every catalogue camera beats a 300 m zone
    True
    """
    rows = []
    for key, cam in cameras.items():
        row = {
            "camera": key,
            "vendor": cam.vendor,
            "kind": cam.kind,
            "focal_mm": cam.focal_max_mm if worst_case else cam.focal_min_mm,
        }
        for k in levels:
            row[f"buffer_niirs{k:g}_m"] = round(
                observation_distance_m(cam, k, heights_m, worst_case=worst_case), 1
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values(
        f"buffer_niirs{levels[0]:g}_m", ascending=False, kind="stable"
    ).reset_index(drop=True)


def plan_zones(
    sites: gpd.GeoDataFrame,
    cameras: dict[str, Camera],
    *,
    camera: str | None = None,
    policy: dict[str, float] | None = None,
    heights_m: ArrayLike = tuple(range(30, 151, 5)),
    distance_m: float | None = None,
    restriction: str = "PROHIBITED",
) -> gpd.GeoDataFrame:
    """Propose one zone per site: the site grown by the observation buffer of its category.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Canonical sites (EPSG:4326); not modified.
    cameras : dict of str to Camera
        The catalogue.
    camera : str, optional
        The camera to deny; by default the catalogue camera with the largest buffer (the
        worst-case zoom camera), per site category level.
    policy : dict of str to float, optional
        NIIRS to deny per category (:data:`POLICY_NIIRS` by default).
    heights_m : array_like
        The height band the zone must cover; its top is the zone's ceiling (AGL).
    distance_m : float, optional
        A fixed buffer instead (e.g. 300 for Japan's legal ~300 m zones), for comparison.
    restriction : str
        ED-269 restriction of the proposed zones.

    Returns
    -------
    geopandas.GeoDataFrame
        Zones table (:data:`exposure.zones_io.ZONE_COLUMNS`) plus ``site_id``, ``buffer_m``,
        ``niirs_denied`` and ``camera``.

    Examples
    --------
    >>> from exposure.cameras import load_cameras
    >>> import shapely
    >>> s = gpd.GeoDataFrame({"site_id": ["s"], "name": ["Dam"], "category": ["dam"]},
    ...                      geometry=[shapely.box(138, 36, 138.001, 36.001)], crs=4326)
    >>> z = plan_zones(s, load_cameras(), distance_m=300)
    >>> str(z.loc[0, "zone_id"]), float(z.loc[0, "buffer_m"]), float(z.loc[0, "ceiling_m"])
    ('nofly:s', 300.0, 150.0)
    """
    from exposure.crs import local_epsg

    if sites.crs is None or sites.crs.to_epsg() != 4326:
        raise ExposureError(f"sites must be in EPSG:4326, got {sites.crs}")
    if camera is not None and camera not in cameras:
        raise ExposureError(f"camera {camera!r} is not in the catalogue")
    policy = {**POLICY_NIIRS, **(policy or {})}
    heights = np.atleast_1d(np.asarray(heights_m, dtype=float))
    levels = sites["category"].map(policy).fillna(policy["other"]).to_numpy(float)
    chosen, buffers = [], []
    for k in levels:
        if distance_m is not None:
            chosen.append(None)
            buffers.append(float(distance_m))
            continue
        keys = [camera] if camera else list(cameras)
        dist = {key: observation_distance_m(cameras[key], k, heights) for key in keys}
        best = max(dist, key=dist.get)
        chosen.append(best)
        buffers.append(dist[best])
    buffers = np.asarray(buffers)
    geoms = np.asarray(sites.geometry.array, dtype=object)
    centroids = shapely.centroid(geoms)
    epsg = local_epsg(shapely.get_x(centroids), shapely.get_y(centroids))
    grown = np.empty(len(sites), dtype=object)
    for code in np.unique(epsg):
        sel = epsg == code
        local = gpd.GeoSeries(geoms[sel], crs=4326).to_crs(int(code))
        grown[sel] = np.asarray(local.buffer(buffers[sel], quad_segs=16).to_crs(4326).array)
    return gpd.GeoDataFrame(
        {
            "zone_id": "nofly:" + sites["site_id"].astype(str).to_numpy(),
            "name": "Observation zone: " + sites["name"].astype(str).to_numpy(),
            "restriction": restriction,
            "reason": "SENSITIVE",
            "floor_m": 0.0,
            "ceiling_m": float(heights.max()),
            "vertical_ref": "AGL",
            "message": [
                f"denies NIIRS {k:g} to {c or 'any camera'} within {b:,.0f} m"
                for k, c, b in zip(levels, chosen, buffers, strict=True)
            ],
            "site_id": sites["site_id"].to_numpy(),
            "buffer_m": buffers,
            "niirs_denied": levels,
            "camera": chosen,
        },
        geometry=grown,
        crs="EPSG:4326",
    )


def whatif_zones(
    samples: pd.DataFrame,
    flights: pd.DataFrame,
    sites: gpd.GeoDataFrame,
    zone_sets: dict[str, gpd.GeoDataFrame],
    **assess_options: object,
) -> tuple[pd.DataFrame, list[str]]:
    """Assess again without the samples flown inside zones: what the zones would have prevented.

    Samples inside a zone's volume while it is in force (:func:`exposure.violations.inside_zones`)
    are removed, as if operators had complied, and the exposure is assessed again.

    Parameters
    ----------
    samples, flights, sites : frames
        As for :func:`exposure.engine.assess`; not modified.
    zone_sets : dict of str to geopandas.GeoDataFrame
        Named zone tables (canonical sites tables), e.g. ``{"legal_300m": ..., "proposed": ...}``.
    **assess_options
        Passed to :func:`exposure.engine.assess`.

    Returns
    -------
    table : pandas.DataFrame
        One row per site: the base ``seconds_in_view``, ``coverage_fraction``,
        ``coverage_fraction_niirs5``, ``best_niirs``, and for each zone set the same after
        compliance plus ``<set>_prevented_share`` (share of the base NIIRS-5 coverage, else of the
        time in view, that the zones remove) and ``<set>_samples_removed``.
    notes : list of str
        What was assumed.
    """
    from exposure.engine import assess
    from exposure.violations import inside_zones

    cols = ["seconds_in_view", "coverage_fraction", "coverage_fraction_niirs5", "best_niirs"]
    base = assess(samples, flights, sites, **assess_options).site_exposure
    table = base[["site_id", "name", "category", "sensitivity", *cols]].set_index("site_id")
    notes: list[str] = []
    s = samples.reset_index(drop=True)
    for name, zones in zone_sets.items():
        inside, _, _, zone_notes = inside_zones(s, zones)
        notes += [f"{name}: {n}" for n in zone_notes]
        kept = s.drop(index=np.unique(inside))
        after = assess(kept, flights, sites, **assess_options).site_exposure.set_index("site_id")
        for col in cols:
            table[f"{name}_{col}"] = after[col].reindex(table.index)
        b5, a5 = table["coverage_fraction_niirs5"], table[f"{name}_coverage_fraction_niirs5"]
        bt, at = table["seconds_in_view"], table[f"{name}_seconds_in_view"]
        share = np.where(
            b5 > 0, 1 - a5 / b5.where(b5 > 0), np.where(bt > 0, 1 - at / bt.where(bt > 0), 0.0)
        )
        table[f"{name}_prevented_share"] = np.clip(share, 0.0, 1.0)
        table[f"{name}_samples_removed"] = len(np.unique(inside))
    return table.reset_index(), notes
