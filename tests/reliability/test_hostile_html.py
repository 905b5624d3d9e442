"""Names and serials that are HTML or script go through assess and report and run nothing.

A log file named like an HTML tag, a fleet file whose serials, models, vendors and operators
are ``<script>``, ``" onmouseover=`` and ``javascript:`` payloads, and a site file whose names
and ids are the same, are assessed (``exposure assess``) and briefed (``exposure report``);
the map and the briefing are opened in Debian's chromium with every request recorded and
everything but the page itself blocked. The tooltips that show those strings are hovered. No
payload may set ``window.__xss``, open a dialog, leave an attribute handler or a ``javascript:``
link in the page, or make a request.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flightlogs.writers import write_airdata_csv

CHROMIUM = Path("/usr/bin/chromium")
PATHS = ".leaflet-overlay-pane path.leaflet-interactive"

SITE_NAME = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
SITE_ID = '" onmouseover="window.__xss=3" x="'
JS_NAME = "javascript:window.__xss=4"
LOG_STEM = "flight <img src=x onerror=window.__xss=5>"
SERIAL = '" onmouseover="window.__xss=6" x="'
MODEL = "<svg onload=window.__xss=7>"
VENDOR = "javascript:window.__xss=8"
OPERATOR = "<script>window.__xss=9</script>"
# In every string: the page must show it as text.
PAYLOADS = (SITE_NAME, JS_NAME, SERIAL, MODEL, VENDOR, OPERATOR)

pytestmark = pytest.mark.browser


def _square(lon: float, lat: float, d: float) -> list[list[list[float]]]:
    return [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]


def _track(lon0: float, lat0: float, n: int = 120) -> pd.DataFrame:
    t = pd.Timestamp("2024-05-01T09:00:00Z") + pd.to_timedelta(np.arange(n), unit="s")
    return pd.DataFrame(
        {
            "time": t,
            "lon": lon0 + np.arange(n) * 4e-5,
            "lat": np.full(n, lat0),
            "height_agl_m": np.full(n, 80.0),
            "alt_msl_m": np.full(n, 120.0),
            "yaw_deg": np.full(n, 90.0),
            "gimbal_pitch_deg": np.full(n, -45.0),
            "gimbal_yaw_deg": np.full(n, 90.0),
            "capturing": np.ones(n, dtype=bool),
        }
    )


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, run_cli):
    work = tmp_path_factory.mktemp("hostile")
    (work / "tmpdir").mkdir()
    logs = work / "logs"
    write_airdata_csv(_track(139.700, 35.6005), logs / f"{LOG_STEM}.csv")
    write_airdata_csv(_track(139.702, 35.6012), logs / "javascript:window.__xss=10.csv")
    fleet = pd.DataFrame(
        {
            "flight_id": [LOG_STEM, "javascript:window.__xss=10"],
            "drone_id": [SERIAL, "<b>SN2</b>"],
            "model": [MODEL, "Mavic 3"],
            "vendor": [VENDOR, "DJI"],
            "operator": [OPERATOR, OPERATOR],
        }
    )
    fleet.to_csv(work / "fleet.csv", index=False)
    features = [
        {"type": "Feature", "properties": {"id": SITE_ID, "name": SITE_NAME,
                                           "category": "military"},
         "geometry": {"type": "Polygon", "coordinates": _square(139.701, 35.600, 0.002)}},
        {"type": "Feature", "properties": {"id": "b", "name": JS_NAME, "category": "nuclear"},
         "geometry": {"type": "Polygon", "coordinates": _square(139.703, 35.601, 0.002)}},
    ]
    (work / "sites.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )
    out = work / "result"
    assess = run_cli(
        ["assess", "--logs", str(logs), "--sites", str(work / "sites.geojson"), "--fleet",
         str(work / "fleet.csv"), "--out", str(out), "--title", OPERATOR],
        cwd=work,
        timeout=600,
    )
    assert assess.returncode == 0, assess.stderr
    report = run_cli(["report", str(out), "--title", OPERATOR], cwd=work, timeout=600)
    assert report.returncode == 0, report.stderr
    return out


@pytest.fixture
def page():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: the browser tests need Debian's chromium")
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


def _open(page, url: str) -> tuple[list[str], list[str], list[str]]:
    """Open ``url`` offline; every request, page error and dialog is recorded."""
    requests: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []

    def route(r):
        requests.append(r.request.url)
        if r.request.url == url:
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.on("request", lambda r: requests.append(r.url) if r.url not in requests else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    return requests, errors, dialogs


NO_HANDLERS = """(root) => {
    const all = [...root.querySelectorAll('*')];
    const handlers = all.filter(el => [...el.attributes].some(a => a.name.startsWith('on')));
    const js = all.filter(el => ['href', 'src', 'action', 'formaction'].some(
        n => (el.getAttribute(n) || '').trim().toLowerCase().startsWith('javascript:')));
    const show = el => el.outerHTML.slice(0, 120);
    return [handlers.map(show), js.map(show)];
}"""


def _hover_everything(target) -> str:
    """Hover each drawn shape; return the text of every tooltip that opened."""
    texts = []
    shapes = target.locator(PATHS)
    for k in range(shapes.count()):
        box = shapes.nth(k).bounding_box()
        if box is None or box["width"] * box["height"] == 0:
            continue
        shapes.nth(k).hover(force=True)
        tip = target.locator(".leaflet-tooltip")
        if tip.count():
            texts.append(tip.last.inner_text())
    return "\n".join(texts)


def _no_script_ran(page, target, requests, errors, dialogs, url) -> None:
    handlers, js_links = target.locator("html").evaluate(NO_HANDLERS)
    assert handlers == [], handlers
    assert js_links == [], js_links
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == []
    assert errors == []
    assert all(r == url or r.startswith(("about:", "data:")) for r in requests), requests


def test_map_shows_hostile_strings_as_text(hostile_run, page):
    url = (hostile_run / "map.html").as_uri()
    requests, errors, dialogs = _open(page, url)
    page.wait_for_selector(PATHS, state="attached")
    shown = _hover_everything(page)
    assert SITE_NAME in shown and JS_NAME in shown
    assert SERIAL in shown or VENDOR in shown
    page_text = page.locator("body").inner_text()
    assert OPERATOR in page_text  # the banner
    _no_script_ran(page, page, requests, errors, dialogs, url)


def test_briefing_shows_hostile_strings_as_text(hostile_run, page):
    url = (hostile_run / "briefing.html").as_uri()
    requests, errors, dialogs = _open(page, url)
    frame = page.frame_locator("iframe.map")
    frame.locator(PATHS).first.wait_for(state="attached")
    text = page.locator("body").inner_text()
    assert SITE_NAME in text and OPERATOR in text
    shown = _hover_everything(frame)
    assert SITE_NAME in shown
    _no_script_ran(page, page, requests, errors, dialogs, url)
    _no_script_ran(page, frame, requests, errors, dialogs, url)
    inner = page.frames[1]
    assert inner.evaluate("typeof window.__xss") == "undefined"


def test_no_payload_is_written_unescaped(hostile_run):
    for name in ("map.html", "briefing.html"):
        html = (hostile_run / name).read_text(encoding="utf-8")
        for payload in PAYLOADS:
            if any(c in payload for c in '<>"'):
                assert payload not in html, (name, payload)


def test_the_checks_catch_a_page_that_does_not_escape(tmp_path, page):
    """The same checks on a page that writes the payloads raw: each of them fires."""
    raw = tmp_path / "raw.html"
    raw.write_text(
        f"<html><body><p>{SITE_NAME}</p><a href='{JS_NAME}'>x</a>"
        f"<div title=\"{SERIAL}\">y</div></body></html>"
    )
    url = raw.as_uri()
    requests, _, _ = _open(page, url)
    page.wait_for_function("window.__xss !== undefined")
    handlers, js_links = page.locator("html").evaluate(NO_HANDLERS)
    assert handlers and js_links
    assert page.evaluate("window.__xss") in (1, 2)
    assert any(r.endswith("/x") for r in requests)  # the broken image asked for a file
