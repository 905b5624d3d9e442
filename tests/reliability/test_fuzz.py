"""Random damage to valid files: every text reader reads it or raises its own error class.

Each test takes a valid file from the corpus (``tests/data/bad/``), applies a few random
mutations drawn by hypothesis (bit flips, cuts, inserted junk, deleted or repeated spans) and
reads the result with the reader forced, so that the reader itself, not only format detection,
meets the damage. Anything but a result or the package's own error (``FlightLogError``,
``SiteDataError``) fails, warnings included (pytest turns them into errors). Examples are
bounded and derandomized so that the suite stays fast and repeatable (``FUZZ_EXAMPLES=N`` runs
N random examples per test instead); ``benchmarks/fuzz_readers.py`` runs the binary readers
for longer.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flightlogs
import sites

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"

#: ``FUZZ_EXAMPLES=2000 pytest tests/reliability/test_fuzz.py`` runs a longer, random search.
_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0")) or None
FUZZ = settings(
    max_examples=_EXAMPLES or 40,
    deadline=None,
    derandomize=_EXAMPLES is None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

JUNK = st.one_of(
    st.binary(min_size=1, max_size=24),
    st.sampled_from(
        [b"\x00", b"\xff\xfe", b"NaN", b"-inf", b"1e999", b"999", b",", b";", b"\n", b"\r\n",
         b'"', b"<", b">", b"]]>", b"&amp;", b"&x;", b"<!DOCTYPE x>", b"{", b"}", b"[", b"]",
         b"-->", b"00:00:01,000 --> 00:00:00,000", b"\xef\xbb\xbf", b"9" * 400]
    ),
)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` after one to four random mutations."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete", "repeat", "replace"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(JUNK)
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "repeat":
            span = bytes(data[at : at + draw(st.integers(1, 200))])
            data[at:at] = span * draw(st.integers(1, 3))
        elif kind == "replace" and data:
            piece = draw(JUNK)
            data[at : at + len(piece)] = piece
    return bytes(data)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["Circle", "Polygon", "M", "FT", "AGL", "SENSITIVE", "node", "way"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=8,
)


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*here, key))
    elif isinstance(node, list):
        for k, value in enumerate(node):
            out += _paths(value, (*here, k))
    return out


@st.composite
def reshaped(draw: st.DrawFn, seed: bytes) -> bytes:
    """A JSON ``seed`` with one to three values replaced by random JSON, or keys removed.

    Byte damage mostly makes JSON unparseable; this keeps it parseable and wrong in shape and
    content, which is what reaches a reader's logic.
    """
    doc = json.loads(seed)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            doc = draw(JSON_VALUES)
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON_VALUES)
    return json.dumps(doc).encode()


def _read_as(data: bytes, suffix: str, reader: Callable[[Path], Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            reader(path)
        except (flightlogs.FlightLogError, sites.SiteDataError):
            pass


def _log_reader(fmt: str) -> Callable[[Path], Any]:
    def read(path: Path) -> Any:
        # Both entry points: the forced reader, and detection (which may pick another one).
        try:
            flightlogs.read_flight_log(path, format=fmt)
        finally:
            flightlogs.read_flight_log(path)

    return read


LOG_SEEDS = {
    "dji_srt": "logs/srt/srt-baseline.srt",
    "airdata_csv": "logs/airdata/airdata-baseline.csv",
    "flightreader_csv": "logs/flightreader/fr-baseline.csv",
    "litchi_csv": "logs/litchi/litchi-baseline.csv",
    "gpx": "logs/gpx/gpx-baseline.gpx",
    "kml": "logs/kml/kml-baseline.kml",
    "remoteid_csv": "logs/remoteid/rid-baseline.csv",
    "photo_json": "logs/photos/photo-baseline.json",
}

SITE_SEEDS = {
    "ed269": ("sites/geozones/ed269-baseline.json", sites.read_geozones),
    "ed269_circle": ("sites/geozones/ed269-circle.json", sites.read_geozones),
    "ed318": ("sites/geozones/ed318-baseline.json", sites.read_geozones),
    "osm_xml": ("sites/osm/osm-missing-node.osm", sites.read_osm),
    "osm_json": ("sites/osm/overpass-baseline.json", sites.read_osm),
    "geojson": ("sites/vector/vec-mixed-types.geojson", sites.read_sites),
    "point_catalog": ("sites/catalogs/airports-baseline.csv", sites.read_point_catalog),
    "runways": ("sites/catalogs/runways-baseline.csv", sites.read_runways),
}


def _log_test(fmt: str) -> Callable[..., None]:
    seed = (BAD / LOG_SEEDS[fmt]).read_bytes()
    suffix = Path(LOG_SEEDS[fmt]).suffix

    @FUZZ
    @given(data=mutated(seed))
    def test(data: bytes) -> None:
        _read_as(data, suffix, _log_reader(fmt))

    return test


def _site_test(name: str) -> Callable[..., None]:
    file, reader = SITE_SEEDS[name]
    seed = (BAD / file).read_bytes()

    @FUZZ
    @given(data=mutated(seed))
    def test(data: bytes) -> None:
        _read_as(data, Path(file).suffix, reader)
        _read_as(data, Path(file).suffix, sites.read_any)

    return test


def _reshaped_test(file: str, reader: Callable[[Path], Any]) -> Callable[..., None]:
    seed = (BAD / file).read_bytes()

    @FUZZ
    @given(data=reshaped(seed))
    def test(data: bytes) -> None:
        _read_as(data, Path(file).suffix, reader)

    return test


test_fuzz_srt = _log_test("dji_srt")
test_fuzz_airdata_csv = _log_test("airdata_csv")
test_fuzz_flightreader_csv = _log_test("flightreader_csv")
test_fuzz_litchi_csv = _log_test("litchi_csv")
test_fuzz_gpx = _log_test("gpx")
test_fuzz_kml = _log_test("kml")
test_fuzz_remoteid_csv = _log_test("remoteid_csv")
test_fuzz_photo_json = _log_test("photo_json")
test_fuzz_ed269 = _site_test("ed269")
test_fuzz_ed269_circle = _site_test("ed269_circle")
test_fuzz_ed318 = _site_test("ed318")
test_fuzz_osm_xml = _site_test("osm_xml")
test_fuzz_osm_json = _site_test("osm_json")
test_fuzz_geojson = _site_test("geojson")
test_fuzz_point_catalog = _site_test("point_catalog")
test_fuzz_runways = _site_test("runways")


def test_mutations_change_the_seed():
    """The strategy really damages files (a fuzz test of unchanged files proves nothing)."""
    seed = (BAD / LOG_SEEDS["gpx"]).read_bytes()
    seen: list[bytes] = []

    @settings(max_examples=30, derandomize=True, database=None, deadline=None)
    @given(data=mutated(seed))
    def collect(data: bytes) -> None:
        seen.append(data)

    collect()
    changed = [d for d in seen if d != seed]
    assert len(changed) >= 25
    assert len({len(d) for d in changed}) > 5


@pytest.mark.parametrize("fmt", sorted(LOG_SEEDS))
def test_seeds_are_valid(fmt):
    """Each seed reads cleanly, so that the damage is what the fuzz tests exercise."""
    _, flights = flightlogs.read_flight_log(BAD / LOG_SEEDS[fmt], format=fmt)
    assert int(flights["n_samples"].sum()) > 0


test_reshape_ed269 = _reshaped_test("sites/geozones/ed269-baseline.json", sites.read_geozones)
test_reshape_ed269_circle = _reshaped_test(
    "sites/geozones/ed269-circle.json", sites.read_geozones
)
test_reshape_ed318 = _reshaped_test("sites/geozones/ed318-baseline.json", sites.read_geozones)
test_reshape_overpass = _reshaped_test("sites/osm/overpass-baseline.json", sites.read_osm)
test_reshape_geojson = _reshaped_test("sites/vector/vec-mixed-types.geojson", sites.read_any)
test_reshape_photo_json = _reshaped_test(
    "logs/photos/photo-baseline.json", _log_reader("photo_json")
)
