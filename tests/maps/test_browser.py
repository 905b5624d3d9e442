"""The saved map in a real browser: it draws, it is interactive, and it asks nothing of the network.

Drives Debian's chromium through Playwright; CI installs the browser first, so a missing browser
is a failure, not a skip.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import maps

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
XSS_NAME = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
PATHS = ".leaflet-overlay-pane path.leaflet-interactive"
# Screen position of the point halfway along an SVG path.
MIDPOINT = """(path) => {
    const p = path.getPointAtLength(path.getTotalLength() / 2);
    const m = path.getScreenCTM();
    return [p.x * m.a + p.y * m.c + m.e, p.x * m.b + p.y * m.d + m.f];
}"""

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's chromium "
            "(apt-get install chromium); they never download a browser"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 800})
        finally:
            browser.close()


def test_map_in_browser(browser_page, site_exposure, flights, provenance, tmp_path):
    m = maps.risk_map(
        site_exposure, flights=flights, title="UNCLASSIFIED // demo data", provenance=provenance
    )
    html_file = maps.save_html(m, tmp_path / "map.html")
    url = html_file.as_uri()
    page = browser_page
    requests: list[str] = []
    errors: list[str] = []

    def route(r):
        requests.append(r.request.url)
        if r.request.url == url:
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_selector(PATHS)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "maps-risk-map.png"))

    assert page.locator(PATHS).count() == 5  # 3 sites + 2 tracks
    assert page.locator(".exposure-banner").count() == 2
    assert page.get_by_text("offline: no network requests").is_visible()
    assert page.get_by_text("Sites: risk score").is_visible()
    # The panels were moved into the map's corners.
    assert page.locator(".leaflet-bottom.leaflet-left .exposure-legend").count() == 1
    assert page.locator(".leaflet-bottom.leaflet-right .exposure-legend").count() == 1
    assert page.locator(".leaflet-bottom.leaflet-right .exposure-status").count() == 1
    assert page.get_by_text("sites/<b>catalogue</b>.geojson").is_visible()

    # Hover the site with the hostile name: its name shows as text and runs nothing.
    box = page.locator(PATHS).nth(1).bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5)
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    assert XSS_NAME in tooltip.inner_text()
    page.screenshot(path=str(ARTIFACTS / "maps-risk-map-tooltip.png"))

    # Hover the middle of the track whose drone id tries to add an attribute.
    page.mouse.move(640, 60)
    x, y = page.locator(PATHS).nth(4).evaluate(MIDPOINT)
    page.mouse.move(x, y)
    track_tip = page.locator(".leaflet-tooltip", has_text="skydio-0002")
    track_tip.wait_for()
    assert '" onmouseover="window.__xss=3' in track_tip.inner_text()

    # The layer control hides the tracks, then brings them back.
    page.get_by_label("Flight tracks").uncheck()
    assert page.locator(PATHS).count() == 3
    page.get_by_label("Flight tracks").check()
    assert page.locator(PATHS).count() == 5

    assert page.evaluate("typeof window.__xss") == "undefined"
    assert errors == []
    assert requests == [url]


EXPECTED_PATHS = {
    "Radio receivers": 2,
    "No-fly zones": 2,
    "Sites": 3,
    "Coverage (best NIIRS)": 2,
    "Footprints": 2,
    "Flight tracks": 2,
    "Passes": 2,
    "Zone violations": 1,
}


def open_offline(page, url: str) -> tuple[list[str], list[str]]:
    """Open ``url`` with every other request blocked; return (requests, errors) as they grow."""
    requests: list[str] = []
    errors: list[str] = []

    def route(r):
        requests.append(r.request.url)
        if r.request.url == url:
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    return requests, errors


def set_slider(page, role: str, value: int | str) -> None:
    page.locator(f'[data-role="{role}"]').evaluate(
        "(el, v) => { el.value = String(v === 'max' ? el.max : v);"
        " el.dispatchEvent(new Event('input')); }",
        value,
    )


def test_full_map_layers_time_window_and_draw_tool(
    browser_page, site_exposure, flights, provenance, layers, tmp_path
):
    m = maps.risk_map(site_exposure, flights=flights, title="UNCLASSIFIED // test",
                      provenance=provenance, **layers)  # fmt: skip
    url = maps.save_html(m, tmp_path / "full.html").as_uri()
    page = browser_page
    requests, errors = open_offline(page, url)
    page.wait_for_selector(PATHS)
    total = sum(EXPECTED_PATHS.values())
    assert page.locator(PATHS).count() == total - EXPECTED_PATHS["Footprints"]  # hidden at first

    # Each layer's paths, counted by switching it in the layer control.
    page.get_by_label("Footprints").check()
    assert page.locator(PATHS).count() == total
    for name, n in EXPECTED_PATHS.items():
        page.get_by_label(name, exact=True).uncheck()
        assert page.locator(PATHS).count() == total - n, name
        page.get_by_label(name, exact=True).check()
        assert page.locator(PATHS).count() == total, name
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "maps-full-map.png"))

    # The time window: only the first instant leaves the first flight (trimmed to a point) and
    # the untimed layers; passes, footprints, the violation and the second flight disappear.
    status = page.locator(".exposure-time-status")
    assert status.inner_text() == (
        "2 of 2 footprints · 2 of 2 flights · 2 of 2 passes · 1 of 1 violations"
    )
    set_slider(page, "until", 0)
    timed = sum(EXPECTED_PATHS[k] for k in ("Footprints", "Flight tracks", "Passes",
                                            "Zone violations"))  # fmt: skip
    assert page.locator(PATHS).count() == total - timed + 1
    assert status.inner_text().startswith("0 of 2 footprints · 1 of 2 flights · 0 of 2 passes")
    assert "2024-05-01 09:10 UTC" in page.locator('[data-role="until-label"]').inner_text()
    # Widening the window step by step brings the paths back, never more than all of them.
    seen = []
    top = int(page.locator('[data-role="until"]').get_attribute("max"))
    for step in range(top + 1):
        set_slider(page, "until", step)
        seen.append(page.locator(PATHS).count())
    assert seen == sorted(seen) and seen[-1] == total
    # The first flight, trimmed to its first 7 minutes, is shorter than the whole track.
    page.locator('[data-role="reset"]').click()
    full_len = page.evaluate(_TRACK_LENGTH)
    set_slider(page, "until", _stop_index(page, "2024-05-01 09:17"))
    assert 0 < page.evaluate(_TRACK_LENGTH) < full_len
    page.screenshot(path=str(ARTIFACTS / "maps-time-window.png"))
    page.locator('[data-role="reset"]').click()
    assert page.locator(PATHS).count() == total

    # Draw a triangle and export it.
    page.get_by_text("Draw zones").click()
    page.get_by_role("button", name="New zone").click()
    for x, y in ((600, 400), (720, 420), (660, 520)):
        page.mouse.click(x, y)
    page.get_by_role("button", name="Finish").click()
    assert page.locator(PATHS).count() == total + 1
    exported = json.loads(page.locator('[data-role="geojson"]').input_value())
    zone = exported["features"][0]
    assert zone["geometry"]["type"] == "Polygon" and len(zone["geometry"]["coordinates"][0]) == 4
    assert zone["properties"] == {
        "name": "drawn zone 1", "restriction": "PROHIBITED", "floor_m": 0, "ceiling_m": 150,
        "vertical_ref": "AGL", "source": "drawn on map",
    }  # fmt: skip
    with page.expect_download() as info:
        page.get_by_role("button", name="Download proposed_zones.geojson").click()
    saved = tmp_path / "zones.geojson"
    info.value.save_as(saved)
    assert json.loads(saved.read_text())["features"][0]["properties"]["name"] == "drawn zone 1"
    page.screenshot(path=str(ARTIFACTS / "maps-draw-zone.png"))

    assert page.evaluate("typeof window.__xss") == "undefined"
    assert errors == []
    assert all(r == url or r.startswith("data:") for r in requests), requests


_TRACK_LENGTH = """() => {
    const tracks = window.exposureTimeLayers.find((e) => e.kind === 'flights');
    const line = tracks.layer.getLayers().find((l) => l.feature.id === '0');
    const pts = line.getLatLngs();
    let d = 0;
    for (let i = 1; i < pts.length; i++) { d += pts[i - 1].distanceTo(pts[i]); }
    return d;
}"""


def _stop_index(page, prefix: str) -> int:
    top = int(page.locator('[data-role="until"]').get_attribute("max"))
    for i in range(top + 1):
        set_slider(page, "until", i)
        if prefix in page.locator('[data-role="until-label"]').inner_text():
            return i
    raise AssertionError(f"no slider stop at {prefix}")


@pytest.fixture(scope="module")
def demo_outputs(tmp_path_factory) -> Path:
    """The demo's result directory with its briefing, made by the console script."""
    out = tmp_path_factory.mktemp("demo") / "out"
    script = Path(sys.executable).parent / "exposure"
    for args in (["demo", "--out", str(out)],
                 ["report", str(out), "--out", str(out / "briefing.html")]):  # fmt: skip
        done = subprocess.run([str(script), *args], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
    return out


def test_demo_map_in_browser(browser_page, demo_outputs):
    url = (demo_outputs / "map.html").as_uri()
    page = browser_page
    requests, errors = open_offline(page, url)
    # The first path may be a site too small to see at this zoom: wait for it to exist.
    page.wait_for_selector(PATHS, state="attached")
    before = page.locator(PATHS).count()
    assert before > 850  # every site, the coverage, the tracks and the passes
    page.get_by_label("Passes").uncheck()
    without = page.locator(PATHS).count()
    page.get_by_label("Passes").check()
    status = page.locator(".exposure-time-status").inner_text()
    assert f"{before - without} of {before - without} passes" in status
    set_slider(page, "until", 0)
    assert page.locator(PATHS).count() < before
    page.locator('[data-role="reset"]').click()
    assert page.locator(PATHS).count() == before
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "maps-demo-map.png"))
    assert errors == [] and requests == [url]


