"""The site categories, their default sensitivity, and the radius that turns a point into a polygon.

Sensitivity runs from 1 (public, low concern) to 5 (highest). The defaults below are this tool's
choice, made for a national-security reading of exposure: nuclear plants and military sites 5
(imagery of them is what a foreign service wants most), government buildings 4, power plants,
dams and airports 3 (critical infrastructure, much of it visible from public land), ports and
prisons 2, anything else 1. Every catalogue can override them per site (a ``sensitivity``
column), and an analyst per category or per site with an override file
(:mod:`sites.overrides`).

Point radii: a catalogue that gives a site only as a point (an airport reference point, a plant's
coordinates) is represented by a circle of the category's radius, sized to cover a typical site of
that kind: a nuclear plant's protected area is about 1 km across, a military point in OSM usually
marks a building or a small compound, an airport reference point sits near the runway midpoint
of a field a few kilometres long.
"""

from __future__ import annotations

__all__ = ["CATEGORIES", "DEFAULT_SENSITIVITY", "POINT_RADIUS_M", "normalise_category"]

#: The taxonomy, in order of decreasing default sensitivity.
CATEGORIES = (
    "nuclear",
    "military",
    "government",
    "power_plant",
    "dam",
    "airport",
    "port",
    "prison",
    "other",
)

DEFAULT_SENSITIVITY: dict[str, int] = {
    "nuclear": 5,
    "military": 5,
    "government": 4,
    "power_plant": 3,
    "dam": 3,
    "airport": 3,
    "port": 2,
    "prison": 2,
    "other": 1,
}

#: Radius in metres of the circle that stands for a site given only as a point.
POINT_RADIUS_M: dict[str, float] = {
    "nuclear": 600.0,
    "military": 250.0,
    "government": 150.0,
    "power_plant": 300.0,
    "dam": 200.0,
    "airport": 1500.0,
    "port": 500.0,
    "prison": 150.0,
    "other": 100.0,
}

_ALIASES = {
    "nuclear_power_plant": "nuclear",
    "nuclear_plant": "nuclear",
    "power": "power_plant",
    "powerplant": "power_plant",
    "aerodrome": "airport",
    "airfield": "airport",
    "heliport": "airport",
    "defense": "military",
    "defence": "military",
    "base": "military",
    "gov": "government",
}


def normalise_category(value: object) -> str | None:
    """Map a category label onto the taxonomy.

    Parameters
    ----------
    value : object
        A label such as ``"Military"``, ``"nuclear_power_plant"`` or ``"aerodrome"``.

    Returns
    -------
    str or None
        One of :data:`CATEGORIES`, or None when the label is not recognised.

    Examples
    --------
    >>> normalise_category(" Aerodrome "), normalise_category("NUCLEAR"), normalise_category("zoo")
    ('airport', 'nuclear', None)
    """
    if not isinstance(value, str):
        return None
    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    key = _ALIASES.get(key, key)
    return key if key in CATEGORIES else None
