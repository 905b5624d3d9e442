"""Leak scenarios: what the leak simulation assumes.

A scenario (TOML) says, for each leak channel of DESIGN.md section 5, what it carries, how it
reaches a foreign party, its chance per flight, the rules that change that chance by vendor,
model, app, vendor country, region and date, and the drone settings that stop it. The shipped
file ``exposure/data/leak_scenario.toml`` holds the defaults, each with its reason; a user's file
lists only what it changes (tables merge key by key, lists are replaced whole). Files are
validated strictly: an unknown key, a probability outside [0, 1], a bad date, a rule naming an
unknown region, ... all raise one :class:`~exposure.errors.ExposureError` that lists every
problem with the file, the key and the value.

``data_settings`` (in the fleet inventory, ``[replacement]`` and what-if profiles) is a list of
``name=value`` items separated by ``;`` or ``,``: names ``local_data`` (also ``local-data
mode``, ``ldm``), ``no_login`` (or ``login`` with the opposite value), ``air_gapped``; values
``on``/``off``/``unknown`` (or yes/no, true/false, 1/0). A bare name means on.

Each flight's drone profile is built by :mod:`exposure.profiles`; what-if policies are read and
applied by :mod:`exposure.whatif`.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from exposure.errors import ExposureError

__all__ = [
    "CHANNELS",
    "SETTINGS",
    "Channel",
    "Problems",
    "Receiver",
    "Rule",
    "Scenario",
    "default_scenario",
    "load_scenario",
    "parse_data_settings",
    "scenario_from_dict",
]

#: The leak channels of DESIGN.md section 5, in simulation order (a channel may require only an
#: earlier one).
CHANNELS: tuple[str, ...] = (
    "droneid",
    "remote_id",
    "app_telemetry",
    "geofence",
    "flight_record_sync",
    "thumbnails",
    "media_upload",
    "live_streaming",
    "covert_exfiltration",
    "repair_lost_media",
)

#: Drone settings that can stop a channel.
SETTINGS: tuple[str, ...] = ("local_data", "no_login", "air_gapped")

_CARRIES = ("positions", "pixels", "both")
_VIA = ("radio", "vendor", "direct")
_REVEALS = ("flight", "takeoff", "zone")
_STATES = ("on", "off", "unknown")
_RULE_LISTS = ("vendors", "models", "apps", "vendor_countries", "regions")
_DEFAULT_FILE = "leak_scenario.toml"


@dataclass(frozen=True)
class Rule:
    """An override of a channel's chance for the flights it matches (empty = any)."""

    p: float
    vendors: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    vendor_countries: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    start: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class Channel:
    """One leak channel (see the shipped scenario file for what each field means)."""

    name: str
    carries: str
    via: str
    p: float
    off_when: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    reveals: str = "flight"
    reveal_within_m: float = 5000.0
    zone_categories: tuple[str, ...] = ()
    zone_radius_m: float = 1000.0
    signal_range_m: float = float("inf")
    requires: str | None = None
    niirs_loss: float = 0.0
    needs_recording: bool = True

    @property
    def positions(self) -> bool:
        """Whether the channel carries positions."""
        return self.carries in ("positions", "both")

    @property
    def pixels(self) -> bool:
        """Whether the channel carries imagery."""
        return self.carries in ("pixels", "both")


@dataclass(frozen=True)
class Receiver:
    """An assumed radio receiver: where it is and how far it hears."""

    name: str
    lon: float
    lat: float
    range_m: float


@dataclass(frozen=True)
class Scenario:
    """A validated leak scenario (build it with :func:`load_scenario`)."""

    channels: tuple[Channel, ...]
    access_p: float
    access_per: str
    access_by_vendor_country: Mapping[str, float]
    setting_priors: Mapping[str, float]
    capturing_unknown: str
    positions_weight: float
    imagery_weight: float
    defaults: Mapping[str, Any]
    vendors: Mapping[str, Mapping[str, Any]]
    replacement: Mapping[str, Any]
    cost_factor: float
    cost_factor_by_vendor_country: Mapping[str, float]
    radio_mode: str
    receiver_within_m: float
    receivers: tuple[Receiver, ...]
    regions: Mapping[str, tuple[tuple[float, float, float, float], ...]]
    source: str = "shipped defaults"
    sha256: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def channel(self, name: str) -> Channel:
        """Return the channel called ``name``."""
        return self.channels[CHANNELS.index(name)]

    def with_channel(self, name: str, **changes: Any) -> Scenario:
        """Return a copy with one channel's fields changed."""
        chans = tuple(replace(c, **changes) if c.name == name else c for c in self.channels)
        return replace(self, channels=chans)


