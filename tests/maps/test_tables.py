"""Colour classes, display text and the column contracts the layers rely on."""

from __future__ import annotations

import math

import numpy as np
import pytest

import maps
from maps.style import risk_classes, risk_labels, vendor_colours
from maps.tables import SITE_COLUMNS, TRACK_COLUMNS, checked, site_display, track_display
from maps.text import text


def test_risk_classes_include_their_lower_break():
    scores = [0.0, 19.9, 20.0, 30.0, 40.0, 79.9, 80.0, 500.0, math.nan, None]
    assert risk_classes(scores).tolist() == [0, 0, 1, 1, 2, 3, 4, 4, -1, -1]
    assert risk_classes([0.5, 0.6], bins=(0.1, 0.2, 0.55, 0.9)).tolist() == [2, 3]
    assert len(risk_labels()) == len(maps.RISK_COLOURS) == len(maps.RISK_BINS) + 1


@pytest.mark.parametrize("bins", [(1, 2, 3), (1, 2, 2, 3), (1, 2, 3, math.inf), (4, 3, 2, 1)])
def test_bad_bins_are_refused(bins):
    with pytest.raises(maps.MapError, match="bins"):
        risk_classes([1.0], bins=bins)


def test_vendor_colours_are_stable_and_distinct():
    a = vendor_colours(["Skydio", "DJI", "Autel", None, " "])
    b = vendor_colours(["Autel", "DJI", "Skydio", "unknown"])
    assert a == b
    assert list(a) == ["Autel", "DJI", "Skydio", "unknown"]
    assert len(set(a.values())) == 4


def test_text_escapes_markup_quotes_and_url_schemes():
    assert text("<b>&'\"") == "&lt;b&gt;&amp;&#x27;&quot;"
    assert "://" not in text("javascript://x http://a https://b")
    assert text("@import url(x)") == "&#64;import url&#40;x)"
    assert text(None) == text(math.nan) == text(np.float64("nan")) == "—"


def test_a_site_no_flight_came_near_is_drawn_as_unexposed(site_exposure):
    # The engine scores an unvisited site 0; the map must not paint it as "low risk".
    frame = site_exposure.copy()
    frame.loc[2, "risk_score"] = 0.0
    d = site_display(checked(frame, SITE_COLUMNS, what="s"))
    assert sorted(d["risk_class"]) == [-1, 2, 4]


def test_site_display_is_escaped_text_in_risk_order(site_exposure):
    d = site_display(checked(site_exposure, SITE_COLUMNS, what="s"))
    assert list(d["risk_class"]) == [-1, 2, 4]  # nobody came near first, riskiest drawn last
    top = d.iloc[2]
    assert top["site"] == "Yokosuka naval base (jp-mil-001)"
    assert top["in_view"] == "6 min 52 s"
    assert top["closest"] == "180 m"
    assert top["niirs"] == "8.5: readable markings (GSD 0.05 m)"
    assert top["coverage"] == "62 % (48 % at NIIRS ≥ 5)"
    assert top["risk"] == "92.0 (class 80 or more)"
    assert top["visits"] == "3 flights, 2 drones"
    assert "2024-05-01T09:12:00Z" in top["seen"] and "2024-05-03T16:40:30Z" in top["seen"]
    none = d.iloc[0]
    assert none["risk"] == "none (no flight came near)"
    assert none["in_view"] == none["niirs"] == none["seen"] == "—"
    assert none["visits"] == "0 flights, 0 drones"
    assert "<script>" not in d.iloc[1]["site"] and "&lt;script&gt;" in d.iloc[1]["site"]


def test_track_display_escapes_ids(flights):
    d = track_display(checked(flights, TRACK_COLUMNS, what="f"))
    assert d.loc[1, "drone"] == "&quot; onmouseover=&quot;window.__xss=3"
    assert d.loc[0, "samples"] == "1260"
    assert list(d["vendor_key"]) == ["DJI", "Skydio"]


def test_columns_match_the_published_table_contracts():
    # The layers read only columns that the result and flight tables promise.
    from exposure.results import SITE_EXPOSURE_COLUMNS
    from flightlogs.schema import FLIGHT_COLUMNS

    assert set(SITE_COLUMNS) <= set(SITE_EXPOSURE_COLUMNS)
    assert set(TRACK_COLUMNS) <= set(FLIGHT_COLUMNS)
