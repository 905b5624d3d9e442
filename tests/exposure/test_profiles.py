"""Drone profiles: what the inventory says, the defaults where it is silent, replacement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from exposure.errors import ExposureError
from exposure.profiles import flight_profiles, replace_profiles
from exposure.scenario import default_scenario


def test_profiles_fill_what_the_inventory_does_not_say():
    flights = pd.DataFrame(
        {
            "flight_id": ["a", "b", "c", "d"],
            "drone_id": ["SN1", "SN1", None, "SN9"],
            "vendor": ["DJI", "DJI", "Skydio", "Acme"],
            "model": ["Mavic 3", "Mavic 3", "X2", None],
            "vendor_country": ["CN", "CN", None, None],
            "agency": ["Police", "Police", None, None],
            "data_settings": ["local_data=on", None, None, None],
            "replacement_cost": [2500.0, 2500.0, np.nan, np.nan],
            "start": ["2025-01-01T00:00:00Z", None, "2024-01-01T10:00:00Z", None],
        }
    )
    before = flights.copy()
    p = flight_profiles(flights, default_scenario())
    pd.testing.assert_frame_equal(flights, before)
    assert p["drone_key"].tolist() == ["SN1", "SN1", "flight:c", "SN9"]
    assert p["in_inventory"].tolist() == [True, True, False, False]
    # In the inventory: what it says, unknown where silent. Missing: the default profile.
    assert p["local_data"].tolist() == ["on", "unknown", "off", "off"]
    assert p["no_login"].tolist() == ["unknown", "unknown", "off", "off"]
    assert p["vendor_country"].tolist() == ["CN", "CN", "US", "unknown"]
    assert p["app"].tolist() == ["DJI Fly", "DJI Fly", "Skydio Enterprise", "unknown"]
    assert p["replacement_cost"].tolist() == [2500.0, 2500.0, 15000.0, 3000.0]
    assert p["agency"].tolist() == ["Police", "Police", "unknown", "unknown"]
    assert p["start"].isna().tolist() == [False, True, False, True]


def test_profile_problems_are_listed_together():
    flights = pd.DataFrame({"flight_id": ["a", "b"], "drone_id": ["1", "2"],
                            "data_settings": ["warp=on", None],
                            "replacement_cost": [100.0, -5.0]})
    with pytest.raises(ExposureError) as err:
        flight_profiles(flights, default_scenario())
    text = str(err.value)
    assert "['a']: data_settings 'warp=on'" in text
    assert "['b']: replacement_cost [-5.0]: expected a positive number" in text


def test_replacement_keeps_identity_and_changes_behaviour():
    flights = pd.DataFrame({"flight_id": ["a", "b"], "drone_id": ["1", "2"],
                            "vendor": ["DJI", "Parrot"], "agency": ["X", "Y"]})
    p = flight_profiles(flights, default_scenario())
    before = p.copy()
    q = replace_profiles(p, [True, False], default_scenario(), overrides={"vendor_country": "US"})
    pd.testing.assert_frame_equal(p, before)
    assert q.loc[0, ["drone_key", "agency", "vendor", "vendor_country", "local_data",
                     "no_login"]].tolist() == ["1", "X", "China-free replacement", "US", "on",
                                               "off"]
    assert q.loc[1].equals(p.loc[1])
