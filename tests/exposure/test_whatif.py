"""What-if files: loading, every problem listed at once, applying without touching inputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from exposure.errors import ExposureError
from exposure.profiles import flight_profiles
from exposure.scenario import default_scenario
from exposure.whatif import Change, WhatIf, apply_what_if, load_what_if

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_what_if_files_load(tmp_path):
    zones = DATA / "sites" / "japan" / "no_fly_yellow.geojson"
    path = write(
        tmp_path,
        "w.toml",
        'name = "All measures"\ndescription = "test"\n'
        '[[changes]]\naction = "replace"\nvendor_countries = ["CN"]\n'
        'profile = { vendor_country = "US" }\n'
        '[[changes]]\naction = "mandate_local_data"\nvendors = ["Parrot"]\n'
        '[[changes]]\naction = "droneid_off"\n'
        '[[changes]]\naction = "disable_cloud_sync"\n'
        f'[[changes]]\naction = "no_fly_zones"\nzones = "{zones}"\n'
        '[[changes]]\naction = "set_channel"\nchannel = "media_upload"\np = 0.5\n'
        '[[changes]]\naction = "set_access"\np = 0.1\n',
    )
    w = load_what_if(path)
    assert w.name == "All measures" and len(w.changes) == 7
    assert w.zone_files == (zones,)
    assert w.changes[0].profile == {"vendor_country": "US"}
    assert len(w.sha256) == 64


def test_what_if_problems_are_listed(tmp_path):
    path = write(
        tmp_path,
        "w.toml",
        '[[changes]]\naction = "replace"\nchannel = "droneid"\n'
        '[[changes]]\naction = "set_channel"\nchannel = "smoke"\np = 2\n'
        '[[changes]]\naction = "no_fly_zones"\nzones = "nowhere.geojson"\n'
        '[[changes]]\naction = "teleport"\n',
    )
    with pytest.raises(ExposureError) as err:
        load_what_if(path)
    text = str(err.value)
    assert "unknown key 'changes[0].channel'" in text
    assert "changes[1].channel = 'smoke'" in text
    assert "changes[1].p = 2" in text
    assert "changes[2].zones = 'nowhere.geojson': expected an existing zone file" in text
    assert "changes[3].action = 'teleport'" in text
    empty = write(tmp_path, "e.toml", 'name = "nothing"\n')
    with pytest.raises(ExposureError, match=r"changes = None: expected at least one"):
        load_what_if(empty)


def test_applying_a_what_if():
    s = default_scenario()
    flights = pd.DataFrame({"flight_id": ["a", "b", "c"], "drone_id": ["1", "2", "3"],
                            "vendor": ["DJI", "Parrot", "Autel"]})
    p = flight_profiles(flights, s)
    w = WhatIf("w", (Change("replace", vendor_countries=("CN",)),
                     Change("mandate_local_data", vendors=("parrot",)),
                     Change("disable_cloud_sync"), Change("set_access", p=0.2),
                     Change("set_channel", channel="covert_exfiltration", p=0.01)))
    s2, p2 = apply_what_if(s, p, w)
    assert p2["vendor"].tolist() == ["China-free replacement", "Parrot",
                                     "China-free replacement"]
    assert p2["local_data"].tolist() == ["on", "on", "on"]
    assert s2.channel("flight_record_sync").p == 0.0 and not s2.channel("flight_record_sync").rules
    assert s2.access_p == 0.2 and s2.channel("covert_exfiltration").p == 0.01
    # Inputs untouched.
    assert s.channel("flight_record_sync").p == 0.3 and p["vendor"].tolist()[0] == "DJI"