# --------------------------------------------------------------------------------------------
# Loading and validation


class Problems:
    """Collects every problem of one file, then raises them together.

    Each check records what is wrong and returns a stand-in value, so that checking goes on.

    Examples
    --------
    >>> pr = Problems("w.toml")
    >>> pr.number("p", 2, 0, 1), pr.text("name", 3), pr.items[0]
    (0, '', 'w.toml: p = 2: expected a number in [0, 1]')
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, key: str, value: object, expected: str) -> None:
        """Record that ``key`` has ``value`` where ``expected`` was expected."""
        self.items.append(f"{self.source}: {key} = {value!r}: expected {expected}")

    def raise_if_any(self) -> None:
        """Raise one :class:`ExposureError` listing every problem, if there are any."""
        if self.items:
            raise ExposureError("\n".join(self.items))

    def keys(self, key: str, table: object, allowed: Sequence[str]) -> dict[str, Any]:
        """Return ``table`` if it is a table, noting keys not in ``allowed``; else ``{}``."""
        if not isinstance(table, dict):
            self.add(key, table, "a table")
            return {}
        for k in table:
            if k not in allowed:
                where = f"{key}.{k}" if key else k
                self.items.append(
                    f"{self.source}: unknown key {where!r} (expected one of {', '.join(allowed)})"
                )
        return table

    def number(self, key: str, value: object, lo: float, hi: float = float("inf")) -> float:
        """Return ``value`` if it is a number in [``lo``, ``hi``], else ``lo``."""
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not (lo <= float(value) <= hi) or np.isnan(float(value)):
            span = f"a number in [{lo:g}, {hi:g}]" if hi < float("inf") else f"a number ≥ {lo:g}"
            self.add(key, value, span)
            return lo
        return float(value)

    def choice(self, key: str, value: object, options: Sequence[str]) -> str:
        """Return ``value`` if it is one of ``options``, else the first option."""
        if value not in options:
            self.add(key, value, "one of " + ", ".join(repr(o) for o in options))
            return options[0]
        return str(value)

    def text(self, key: str, value: object) -> str:
        """Return ``value`` if it is a string, else ``""``."""
        if not isinstance(value, str):
            self.add(key, value, "a string")
            return ""
        return value

    def texts(self, key: str, value: object) -> tuple[str, ...]:
        """Return ``value`` as a tuple if it is a list of strings, else ``()``."""
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(key, value, "a list of strings")
            return ()
        return tuple(value)

    def day(self, key: str, value: object) -> date | None:
        """Return ``value`` as a date (a TOML date or an ISO string), else ``None``."""
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.add(key, value, "a date such as 2024-07-01")
        return None


def _merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _default_bytes() -> bytes:
    return files("exposure").joinpath("data", _DEFAULT_FILE).read_bytes()


def default_scenario() -> Scenario:
    """Load the shipped scenario (``exposure/data/leak_scenario.toml``).

    Examples
    --------
    >>> s = default_scenario()
    >>> s.access_p, s.channel("droneid").rules[0].vendors, len(s.channels)
    (0.5, ('DJI',), 10)
    """
    data = _default_bytes()
    return scenario_from_dict(
        tomllib.loads(data.decode("utf-8")),
        source="shipped defaults",
        sha256=hashlib.sha256(data).hexdigest(),
    )


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read a scenario file on top of the shipped defaults.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        A TOML file with the keys to change; ``None`` gives the shipped defaults.

    Returns
    -------
    Scenario
        With ``source`` (the path) and ``sha256`` (of the file's bytes).

    Raises
    ------
    ExposureError
        If the file is missing, not TOML, or any key or value is invalid (all listed).
    """
    if path is None:
        return default_scenario()
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExposureError(f"{path}: cannot read the scenario file ({exc.strerror})") from None
    try:
        user = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ExposureError(f"{path}: not a valid TOML scenario file ({exc})") from None
    base = tomllib.loads(_default_bytes().decode("utf-8"))
    return scenario_from_dict(
        _merge(base, user), source=str(path), sha256=hashlib.sha256(data).hexdigest()
    )


