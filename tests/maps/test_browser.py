"""The saved map in a real browser: it draws, it is interactive, and it asks nothing of the network.

Drives Debian's chromium through Playwright; CI installs the browser first, so a missing browser
is a failure, not a skip.
"""

from __future__ import annotations

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
    assert page.locator(".leaflet-bottom.leaflet-left .exposure-legend").count() == 2
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
