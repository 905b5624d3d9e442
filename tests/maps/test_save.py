"""save_html writes one file, atomically, and nothing else."""

from __future__ import annotations

import os
import stat

import folium
import pytest

import maps


@pytest.fixture
def m(site_exposure, flights):
    return maps.risk_map(site_exposure, flights=flights, title="UNCLASSIFIED // demo data")


def test_writes_exactly_one_file(m, tmp_path):
    out = maps.save_html(m, tmp_path / "map.html")
    assert out == tmp_path / "map.html"
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]
    assert out.read_text("utf-8").startswith("<!DOCTYPE html>")


def test_accepts_a_string_path_and_replaces_an_existing_file(m, tmp_path):
    target = tmp_path / "map.html"
    target.write_text("old")
    maps.save_html(m, str(target))
    assert target.read_text("utf-8") != "old"
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]


def test_file_mode_follows_the_umask(m, tmp_path):
    old = os.umask(0o022)
    try:
        out = maps.save_html(m, tmp_path / "map.html")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_missing_directory_is_a_clear_error(m, tmp_path):
    target = tmp_path / "no" / "such" / "map.html"
    with pytest.raises(maps.MapError, match=r"directory .*no/such does not exist"):
        maps.save_html(m, target)
    assert list(tmp_path.iterdir()) == []


def test_directory_as_target_is_refused(m, tmp_path):
    with pytest.raises(maps.MapError, match="is a directory"):
        maps.save_html(m, tmp_path)


def test_a_page_that_would_go_online_is_not_written(site_exposure, tmp_path):
    m = maps.add_sites(site_exposure, m=folium.Map(tiles=None))
    with pytest.raises(maps.OfflineError):
        maps.save_html(m, tmp_path / "map.html")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary(m, tmp_path, monkeypatch):
    target = tmp_path / "map.html"
    target.write_text("old")

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        maps.save_html(m, target)
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]
