"""What-if files: named policies whose changes are compared against the base leak run.

A what-if file (TOML) names a policy (``name``, ``description``) and lists ``[[changes]]``,
each with an ``action``: ``replace`` (drones matching ``vendors``, ``vendor_countries``,
``models`` or ``drones`` get the ``[replacement]`` profile, optionally overridden by
``profile``), ``mandate_local_data`` (every drone, or those matching the same filters),
``droneid_off``, ``disable_cloud_sync`` (flight-record sync stops, and with it thumbnails),
``no_fly_zones`` (``zones``: a zone file, relative to the what-if file), ``set_channel``
(``channel`` and ``p``: the channel's chance everywhere) and ``set_access`` (``p``).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from exposure.errors import ExposureError
from exposure.profiles import replace_profiles
from exposure.scenario import CHANNELS, Problems, Scenario, parse_data_settings

__all__ = ["Change", "WhatIf", "apply_what_if", "load_what_if"]

_ACTIONS: dict[str, tuple[str, ...]] = {
    "replace": ("vendors", "vendor_countries", "models", "drones", "profile"),
    "mandate_local_data": ("vendors", "vendor_countries", "models", "drones"),
    "droneid_off": (),
    "disable_cloud_sync": (),
    "no_fly_zones": ("zones",),
    "set_channel": ("channel", "p"),
    "set_access": ("p",),
}


@dataclass(frozen=True)
class Change:
    """One change of a what-if (see the module notes for the actions)."""

    action: str
    vendors: tuple[str, ...] = ()
    vendor_countries: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    drones: tuple[str, ...] = ()
    profile: Mapping[str, str] = field(default_factory=dict)
    channel: str | None = None
    p: float | None = None
    zones: Path | None = None

    def matches(self, profiles: pd.DataFrame) -> np.ndarray:
        """Flights whose drone the change's filters select (all when it gives none)."""
        m = np.ones(len(profiles), bool)
        for values, cols in ((self.vendors, ("vendor",)),
                             (self.vendor_countries, ("vendor_country",)),
                             (self.models, ("model",)), (self.drones, ("drone_key", "drone_id"))):
            if values:
                wanted = {v.casefold() for v in values}
                hit = np.zeros(len(profiles), bool)
                for col in cols:
                    hit |= profiles[col].astype("string").str.casefold().isin(wanted).fillna(
                        False).to_numpy(bool)
                m &= hit
        return m


@dataclass(frozen=True)
class WhatIf:
    """A named policy: changes applied together and compared against the base run."""

    name: str
    changes: tuple[Change, ...]
    description: str = ""
    source: str = ""
    sha256: str = ""

    @property
    def zone_files(self) -> tuple[Path, ...]:
        """Zone files of its ``no_fly_zones`` changes."""
        return tuple(c.zones for c in self.changes if c.zones is not None)


def load_what_if(path: str | Path) -> WhatIf:
    r"""Read and validate a what-if file.

    Raises
    ------
    ExposureError
        If the file is missing, not TOML, or a change is invalid (every problem listed).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = pathlib.Path(d, "w.toml")
    ...     _ = f.write_text('name = "no DJI"\n[[changes]]\naction = "replace"\n'
    ...                      'vendors = ["DJI"]\n')
    ...     w = load_what_if(f)
    >>> w.name, w.changes[0].action, w.changes[0].vendors
    ('no DJI', 'replace', ('DJI',))
    """
    path = Path(path)
    try:
        data = path.read_bytes()
        raw = tomllib.loads(data.decode("utf-8"))
    except OSError as exc:
        raise ExposureError(f"{path}: cannot read the what-if file ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ExposureError(f"{path}: not a valid TOML what-if file ({exc})") from None
    pr = Problems(str(path))
    top = pr.keys("", raw, ("name", "description", "changes"))
    name = pr.text("name", top.get("name", path.stem))
    description = pr.text("description", top.get("description", ""))
    items = top.get("changes")
    if not isinstance(items, list) or not items:
        pr.add("changes", items, "at least one [[changes]] table")
        items = []
    changes = []
    for i, item in enumerate(items):
        key = f"changes[{i}]"
        if not isinstance(item, dict):
            pr.add(key, item, "a table")
            continue
        action = pr.choice(f"{key}.action", item.get("action"), tuple(_ACTIONS))
        pr.keys(key, item, ("action", *_ACTIONS[action]))
        lists = {k: pr.texts(f"{key}.{k}", item.get(k, []))
                 for k in ("vendors", "vendor_countries", "models", "drones")}
        profile = pr.keys(f"{key}.profile", item.get("profile", {}),
                          ("vendor", "model", "vendor_country", "app", "data_settings"))
        for k, v in profile.items():
            pr.text(f"{key}.profile.{k}", v)
        if "data_settings" in profile:
            try:
                parse_data_settings(profile["data_settings"])
            except ValueError as exc:
                pr.add(f"{key}.profile.data_settings", profile["data_settings"], str(exc))
        channel = item.get("channel")
        if action == "set_channel":
            pr.choice(f"{key}.channel", channel, CHANNELS)
        p = item.get("p")
        if action in ("set_channel", "set_access"):
            p = pr.number(f"{key}.p", p, 0, 1)
        zones = None
        if action == "no_fly_zones":
            zones = path.parent / pr.text(f"{key}.zones", item.get("zones"))
            if not zones.is_file():
                pr.add(f"{key}.zones", item.get("zones"), f"an existing zone file ({zones})")
        changes.append(Change(action=action, profile=dict(profile), channel=channel, p=p,
                              zones=zones, **lists))
    pr.raise_if_any()
    return WhatIf(name=name, description=description, changes=tuple(changes), source=str(path),
                  sha256=hashlib.sha256(data).hexdigest())


def apply_what_if(
    scenario: Scenario, profiles: pd.DataFrame, what_if: WhatIf
) -> tuple[Scenario, pd.DataFrame]:
    """Apply a what-if's changes, in order, to a scenario and the drone profiles.

    ``no_fly_zones`` changes are left to the simulation (they remove passes, see
    :func:`exposure.leakgeometry.remove_zone_passes`). Inputs are not modified.

    Examples
    --------
    >>> from exposure.profiles import flight_profiles
    >>> from exposure.scenario import default_scenario
    >>> s = default_scenario()
    >>> p = flight_profiles(pd.DataFrame({"flight_id": ["a"], "vendor": ["DJI"]}), s)
    >>> s2, p2 = apply_what_if(s, p, WhatIf("x", (Change("droneid_off"),
    ...                                           Change("mandate_local_data"))))
    >>> s2.channel("droneid").p, s2.channel("droneid").rules, p2["local_data"].tolist()
    (0.0, (), ['on'])
    """
    out = profiles.copy()
    for change in what_if.changes:
        if change.action == "replace":
            out = replace_profiles(out, change.matches(out), scenario, overrides=change.profile)
        elif change.action == "mandate_local_data":
            out.loc[change.matches(out), "local_data"] = "on"
        elif change.action == "droneid_off":
            scenario = scenario.with_channel("droneid", p=0.0, rules=())
        elif change.action == "disable_cloud_sync":
            scenario = scenario.with_channel("flight_record_sync", p=0.0, rules=())
        elif change.action == "set_channel" and change.channel is not None:
            scenario = scenario.with_channel(change.channel, p=float(change.p or 0.0), rules=())
        elif change.action == "set_access":
            scenario = replace(scenario, access_p=float(change.p or 0.0),
                               access_by_vendor_country={})
    return scenario, out
