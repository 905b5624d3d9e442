"""The demo scenario: a simulated government drone fleet flying plausible missions in Japan.

No public flight log recorded in Japan exists, so the demo flies simulated missions near real
Japanese sites (the bundled catalogue): inspection orbits around nuclear plants, coastal patrols,
survey lawnmowers and transits, by a mixed fleet (DJI, Skydio, Autel, Parrot). The flights are
returned as tables in canonical sample columns; the command line writes them as real log files
(AirData CSV and DJI SRT) and reads them back through the readers.

Everything is seeded: the same seed gives the same fleet, sample for sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from exposure.crs import local_epsg, to_geographic, to_local

__all__ = ["MISSIONS", "Mission", "demo_fleet"]


@dataclass(frozen=True)
class Mission:
    """One simulated flight.

    Attributes
    ----------
    flight_id, drone_id, model, vendor, vendor_country, agency, camera : str
        Identity of the flight and its aircraft (the fleet inventory row).
    kind : str
        ``"orbit"``, ``"line"`` (patrol or transit, out and back) or ``"lawnmower"``.
    lon, lat : float
        Orbit or survey centre, or the start of a line.
    end_lon, end_lat : float
        End of a line (unused otherwise).
    size_m : float
        Orbit radius or survey square side.
    height_m : float
        Height above take-off.
    speed_ms : float
        Ground speed.
    start : str
        Take-off time, ISO 8601 UTC.
    log_format : str
        ``"airdata_csv"`` or ``"dji_srt"``: how the command line writes the flight.
    gimbal_pitch_deg : float
        Camera pitch held during the flight.
    """

    flight_id: str
    drone_id: str
    model: str
    vendor: str
    vendor_country: str
    agency: str
    camera: str
    kind: str
    lon: float
    lat: float
    size_m: float
    height_m: float
    speed_ms: float
    start: str
    log_format: str = "airdata_csv"
    end_lon: float = float("nan")
    end_lat: float = float("nan")
    gimbal_pitch_deg: float = -90.0
    replacement_cost: float = 3000.0


#: The bundled scenario. Positions are real site locations (see sites/data/ATTRIBUTION.md);
#: the missions are invented.
MISSIONS: tuple[Mission, ...] = (
    Mission(
        "kk-inspection-orbit",
        "1581F5BKD225H00D1",
        "Matrice 30T",
        "DJI",
        "CN",
        "Niigata Prefectural Police",
        "dji_m30t_zoom",
        "orbit",
        138.598,
        37.434,
        1500,
        120,
        8,
        "2025-03-04T01:00:00Z",
        gimbal_pitch_deg=-30,
        replacement_cost=15000,
    ),
    Mission(
        "kk-coastal-patrol",
        "1ZNBJ7R0030A3X",
        "Mavic 3",
        "DJI",
        "CN",
        "Japan Coast Guard",
        "dji_mavic3_wide",
        "line",
        138.545,
        37.392,
        0,
        80,
        10,
        "2025-03-05T23:30:00Z",
        "dji_srt",
        end_lon=138.640,
        end_lat=37.470,
        gimbal_pitch_deg=-20,
    ),
    Mission(
        "kk-survey-orbit",
        "1ZNBJ7R0030B7Q",
        "Mavic 3",
        "DJI",
        "CN",
        "Niigata Prefecture",
        "dji_mavic3_tele",
        "orbit",
        138.598,
        37.434,
        2500,
        150,
        9,
        "2025-04-11T02:15:00Z",
        "dji_srt",
        gimbal_pitch_deg=-15,
    ),
    Mission(
        "tokai-orbit",
        "X2D-0042-7731",
        "X2D",
        "Skydio",
        "US",
        "Ibaraki Prefectural Police",
        "skydio_x2",
        "orbit",
        140.612,
        36.466,
        1000,
        100,
        7,
        "2025-03-12T00:30:00Z",
        gimbal_pitch_deg=-45,
        replacement_cost=17000,
    ),
    Mission(
        "tokai-coastal-patrol",
        "X2D-0042-7760",
        "X2D",
        "Skydio",
        "US",
        "Japan Coast Guard",
        "skydio_x2",
        "line",
        140.585,
        36.405,
        0,
        90,
        10,
        "2025-05-02T05:00:00Z",
        end_lon=140.628,
        end_lat=36.505,
        gimbal_pitch_deg=-30,
        replacement_cost=17000,
    ),
    Mission(
        "hamaoka-survey",
        "7YAE2K110C0019",
        "EVO II 8K",
        "Autel",
        "CN",
        "Shizuoka Prefecture",
        "autel_evo2_8k",
        "lawnmower",
        138.157,
        34.629,
        1200,
        100,
        8,
        "2025-06-18T01:10:00Z",
        replacement_cost=6000,
    ),
    Mission(
        "tokyo-transit",
        "1581F4QWB21C0033",
        "Mini 3 Pro",
        "DJI",
        "CN",
        "Tokyo Metropolitan Government",
        "dji_mini3pro",
        "line",
        139.700,
        35.690,
        0,
        100,
        9,
        "2025-02-20T03:00:00Z",
        end_lon=139.7445,
        end_lat=35.6745,
        gimbal_pitch_deg=-60,
        replacement_cost=1000,
    ),
    Mission(
        "ichigaya-bridge-inspection",
        "1ZNBJ7R0030C1K",
        "Mavic 3",
        "DJI",
        "CN",
        "Shinjuku City",
        "dji_mavic3_wide",
        "orbit",
        139.7230,
        35.6990,
        300,
        60,
        5,
        "2025-02-27T04:30:00Z",
        "dji_srt",
        gimbal_pitch_deg=-45,
    ),
    Mission(
        "haneda-river-survey",
        "0AXDE4R0010P4P",
        "Phantom 4 Pro",
        "DJI",
        "CN",
        "Ministry of Land, Infrastructure, Transport and Tourism",
        "dji_phantom4pro",
        "line",
        139.700,
        35.560,
        0,
        50,
        8,
        "2025-01-15T00:00:00Z",
        end_lon=139.770,
        end_lat=35.540,
        replacement_cost=2000,
    ),
    Mission(
        "yokosuka-coastal-patrol",
        "PI040416AA0H012",
        "ANAFI USA",
        "Parrot",
        "FR",
        "Japan Coast Guard",
        "parrot_anafi_usa",
        "line",
        139.620,
        35.265,
        0,
        100,
        11,
        "2025-07-08T22:00:00Z",
        end_lon=139.700,
        end_lat=35.310,
        gimbal_pitch_deg=-25,
        replacement_cost=9000,
    ),
    Mission(
        "atsugi-transit",
        "1ZNBJ7R0030D9M",
        "Mavic 3",
        "DJI",
        "CN",
        "Kanagawa Prefecture",
        "dji_mavic3_wide",
        "line",
        139.400,
        35.420,
        0,
        120,
        12,
        "2025-08-21T06:00:00Z",
        end_lon=139.480,
        end_lat=35.480,
        gimbal_pitch_deg=-40,
    ),
)


def _path(m: Mission, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """Metric track (x, y) sampled at 1 Hz, and the EPSG code it is in."""
    epsg = int(local_epsg([m.lon], [m.lat])[0])
    x0, y0 = to_local([m.lon], [m.lat], epsg)
    x0, y0 = float(x0[0]), float(y0[0])
    if m.kind == "orbit":
        n = int(2 * np.pi * m.size_m / m.speed_ms)
        a = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 2 * np.pi)
        x, y = x0 + m.size_m * np.cos(a), y0 + m.size_m * np.sin(a)
    elif m.kind == "line":
        x1, y1 = to_local([m.end_lon], [m.end_lat], epsg)
        length = float(np.hypot(x1[0] - x0, y1[0] - y0))
        n = max(int(length / m.speed_ms), 2)
        f = np.concatenate([np.linspace(0, 1, n), np.linspace(1, 0, n)[1:]])
        x, y = x0 + f * (x1[0] - x0), y0 + f * (y1[0] - y0)
    elif m.kind == "lawnmower":
        spacing = 100.0
        rows = []
        for k, yy in enumerate(np.arange(-m.size_m / 2, m.size_m / 2 + 1, spacing)):
            xs = np.arange(-m.size_m / 2, m.size_m / 2 + 1, m.speed_ms)
            rows.append(np.column_stack([xs if k % 2 == 0 else xs[::-1], np.full(len(xs), yy)]))
        xy = np.concatenate(rows)
        x, y = x0 + xy[:, 0], y0 + xy[:, 1]
    else:
        raise ValueError(f"mission {m.flight_id}: unknown kind {m.kind!r}")
    # GPS noise of a consumer receiver (about 1 m).
    return x + rng.normal(0, 0.8, len(x)), y + rng.normal(0, 0.8, len(y)), epsg


def demo_fleet(*, seed: int = 7) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Simulate the demo fleet's flights.

    Parameters
    ----------
    seed : int
        Random seed for GPS noise, start angles and capture toggling.

    Returns
    -------
    tracks : dict of str to pandas.DataFrame
        Flight id → samples in canonical columns (``time``, ``lon``, ``lat``, ``height_agl_m``,
        ``alt_msl_m``, ``yaw_deg``, ``gimbal_pitch_deg``, ``gimbal_yaw_deg``, ``capturing``).
    fleet : pandas.DataFrame
        The fleet inventory (one row per flight: ``flight_id``, ``drone_id``, ``model``,
        ``vendor``, ``vendor_country``, ``agency``, ``camera``, ``replacement_cost``,
        ``log_format``).

    Examples
    --------
    >>> tracks, fleet = demo_fleet(seed=1)
    >>> len(tracks) == len(fleet) == len(MISSIONS), fleet["vendor"].nunique() >= 4
    (True, True)
    """
    rng = np.random.default_rng(seed)
    tracks, rows = {}, []
    for m in MISSIONS:
        x, y, epsg = _path(m, rng)
        lon, lat = to_geographic(x, y, epsg)
        n = len(x)
        heading = np.degrees(np.arctan2(np.gradient(x), np.gradient(y))) % 360
        climb = np.minimum(np.arange(n) * 3.0, m.height_m)  # 3 m/s climb after take-off
        height = np.minimum(climb, climb[::-1].copy()) if n > 1 else climb
        # Video runs in stretches of a few minutes, as operators record segments.
        capturing = (np.cumsum(rng.random(n) < 1 / 180) % 2 == 0) & (height > 10)
        tracks[m.flight_id] = pd.DataFrame(
            {
                "time": pd.Timestamp(m.start) + pd.to_timedelta(np.arange(n), unit="s"),
                "lon": lon,
                "lat": lat,
                "height_agl_m": height,
                "alt_msl_m": height + 15.0,
                "yaw_deg": heading,
                "gimbal_pitch_deg": np.full(n, m.gimbal_pitch_deg),
                "gimbal_yaw_deg": heading,
                "capturing": capturing,
            }
        )
        rows.append(
            {
                "flight_id": m.flight_id,
                "drone_id": m.drone_id,
                "model": m.model,
                "vendor": m.vendor,
                "vendor_country": m.vendor_country,
                "agency": m.agency,
                "camera": m.camera,
                "replacement_cost": m.replacement_cost,
                "log_format": m.log_format,
            }
        )
    return tracks, pd.DataFrame(rows)