def test_demo_briefing_in_browser(browser_page, demo_outputs):
    url = (demo_outputs / "briefing.html").as_uri()
    page = browser_page
    requests, errors = open_offline(page, url)
    frame = page.frame_locator("iframe.map")
    frame.locator(PATHS).first.wait_for(state="attached")
    assert frame.locator(PATHS).count() > 850
    assert page.locator("svg.exposure-chart").count() >= 2
    assert page.locator("table tbody tr").count() == 15
    assert page.get_by_text("offline: this file makes no network request").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "maps-briefing.png"), full_page=True)
    assert errors == []
    assert all(r == url or r.startswith(("about:", "data:")) for r in requests), requests


def test_briefing_with_hostile_names_runs_nothing(
    browser_page, site_exposure, flights, layers, tmp_path
):
    m = maps.risk_map(site_exposure, flights=flights, **layers)
    page_html = maps.briefing_html(
        site_exposure, map_page=maps.render_html(m), manifest={"assumptions": [XSS_NAME]},
        passes=layers["passes"], flights=flights, site_leaks=layers["site_leaks"],
        banner=XSS_NAME,
    )  # fmt: skip
    url = maps.save_briefing(page_html, tmp_path / "b.html").as_uri()
    page = browser_page
    requests, errors = open_offline(page, url)
    frame = page.frame_locator("iframe.map")
    frame.locator(PATHS).first.wait_for()
    assert page.locator(".banner").first.inner_text() == XSS_NAME
    assert page.locator("table").get_by_text(XSS_NAME).count() == 1
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert errors == [] and all(r == url or r.startswith("about:") for r in requests)