def _free_table(pr: Problems, key: str, value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        pr.add(key, value, "a table")
        return {}
    return value


def scenario_from_dict(
    data: Mapping[str, Any], *, source: str = "scenario", sha256: str = ""
) -> Scenario:
    """Validate a complete scenario given as nested dicts (as TOML parses it).

    Raises
    ------
    ExposureError
        Listing every problem, each naming ``source``, the key and the value.

    Examples
    --------
    >>> raw = tomllib.loads(_default_bytes().decode())
    >>> raw["access"]["p"] = 1.5
    >>> raw["channels"]["droneid"]["colour"] = "red"
    >>> try:
    ...     scenario_from_dict(raw, source="s.toml")
    ... except ExposureError as exc:
    ...     for line in str(exc).splitlines():
    ...         print(line[:55])
    s.toml: unknown key 'channels.droneid.colour' (expected
    s.toml: access.p = 1.5: expected a number in [0, 1]
    """
    pr = Problems(source)
    top = pr.keys("", dict(data), ("access", "settings", "imagery", "objective", "defaults",
                                   "vendors", "replacement", "radio", "regions", "channels"))
    access = pr.keys("access", top.get("access", {}), ("p", "per", "by_vendor_country"))
    by_country = {
        str(k): pr.number(f"access.by_vendor_country.{k}", v, 0, 1)
        for k, v in _free_table(pr, "access.by_vendor_country",
                                access.get("by_vendor_country")).items()
    }
    settings = pr.keys("settings", top.get("settings", {}), SETTINGS)
    imagery = pr.keys("imagery", top.get("imagery", {}), ("capturing_unknown",))
    objective = pr.keys("objective", top.get("objective", {}),
                        ("positions_weight", "imagery_weight"))
    defaults = pr.keys("defaults", top.get("defaults", {}),
                       (*SETTINGS, "vendor_country", "app", "replacement_cost"))
    for s in SETTINGS:
        pr.choice(f"defaults.{s}", defaults.get(s, "off"), _STATES)
    vendors = {}
    for name, info in _free_table(pr, "vendors", top.get("vendors")).items():
        info = pr.keys(f"vendors.{name}", info, ("country", "app", "replacement_cost"))
        vendors[str(name).casefold()] = {
            "vendor": str(name),
            "country": pr.text(f"vendors.{name}.country", info.get("country", "unknown")),
            "app": pr.text(f"vendors.{name}.app", info.get("app", "unknown")),
            "replacement_cost": pr.number(
                f"vendors.{name}.replacement_cost", info.get("replacement_cost", 1.0), 1e-9
            ),
        }
    repl = pr.keys("replacement", top.get("replacement", {}),
                   ("vendor", "model", "vendor_country", "app", "data_settings", "cost_factor",
                    "cost_factor_by_vendor_country"))
    profile = {k: pr.text(f"replacement.{k}", repl.get(k, "unknown"))
               for k in ("vendor", "model", "vendor_country", "app", "data_settings")}
    try:
        parse_data_settings(profile["data_settings"])
    except ValueError as exc:
        pr.add("replacement.data_settings", profile["data_settings"], str(exc))
    factors = {
        str(k): pr.number(f"replacement.cost_factor_by_vendor_country.{k}", v, 1e-9)
        for k, v in _free_table(pr, "replacement.cost_factor_by_vendor_country",
                                repl.get("cost_factor_by_vendor_country")).items()
    }
    radio = pr.keys("radio", top.get("radio", {}), ("mode", "receiver_within_m", "receivers"))
    mode = pr.choice("radio.mode", radio.get("mode", "uniform"), ("uniform", "points"))
    receivers = _receivers(pr, radio.get("receivers", []))
    if mode == "points" and not receivers:
        pr.add("radio.receivers", [], "at least one receiver when radio.mode = 'points'")
    regions = {}
    for name, reg in _free_table(pr, "regions", top.get("regions")).items():
        reg = pr.keys(f"regions.{name}", reg, ("boxes",))
        regions[str(name)] = _boxes(pr, f"regions.{name}.boxes", reg.get("boxes"))
    channels = _channels(pr, top.get("channels", {}), set(regions))
    scalars = {
        "access_p": pr.number("access.p", access.get("p", 0.5), 0, 1),
        "access_per": pr.choice("access.per", access.get("per", "vendor"), ("vendor", "flight")),
        "setting_priors": {s: pr.number(f"settings.{s}", settings.get(s, 0.0), 0, 1)
                           for s in SETTINGS},
        "capturing_unknown": pr.choice("imagery.capturing_unknown",
                                       imagery.get("capturing_unknown", "recording"),
                                       ("recording", "not_recording")),
        "positions_weight": pr.number("objective.positions_weight",
                                      objective.get("positions_weight", 0.2), 0),
        "imagery_weight": pr.number("objective.imagery_weight",
                                    objective.get("imagery_weight", 0.3), 0),
        "cost_factor": pr.number("replacement.cost_factor", repl.get("cost_factor", 1.0), 1e-9),
        "receiver_within_m": pr.number("radio.receiver_within_m",
                                       radio.get("receiver_within_m", 0.0), 0),
    }
    fallback = {
        **{s: str(defaults.get(s, "off")) for s in SETTINGS},
        "vendor_country": pr.text("defaults.vendor_country",
                                  defaults.get("vendor_country", "unknown")),
        "app": pr.text("defaults.app", defaults.get("app", "unknown")),
        "replacement_cost": pr.number("defaults.replacement_cost",
                                      defaults.get("replacement_cost", 3000.0), 1e-9),
    }
    pr.raise_if_any()
    return Scenario(
        channels=channels,
        access_by_vendor_country=by_country,
        defaults=fallback,
        vendors=vendors,
        replacement=profile,
        cost_factor_by_vendor_country=factors,
        radio_mode=mode,
        receivers=receivers,
        regions=regions,
        source=source,
        sha256=sha256,
        raw=dict(data),
        **scalars,
    )


def _boxes(pr: Problems, key: str, value: object) -> tuple[tuple[float, float, float, float], ...]:
    ok = isinstance(value, list) and all(
        isinstance(b, list) and len(b) == 4
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in b)
        for b in value
    )
    if ok:
        boxes = tuple(tuple(float(x) for x in b) for b in value)
        ok = all(-180 <= b[0] <= b[2] <= 180 and -90 <= b[1] <= b[3] <= 90 for b in boxes)
    if not ok:
        pr.add(key, value, "a list of [lon_min, lat_min, lon_max, lat_max] boxes in degrees")
        return ()
    return boxes  # type: ignore[return-value]


