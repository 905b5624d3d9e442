"""``exposure sites``: the catalogue builder on the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exposure.cli import app
from sites import read_sites

OSM = """<osm version="0.6">
  <node id="1" lat="35.67" lon="139.74"/><node id="2" lat="35.67" lon="139.75"/>
  <node id="3" lat="35.68" lon="139.75"/>
  <way id="9"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/>
    <tag k="office" v="government"/><tag k="name" v="Ministry"/></way>
</osm>"""


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def osm_file(tmp_path: Path) -> Path:
    path = tmp_path / "gov.osm"
    path.write_text(OSM, encoding="utf-8")
    return path


def test_builds_a_merged_catalogue(tmp_path: Path, osm_file: Path, geozones_data: Path) -> None:
    overrides = tmp_path / "o.toml"
    overrides.write_text('[categories]\nmilitary = 4\n[sites]\n"osm:way/9" = 5\n')
    out = tmp_path / "out" / "catalogue.gpkg"
    result = run("sites", "bundled:japan", str(osm_file),
                 str(geozones_data / "geo-awareness-che-1.json"),
                 "--overrides", str(overrides), "--out", str(out))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "bundled:japan: bundled, 897 read, 850 kept, 0 repaired, 42 merged, 5 rejected "
        "(merged: another unit of the same plant 42; rejected: missing coordinates 5)"
    )
    assert lines[1] == f"{osm_file}: osm, 1 read, 1 kept, 0 repaired, 0 merged, 0 rejected"
    assert "Merged across sources: 0" in lines
    assert any(line.startswith("Overrides from") and "military 738" in line for line in lines)
    summary = next(line for line in lines if line.startswith("Catalogue: "))
    assert summary == (
        "Catalogue: 861 sites; by category: nuclear 24, military 738, government 4, "
        "airport 91, other 4"
    )
    assert lines[-1] == f"Wrote 861 sites to {out}"
    back = read_sites(out).set_index("site_id")
    assert len(back) == 861
    assert back.loc["osm:way/9", "sensitivity"] == 5
    assert (back.loc[back["category"] == "military", "sensitivity"] == 4).all()
    zone = back.loc["geozone:CHE:Flugplatz Reichenbach/2"]
    assert (zone["floor_m"], zone["restriction"], zone["geometry_origin"]) == (
        50.0, "PROHIBITED", "circle+2500m"
    )
    assert not list(out.parent.glob(".staging-*"))


def test_bad_input_gives_one_line_per_problem(tmp_path: Path, osm_file: Path) -> None:
    out = tmp_path / "catalogue.geojson"
    out.write_text("earlier")
    bad = tmp_path / "o.csv"
    bad.write_text("category,sensitivity\nzoo,9\n")
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    result = run("sites", str(tmp_path / "missing.gpkg"), str(osm_file), str(empty),
                 "--overrides", str(bad), "--out", str(out))
    assert result.exit_code == 2
    errors = result.stderr.splitlines()
    assert len(errors) == 3
    assert errors[0] == f"exposure: error: {tmp_path / 'missing.gpkg'}: no such file"
    assert errors[1].startswith(f"exposure: error: {empty}: no usable site")
    assert "category 'zoo' is not one of" in errors[2] and "sensitivity '9'" in errors[2]
    assert "Traceback" not in result.output
    assert out.read_text() == "earlier"


def test_unknown_output_format(tmp_path: Path) -> None:
    result = run("sites", "bundled:japan", "--out", str(tmp_path / "c.txt"))
    assert result.exit_code == 2
    assert "unknown catalogue format .txt" in result.stderr
    assert not (tmp_path / "c.txt").exists()


def test_console_script_end_to_end(tmp_path: Path, osm_file: Path) -> None:
    script = Path(sys.executable).parent / "exposure"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "exposure.cli"]
    out = tmp_path / "c.parquet"
    done = subprocess.run([*cmd, "sites", str(osm_file), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert read_sites(out)["site_id"].tolist() == ["osm:way/9"]


GEOJSON = """{"type": "FeatureCollection", "features": [{"type": "Feature",
  "properties": {"NAME": "Upper Dam", "kind": "x"},
  "geometry": {"type": "Polygon", "coordinates": [[[138.0, 36.0], [138.01, 36.0],
    [138.01, 36.01], [138.0, 36.01], [138.0, 36.0]]]}}]}"""


def test_reader_options_follow_the_source(tmp_path: Path) -> None:
    src = tmp_path / "dams.geojson"
    src.write_text(GEOJSON, encoding="utf-8")
    out = tmp_path / "c.gpkg"
    spec = f"{src}::category=dam::name_field=NAME::sensitivity=5"
    result = run("sites", spec, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith(f"{spec}: vector, 1 read, 1 kept")
    back = read_sites(out)
    assert back["name"].tolist() == ["Upper Dam"]
    assert back["category"].tolist() == ["dam"]
    assert back["sensitivity"].tolist() == [5]


def test_wrong_reader_options_are_one_line_each(tmp_path: Path, osm_file: Path) -> None:
    src = tmp_path / "dams.geojson"
    src.write_text(GEOJSON, encoding="utf-8")
    out = tmp_path / "c.gpkg"
    result = run("sites", f"{src}::colour=red", f"{osm_file}::point_radius_m=wide",
                 f"{src}::category", "--out", str(out))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, lines
    assert "option colour does not apply to a vector source" in lines[0]
    assert "option point_radius_m='wide': expected float" in lines[1]
    assert "option 'category' is not key=value" in lines[2]
    assert "Traceback" not in result.output
    assert not out.exists()
