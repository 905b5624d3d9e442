"""Scenario files: shipped defaults, strict validation, data settings, imports one way."""

from __future__ import annotations

import ast
import re
from datetime import date
from importlib.resources import files
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exposure.errors import ExposureError
from exposure.scenario import (
    CHANNELS,
    SETTINGS,
    default_scenario,
    load_scenario,
    parse_data_settings,
)

SHIPPED = files("exposure").joinpath("data", "leak_scenario.toml")
PACKAGE = Path(__file__).resolve().parents[2] / "exposure"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- the shipped defaults


def test_shipped_defaults_are_the_design_table():
    s = default_scenario()
    assert [c.name for c in s.channels] == list(CHANNELS)
    assert s.access_p == 0.5 and s.access_per == "vendor"
    droneid = s.channel("droneid")
    assert (droneid.carries, droneid.via, droneid.p) == ("positions", "radio", 0.0)
    assert droneid.rules[0].vendors == ("DJI",) and droneid.rules[0].p == 1.0
    rid = s.channel("remote_id")
    assert {(r.regions, r.start, r.p) for r in rid.rules} == {
        (("JP",), date(2022, 6, 20), 1.0),
        (("US",), date(2023, 9, 16), 1.0),
    }
    assert s.channel("app_telemetry").p == 0.9
    assert s.channel("app_telemetry").off_when == ("local_data",)
    assert s.channel("geofence").p == 1.0
    sync = s.channel("flight_record_sync")
    assert sync.p == 0.3 and set(sync.off_when) == {"local_data", "no_login"}
    assert sync.rules[0].regions == ("US",) and sync.rules[0].p == 0.0
    thumbs = s.channel("thumbnails")
    assert thumbs.p == 0.3 and thumbs.requires == "flight_record_sync" and thumbs.pixels
    assert thumbs.rules[0].start == date(2024, 7, 1) and thumbs.rules[0].p == 0.0
    assert s.channel("media_upload").p == 0.02 and s.channel("media_upload").pixels
    stream = s.channel("live_streaming")
    assert stream.p == 0.01 and {r.p for r in stream.rules} == {0.2, 1.0}
    covert = s.channel("covert_exfiltration")
    assert covert.p == 0.0 and covert.off_when == ("air_gapped",)
    assert s.channel("repair_lost_media").p == 0.01
    assert s.replacement["data_settings"] == "local_data=on"
    assert s.cost_factor == 10.0
    assert s.sha256 and s.source == "shipped defaults"


def test_every_shipped_value_says_why():
    """Each assignment of a number, date rule or setting carries a one-line justification."""
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    unexplained = []
    for n, line in enumerate(lines, 1):
        code = line.split("#")[0].strip()
        if not code or code.startswith(("[", "#")) or code in ("rules = [", "]"):
            continue
        if re.search(r"\b(p|local_data|no_login|air_gapped|cost_factor|receiver_within_m"
                     r"|signal_range_m|niirs_loss|reveal_within_m|zone_radius_m|per|"
                     r"capturing_unknown|positions_weight|imagery_weight|replacement_cost)\s*=",
                     code) and "#" not in line:
            unexplained.append(f"{n}: {line}")
    assert not unexplained, unexplained


# ---------------------------------------------------------------- loading and validation


def test_a_user_file_changes_only_what_it_names(tmp_path):
    path = write(tmp_path, "s.toml", "[access]\np = 0.8\n[channels.media_upload]\np = 0.1\n")
    s = load_scenario(path)
    d = default_scenario()
    assert s.access_p == 0.8 and s.channel("media_upload").p == 0.1
    assert s.channel("media_upload").off_when == d.channel("media_upload").off_when
    assert s.channel("droneid") == d.channel("droneid")
    assert s.source == str(path) and len(s.sha256) == 64 and s.sha256 != d.sha256