def _receivers(pr: Problems, value: object) -> tuple[Receiver, ...]:
    if not isinstance(value, list):
        pr.add("radio.receivers", value, "a list of receivers ([[radio.receivers]])")
        return ()
    out = []
    for i, item in enumerate(value):
        key = f"radio.receivers[{i}]"
        item = pr.keys(key, item, ("name", "lon", "lat", "range_m"))
        out.append(
            Receiver(
                name=pr.text(f"{key}.name", item.get("name", f"receiver {i + 1}")),
                lon=pr.number(f"{key}.lon", item.get("lon"), -180, 180),
                lat=pr.number(f"{key}.lat", item.get("lat"), -90, 90),
                range_m=pr.number(f"{key}.range_m", item.get("range_m"), 0),
            )
        )
    return tuple(out)


_CHANNEL_KEYS = ("carries", "via", "p", "off_when", "rules", "reveals", "reveal_within_m",
                 "zone_categories", "zone_radius_m", "signal_range_m", "requires", "niirs_loss",
                 "needs_recording")


def _channels(pr: Problems, value: object, regions: set[str]) -> tuple[Channel, ...]:
    table = pr.keys("channels", value, CHANNELS)
    out = []
    for pos, name in enumerate(CHANNELS):
        key = f"channels.{name}"
        if name not in table:
            pr.items.append(f"{pr.source}: missing table [{key}]")
            out.append(Channel(name, "positions", "direct", 0.0))
            continue
        c = pr.keys(key, table[name], _CHANNEL_KEYS)
        carries = pr.choice(f"{key}.carries", c.get("carries"), _CARRIES)
        via = pr.choice(f"{key}.via", c.get("via"), _VIA)
        off = pr.texts(f"{key}.off_when", c.get("off_when", []))
        for s in off:
            if s not in SETTINGS:
                pr.add(f"{key}.off_when", s, "settings among " + ", ".join(SETTINGS))
        requires = c.get("requires")
        if requires is not None and requires not in CHANNELS[:pos]:
            pr.add(f"{key}.requires", requires, "a channel listed before it: "
                   + ", ".join(CHANNELS[:pos]))
            requires = None
        if via == "radio" and carries != "positions":
            pr.add(f"{key}.carries", carries, "'positions' for a radio channel")
        if via == "radio" and "signal_range_m" not in c:
            pr.add(f"{key}.signal_range_m", None, "the broadcast's range for a radio channel")
        needs = c.get("needs_recording", True)
        if not isinstance(needs, bool):
            pr.add(f"{key}.needs_recording", needs, "true or false")
        out.append(
            Channel(
                name=name,
                carries=carries,
                via=via,
                p=pr.number(f"{key}.p", c.get("p"), 0, 1),
                off_when=off,
                rules=_rules(pr, key, c.get("rules", []), regions),
                reveals=pr.choice(f"{key}.reveals", c.get("reveals", "flight"), _REVEALS),
                reveal_within_m=pr.number(f"{key}.reveal_within_m",
                                          c.get("reveal_within_m", 5000.0), 0),
                zone_categories=pr.texts(f"{key}.zone_categories", c.get("zone_categories", [])),
                zone_radius_m=pr.number(f"{key}.zone_radius_m", c.get("zone_radius_m", 1000.0), 0),
                signal_range_m=pr.number(f"{key}.signal_range_m",
                                         c.get("signal_range_m", float("inf")), 0),
                requires=requires,
                niirs_loss=pr.number(f"{key}.niirs_loss", c.get("niirs_loss", 0.0), 0, 9),
                needs_recording=bool(needs),
            )
        )
    return tuple(out)