def test_every_problem_is_reported_at_once_with_file_key_and_value(tmp_path):
    path = write(
        tmp_path,
        "bad.toml",
        "[access]\np = 1.5\n"
        "[channels.media_upload]\np = -0.1\ncolour = 'red'\n"
        "[channels.remote_id]\nrules = [{ regions = ['XX'], from = 'June', p = 1.0 }]\n"
        "[channels.droneid]\nrequires = 'thumbnails'\n",
    )
    with pytest.raises(ExposureError) as err:
        load_scenario(path)
    lines = str(err.value).splitlines()
    assert all(line.startswith(f"{path}: ") for line in lines)
    text = str(err.value)
    assert "access.p = 1.5: expected a number in [0, 1]" in text
    assert "channels.media_upload.p = -0.1" in text
    assert "unknown key 'channels.media_upload.colour'" in text
    assert "channels.remote_id.rules[0].regions = 'XX'" in text
    assert "channels.remote_id.rules[0].from = 'June': expected a date" in text
    assert "channels.droneid.requires = 'thumbnails'" in text
    assert len(lines) >= 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[access]\nper = 'drone'\n", "access.per = 'drone'"),
        ("[radio]\nmode = 'points'\n", "radio.receivers = []"),
        ("[[radio.receivers]]\nname = 'r'\nlon = 200\nlat = 35\nrange_m = 5\n",
         "radio.receivers[0].lon = 200"),
        ("[channels.droneid]\ncarries = 'pixels'\n", "'positions' for a radio channel"),
        ("[channels.thumbnails]\nrules = [{ from = 2024-07-01, until = 2024-01-01, p = 0 }]\n",
         "until = '2024-01-01': expected a date after from = 2024-07-01"),
        ("[settings]\nlocal_data = true\n", "settings.local_data = True"),
        ("[regions]\nXX = { boxes = [[10, 50, 0, 60]] }\n", "regions.XX.boxes"),
        ("[replacement]\ndata_settings = 'turbo=on'\n", "replacement.data_settings"),
        ("[channels.geofence]\noff_when = ['sunshine']\n", "channels.geofence.off_when"),
    ],
)
def test_invalid_values_are_named(tmp_path, text, expected):
    path = write(tmp_path, "s.toml", text)
    with pytest.raises(ExposureError, match=re.escape(expected)):
        load_scenario(path)


def test_unreadable_files_are_clear_errors(tmp_path):
    with pytest.raises(ExposureError, match="cannot read the scenario file"):
        load_scenario(tmp_path / "missing.toml")
    path = write(tmp_path, "broken.toml", "[access\np = ")
    with pytest.raises(ExposureError, match=r"broken\.toml: not a valid TOML scenario file"):
        load_scenario(path)


def test_dates_may_be_toml_dates_or_iso_strings(tmp_path):
    path = write(tmp_path, "s.toml",
                 "[channels.thumbnails]\nrules = [{ until = '2023-01-01', p = 0.0 }]\n")
    assert load_scenario(path).channel("thumbnails").rules[0].until == date(2023, 1, 1)


def test_listed_receivers(tmp_path):
    path = write(tmp_path, "s.toml", "[radio]\nmode = 'points'\n[[radio.receivers]]\n"
                 "name = 'post'\nlon = 139.7\nlat = 35.6\nrange_m = 2000\n")
    s = load_scenario(path)
    assert s.radio_mode == "points"
    assert (s.receivers[0].name, s.receivers[0].range_m) == ("post", 2000.0)


# ---------------------------------------------------------------- data settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("local_data=on", {"local_data": "on"}),
        ("Local-Data Mode: yes; login=off", {"local_data": "on", "no_login": "on"}),
        ("ldm=false, air_gapped", {"local_data": "off", "air_gapped": "on"}),
        ("no_login=unknown", {}),
        ("", {}),
    ],
)
def test_data_settings_are_parsed(text, expected):
    assert parse_data_settings(text) == {**dict.fromkeys(SETTINGS, "unknown"), **expected}


def test_unknown_data_settings_are_refused():
    with pytest.raises(ValueError, match="'turbo=on' not understood"):
        parse_data_settings("local_data=on; turbo=on")
    with pytest.raises(ValueError, match="not understood"):
        parse_data_settings("local_data=maybe")


@settings(max_examples=50, deadline=None)
@given(st.fixed_dictionaries({s: st.sampled_from(("on", "off", "unknown")) for s in SETTINGS}),
       st.sampled_from(("; ", ",", " | ")))
def test_data_settings_round_trip(states, sep):
    text = sep.join(f"{k}={v}" for k, v in states.items())
    assert parse_data_settings(text) == states


# ---------------------------------------------------------------- layering


def _exposure_imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    return {node.module for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("exposure")}


def test_imports_go_one_way():
    """Scenarios know nothing of profiles or what-ifs; profiles know nothing of what-ifs."""
    assert _exposure_imports("scenario") == {"exposure.errors"}
    assert _exposure_imports("profiles") == {"exposure.errors", "exposure.scenario"}
    assert _exposure_imports("whatif") == {"exposure.errors", "exposure.profiles",
                                           "exposure.scenario"}