def _rules(pr: Problems, key: str, value: object, regions: set[str]) -> tuple[Rule, ...]:
    if not isinstance(value, list):
        pr.add(f"{key}.rules", value, "a list of rule tables")
        return ()
    out = []
    for i, item in enumerate(value):
        k = f"{key}.rules[{i}]"
        item = pr.keys(k, item, ("p", *_RULE_LISTS, "from", "until"))
        lists = {name: pr.texts(f"{k}.{name}", item.get(name, [])) for name in _RULE_LISTS}
        for r in lists["regions"]:
            if r not in regions:
                pr.add(f"{k}.regions", r, "a region defined under [regions]: "
                       + ", ".join(sorted(regions)))
        start = pr.day(f"{k}.from", item["from"]) if "from" in item else None
        until = pr.day(f"{k}.until", item["until"]) if "until" in item else None
        if start and until and until <= start:
            pr.add(f"{k}.until", until.isoformat(), f"a date after from = {start.isoformat()}")
        out.append(Rule(p=pr.number(f"{k}.p", item.get("p"), 0, 1), start=start, until=until,
                        **lists))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Data settings (here, not in exposure.profiles: checking a scenario's [replacement]
# needs the parser, and scenarios import nothing of profiles or what-ifs)

_ALIASES = {
    "local_data": "local_data", "localdata": "local_data", "ldm": "local_data",
    "local_data_mode": "local_data", "no_login": "no_login", "nologin": "no_login",
    "login": "login", "logged_in": "login", "air_gapped": "air_gapped",
    "airgapped": "air_gapped", "air_gap": "air_gapped",
}
_VALUES = {
    "on": "on", "yes": "on", "true": "on", "1": "on", "enabled": "on",
    "off": "off", "no": "off", "false": "off", "0": "off", "disabled": "off",
    "unknown": "unknown", "?": "unknown", "": "unknown",
}


def parse_data_settings(text: object) -> dict[str, str]:
    """Parse a ``data_settings`` value into ``on``/``off``/``unknown`` per setting.

    Settings the text does not mention are ``unknown``; an empty or missing value leaves all
    three unknown.

    Raises
    ------
    ValueError
        Naming the item that is not understood.

    Examples
    --------
    >>> parse_data_settings("local-data mode=on; login=off")
    {'local_data': 'on', 'no_login': 'on', 'air_gapped': 'unknown'}
    >>> parse_data_settings(None)
    {'local_data': 'unknown', 'no_login': 'unknown', 'air_gapped': 'unknown'}
    """
    out = dict.fromkeys(SETTINGS, "unknown")
    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
        return out
    for item in re.split(r"[;,|]", str(text)):
        if not item.strip():
            continue
        sep = "=" if "=" in item else ":"
        name, has_value, value = item.partition(sep)
        key = re.sub(r"[\s\-]+", "_", name.strip().casefold())
        setting = _ALIASES.get(key) or _ALIASES.get(key.removesuffix("_mode"))
        # A bare name ("air_gapped") means the setting is on.
        state = _VALUES.get(value.strip().casefold()) if has_value else "on"
        if setting is None or state is None:
            raise ValueError(
                f"item {item.strip()!r} not understood (expected name=on/off/unknown with a "
                "name among local_data, no_login, login, air_gapped)"
            )
        if setting == "login":
            setting, state = "no_login", {"on": "off", "off": "on"}.get(state, state)
        out[setting] = state
    return out
