"""Write the corpus of hostile and broken inputs in ``tests/data/bad/`` and its manifest.

Every case is a small file that one reader must either read (possibly rejecting rows or
repairing geometry, by a documented reason) or refuse with a clear message. The expected
outcome of each case is recorded in ``tests/data/bad/cases.json``::

    {"file": "logs/airdata/airdata-lat-999.csv", "reader": "logs", "expect": "repaired",
     "samples": 9, "rejected": {"coordinates_out_of_range": 1}, "why": "..."}

``reader`` is ``logs`` (read by ``exposure ingest`` / :func:`flightlogs.read_flight_log`),
``sites`` (``exposure sites`` / :func:`sites.read_any`) or ``overrides`` (``exposure sites
--overrides`` / :func:`sites.read_overrides`). ``expect`` is ``error`` (with ``match``, a
fragment of the one-line message), ``read`` (nothing rejected) or ``repaired`` (read, with rows
rejected by reason or geometries repaired). For logs the counts are ``flights``, ``samples``
(kept) and ``rejected`` (reason → rows); for sites ``read``, ``kept``, ``repaired`` and
``rejected`` (reason → sites).

Cases too large to commit (a million identical samples, a polygon with 100,000 vertices, a
zip with more members than accepted) are written at test time by :func:`write_large_cases`.

The output is the same on every run (fixed seeds, fixed zip dates), so regenerating the corpus
changes no committed byte unless a case changed. Run from the repository root::

    .venv/bin/python scripts/make_bad_corpus.py
"""

from __future__ import annotations

import io
import json
import random
import re
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "tests" / "data" / "bad"
ZIP_DATE = (2024, 5, 1, 0, 0, 0)

__all__ = ["OUT", "Case", "corpus_cases", "main", "write_corpus", "write_large_cases"]


@dataclass(frozen=True)
class Case:
    """One file of the corpus and what reading it must give."""

    file: str
    data: bytes
    reader: str
    expect: str
    why: str
    match: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)

    def entry(self) -> dict[str, Any]:
        """Return the case's line in ``cases.json``."""
        out: dict[str, Any] = {"file": self.file, "reader": self.reader, "expect": self.expect}
        if self.match is not None:
            out["match"] = self.match
        out.update(self.counts)
        out["why"] = self.why
        return out


def _err(file: str, data: bytes, match: str, why: str, reader: str = "logs") -> Case:
    return Case(file, data, reader, "error", why, match=match)


def _log(
    file: str,
    data: bytes,
    why: str,
    *,
    samples: int,
    flights: int = 1,
    rejected: dict[str, int] | None = None,
) -> Case:
    rejected = rejected or {}
    return Case(
        file,
        data,
        "logs",
        "repaired" if rejected else "read",
        why,
        counts={"flights": flights, "samples": samples, "rejected": rejected},
    )


def _sites(
    file: str,
    data: bytes,
    why: str,
    *,
    read: int,
    kept: int,
    repaired: int = 0,
    rejected: dict[str, int] | None = None,
    merged: int = 0,
) -> Case:
    rejected = rejected or {}
    return Case(
        file,
        data,
        "sites",
        "repaired" if rejected or repaired else "read",
        why,
        counts={
            "read": read,
            "kept": kept,
            "repaired": repaired,
            "merged": merged,
            "rejected": rejected,
        },
    )


def _junk(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _zip(entries: list[tuple[str, bytes]], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """Build a zip archive with fixed dates: its bytes do not depend on the day it is made."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buf.getvalue()


def _lie_about_size(data: bytes, member: str, size: int) -> bytes:
    """Rewrite the uncompressed size a zip declares for ``member`` (local and central headers)."""
    out = bytearray(data)
    name = member.encode()
    # Local file header: signature, then the size at offset 22; central header: offset 24.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (pos := out.find(signature, start)) >= 0:
            name_at = pos + (30 if signature == b"PK\x03\x04" else 46)
            if out[name_at : name_at + len(name)] == name:
                out[pos + offset : pos + offset + 4] = struct.pack("<I", size)
            start = pos + 4
    return bytes(out)


# ----------------------------------------------------------------------------- flight logs

T0 = "2024-05-01 09:00:"
LAT0, LON0 = 35.6812, 139.7671
N = 10


def _positions(n: int = N) -> list[tuple[float, float]]:
    # About 5.5 m north per second: well inside every speed limit of flightlogs.quality.
    return [(LAT0 + 0.00005 * i, LON0 + 0.00002 * i) for i in range(n)]


AIRDATA_COLUMNS = (
    "time(millisecond)",
    "datetime(utc)",
    "latitude",
    "longitude",
    "height_above_takeoff(feet)",
    "altitude_above_seaLevel(feet)",
    " compass_heading(degrees)",
    "gimbal_heading(degrees)",
    "gimbal_pitch(degrees)",
    "isPhoto",
    "isVideo",
)


def _airdata(rows: list[list[str]] | None = None, *, columns: tuple[str, ...] = AIRDATA_COLUMNS,
             sep: str = ",", newline: str = "\n") -> str:
    if rows is None:
        rows = _airdata_rows()
    lines = [sep.join(columns)] + [sep.join(r) for r in rows]
    return newline.join(lines) + newline


def _airdata_rows(n: int = N) -> list[list[str]]:
    out = []
    for i, (lat, lon) in enumerate(_positions(n)):
        out.append(
            [
                str(i * 1000),
                f"{T0}{i:02d}",
                f"{lat:.7f}",
                f"{lon:.7f}",
                f"{100 + i:.1f}",
                f"{230 + i:.1f}",
                "90.0",
                "90.0",
                "-45.0",
                "0",
                "1",
            ]
        )
    return out


def _set(rows: list[list[str]], row: int, col: int, value: str) -> list[list[str]]:
    rows = [list(r) for r in rows]
    rows[row][col] = value
    return rows


def airdata_cases() -> Iterator[Case]:
    d = "logs/airdata/"
    base = _airdata().encode()
    yield _log(d + "airdata-baseline.csv", base, "a clean 10-row export", samples=10)
    yield _log(d + "airdata-utf8-bom.csv", b"\xef\xbb\xbf" + base, "UTF-8 byte-order mark",
               samples=10)
    yield _log(d + "airdata-crlf.csv", _airdata(newline="\r\n").encode(), "Windows line ends",
               samples=10)
    yield _err(d + "airdata-utf16.csv", _airdata().encode("utf-16"), "UTF-16",
               "UTF-16 with a byte-order mark (a spreadsheet's 'Unicode text')")
    yield _err(d + "airdata-header-only.csv", _airdata([]).encode(), "header but no rows",
               "a header and no row")
    yield _log(d + "airdata-truncated-row.csv", base[:-12],
               "cut in the middle of the last row: the cut row has no gimbal or flags",
               samples=10)
    yield _log(d + "airdata-truncated-midnumber.csv", base[: base.rindex(b"\n", 0, -1) + 30],
               "cut inside the last row's latitude: the row has no longitude", samples=9,
               rejected={"no_position": 1})
    rows = _airdata_rows()
    yield _log(d + "airdata-lat-999.csv", _airdata(_set(rows, 4, 2, "999")).encode(),
               "latitude 999", samples=9, rejected={"coordinates_out_of_range": 1})
    yield _log(d + "airdata-lat-nan.csv", _airdata(_set(rows, 4, 2, "NaN")).encode(),
               "latitude NaN", samples=9, rejected={"no_position": 1})
    yield _log(d + "airdata-lon-inf.csv", _airdata(_set(rows, 4, 3, "inf")).encode(),
               "longitude inf", samples=9, rejected={"no_position": 1})
    yield _log(d + "airdata-lat-1e400.csv", _airdata(_set(rows, 4, 2, "1e400")).encode(),
               "a latitude that overflows to infinity", samples=9,
               rejected={"no_position": 1})
    yield _log(d + "airdata-height-inf.csv", _airdata(_set(rows, 4, 4, "-inf")).encode(),
               "an infinite height is no height: the row is kept with the height NA",
               samples=10)
    yield _log(d + "airdata-null-island.csv",
               _airdata(_set(_set(rows, 0, 2, "0"), 0, 3, "0")).encode(),
               "(0, 0) before the GPS fix", samples=9, rejected={"null_island": 1})
    back = [list(r) for r in rows]
    back[6][0], back[6][1] = "2000", f"{T0}02"
    yield _log(d + "airdata-time-backwards.csv", _airdata(back).encode(),
               "a row stamped 4 s before the one before it", samples=9,
               rejected={"time_backwards": 1})
    dup = [list(r) for r in rows]
    dup[5][0], dup[5][1] = dup[4][0], dup[4][1]
    yield _log(d + "airdata-time-duplicate.csv", _airdata(dup).encode(),
               "two rows with the same time", samples=9, rejected={"time_duplicate": 1})
    yield _log(d + "airdata-single-sample.csv", _airdata(rows[:1]).encode(), "one row",
               samples=1)
    yield _log(d + "airdata-two-clocks.csv",
               _airdata([rows[0], [rows[1][0], "2024-05-01", *rows[1][2:]]]).encode(),
               "two rows whose wall clocks disagree by 9 hours: no row agreed with the mean of "
               "the two (found by fuzzing: once a crash)", samples=1,
               rejected={"clock_mismatch": 1})
    order = (2, 3, 1, 0, *range(4, len(AIRDATA_COLUMNS)))
    shuffled = tuple(AIRDATA_COLUMNS[i] for i in order)
    yield _log(d + "airdata-column-order.csv",
               _airdata([[r[i] for i in order] for r in rows], columns=shuffled).encode(),
               "columns in another order", samples=10)
    metres = tuple(c.replace("(feet)", "(meters)") for c in AIRDATA_COLUMNS)
    yield _log(d + "airdata-metres.csv", _airdata(rows, columns=metres).encode(),
               "heights in metres instead of feet", samples=10)
    yield _err(d + "airdata-text-in-number.csv",
               _airdata(_set(rows, 3, 4, "twelve")).encode(), "'twelve'",
               "a word in a numeric column")
    yield _err(d + "airdata-bad-date.csv", _airdata(_set(rows, 2, 1, "yesterday")).encode(),
               "yesterday", "a date that is not a date")
    yield _err(d + "airdata-no-datetime.csv",
               _airdata([r[:1] + r[2:] for r in rows],
                        columns=AIRDATA_COLUMNS[:1] + AIRDATA_COLUMNS[2:]).encode(),
               "datetime(utc)", "no datetime(utc) column")
    yield _err(d + "airdata-no-position.csv",
               _airdata([[*r[:2], "", "", *r[4:]] for r in rows]).encode(),
               "none of the 10 rows has both a latitude and a longitude",
               "every latitude and longitude empty")
    yield _err(d + "airdata-semicolons.csv",
               _airdata(rows, sep=";").replace(".", ",").encode(),
               "unknown flight-log format", "semicolons and decimal commas (not AirData)")
    long_cell = _set(rows, 1, 10, "1" + "0" * 200_000)
    yield _log(d + "airdata-huge-cell.csv", _airdata(long_cell).encode(),
               "a 200 kB number in a flag column (a non-zero number sets the flag); a long run "
               "of digits once made the SRT sniffer backtrack for 12 s", samples=10)
    nul = base.replace(b"\n" + rows[3][0].encode() + b",", b"\n" + rows[3][0].encode() + b"\0,")
    yield _err(d + "airdata-nul-byte.csv", nul, "time(millisecond)",
               "a NUL byte inside a number")
    ragged = _airdata(rows).replace(",-45.0,0,1\n", ",-45.0,0,1,extra,cells\n", 1)
    yield _log(d + "airdata-ragged-row.csv", ragged.encode(),
               "a first row with more cells than the header: the extra cells are not read "
               "(they once shifted every column by one)", samples=10)


SRT_FRAME = (
    "{n}\n00:00:{s:02d},000 --> 00:00:{e:02d},000\n"
    '<font size="28">FrameCnt: {n}, DiffTime: 1000ms\n'
    "2024-05-01 09:00:{s:02d}.000\n"
    "[iso: 100] [shutter: 1/1000.0] [fnum: 2.8] [ev: 0] [focal_len: 24.00] "
    "[latitude: {lat}] [longitude: {lon}] [rel_alt: 100.000 abs_alt: 130.000] </font>\n"
)


def _srt(n: int = N, override: dict[int, dict[str, Any]] | None = None) -> str:
    frames = []
    for i, (lat, lon) in enumerate(_positions(n)):
        values: dict[str, Any] = {"n": i + 1, "s": i, "e": i + 1, "lat": f"{lat:.6f}",
                                  "lon": f"{lon:.6f}"}
        values.update((override or {}).get(i, {}))
        frames.append(SRT_FRAME.format(**values))
    return "\n".join(frames)


def srt_cases() -> Iterator[Case]:
    d = "logs/srt/"
    base = _srt().encode()
    yield _log(d + "srt-baseline.srt", base, "ten Mavic 3 cues", samples=10)
    yield _log(d + "srt-utf8-bom.srt", b"\xef\xbb\xbf" + base, "UTF-8 byte-order mark",
               samples=10)
    yield _log(d + "srt-utf16.srt", _srt().encode("utf-16"), "UTF-16 with a byte-order mark",
               samples=10)
    yield _log(d + "srt-crlf.srt", _srt().replace("\n", "\r\n").encode(), "Windows line ends",
               samples=10)
    yield _log(d + "srt-latin1.srt", _srt().replace("[iso: 100]", "[iso: 100] caf\xe9")
               .encode("latin-1"), "a Latin-1 byte in a cue", samples=10)
    yield _log(d + "srt-truncated-cue.srt", base[: base.rindex(b"[latitude")],
               "cut before the last cue's position", samples=9, rejected={"no_position": 1})
    yield _log(d + "srt-truncated-number.srt", base[: base.rindex(b"[longitude") + 16],
               "cut inside the last cue's longitude: the digits left are a position a few "
               "metres off, kept as written", samples=10)
    yield _log(d + "srt-lat-999.srt", _srt(override={3: {"lat": "999.000000"}}).encode(),
               "latitude 999", samples=9, rejected={"coordinates_out_of_range": 1})
    yield _log(d + "srt-lat-nan.srt", _srt(override={3: {"lat": "nan"}}).encode(),
               "latitude 'nan' is no number: the cue has no position", samples=9,
               rejected={"no_position": 1})
    yield _log(d + "srt-time-backwards.srt", _srt(override={5: {"s": 2, "e": 3}}).encode(),
               "a cue whose video time goes back 3 s", samples=9,
               rejected={"time_backwards": 1})
    yield _log(d + "srt-single-cue.srt", _srt(1).encode(), "one cue", samples=1)
    yield _err(d + "srt-no-position.srt",
               re.sub(r"\[latitude: [^]]*\] \[longitude: [^]]*\] ", "", _srt()).encode(),
               "no position in any of the 10 subtitles", "camera fields only")
    yield _log(d + "srt-junk-tail.srt", base + _junk(1, 4096),
               "4 kB of binary junk after the last cue", samples=10)
    yield _log(d + "srt-garbled-timing.srt",
               _srt().replace("00:00:04,000 --> 00:00:05,000", "00:00:xx,000 --> 00:00:05,000")
               .encode(),
               "a cue whose timing line is damaged is read as part of the cue before",
               samples=9, rejected={})


def _flightreader() -> str:
    return (ROOT / "tests" / "data" / "flightreader_mavic_air2.csv").read_text()


def csv_cases() -> Iterator[Case]:
    d = "logs/flightreader/"
    text = _flightreader()
    lines = text.splitlines(keepends=True)
    yield _log(d + "fr-baseline.csv", text.encode(), "the Flight Reader fixture", samples=4,
               rejected={"no_position": 1})
    yield _err(d + "fr-header-only.csv", "".join(lines[:2]).encode(), "no rows",
               "header and no row")
    yield _log(d + "fr-no-sep-line.csv", "".join(lines[1:]).encode(),
               "without the 'sep=,' line", samples=4, rejected={"no_position": 1})
    yield _log(d + "fr-truncated.csv", "".join(lines[:-2]).encode() + lines[-2][:60].encode(),
               "cut inside the fourth row's height: the rows after it are lost with the cut",
               samples=4)
    yield _log(d + "fr-lat-999.csv", text.replace("35.681240", "999", 1).encode(),
               "latitude 999", samples=3,
               rejected={"coordinates_out_of_range": 1, "no_position": 1})
    yield _log(d + "fr-utf8-bom.csv", b"\xef\xbb\xbf" + text.encode(), "UTF-8 byte-order mark",
               samples=4, rejected={"no_position": 1})
    yield _err(d + "fr-bad-date.csv", text.replace("5/1/2024", "13/45/2024", 1).encode(),
               "13/45/2024", "a date that does not exist")
    d = "logs/litchi/"
    litchi = (ROOT / "tests" / "data" / "litchi_mavic_pro.csv").read_text()
    llines = litchi.splitlines(keepends=True)
    yield _log(d + "litchi-baseline.csv", litchi.encode(), "the Litchi fixture", samples=4)
    yield _err(d + "litchi-header-only.csv", llines[0].encode(), "no rows", "header only")
    yield _log(d + "litchi-lat-999.csv",
               litchi.replace("47.5728976", "999", 1).encode(), "latitude 999", samples=3,
               rejected={"coordinates_out_of_range": 1})
    yield _err(d + "litchi-bad-datetime.csv",
               litchi.replace("2021-09-06 02:23:48.200", "not-a-date", 1).encode(),
               "not-a-date", "a datetime(utc) cell that is not a date")
    yield _log(d + "litchi-truncated.csv", litchi.encode()[:-200],
               "cut inside the last row, after its position and time", samples=4)
    d = "logs/remoteid/"
    rid = (ROOT / "tests" / "data" / "remoteid_drone_scanner.csv").read_text()
    rlines = rid.splitlines(keepends=True)
    yield _log(d + "rid-baseline.csv", rid.encode(), "the Drone Scanner fixture", samples=4,
               flights=2, rejected={"null_island": 1})
    yield _err(d + "rid-header-only.csv", rlines[0].encode(), "no", "header only")
    yield _log(d + "rid-lat-999.csv", rid.replace("35.6812360", "999", 1).encode(),
               "latitude 999", samples=3, flights=2,
               rejected={"null_island": 1, "coordinates_out_of_range": 1})
    yield _log(d + "rid-truncated.csv", rid.encode()[:-60],
               "cut inside the last row, before its position", samples=3, flights=2,
               rejected={"null_island": 1, "no_position": 1})
    yield _err(d + "rid-duplicate-header.csv",
               rid.replace("Message Type,", "Message Type,Message Type,Message Type,", 1)
               .encode(), "expected a number",
               "a header with two names too many, so every row is two cells short and shifted "
               "(found by fuzzing: pandas once warned)")
    yield _err(d + "rid-no-location.csv",
               "".join(ln for ln in rlines if not ln.startswith("Location")).encode(),
               "no", "no Location message at all")


GPX_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
GPX_OPEN = '<gpx version="1.1" creator="corpus" xmlns="http://www.topografix.com/GPX/1/1">'


def _gpx(points: list[tuple[str, str, str | None]] | None = None, *, head: str = GPX_HEAD,
         extra: str = "") -> str:
    if points is None:
        points = [(f"{la:.6f}", f"{lo:.6f}", f"2024-05-01T09:00:{i:02d}Z")
                  for i, (la, lo) in enumerate(_positions())]
    body = "".join(
        f'<trkpt lat="{la}" lon="{lo}"><ele>130</ele>'
        + (f"<time>{t}</time>" if t else "") + "</trkpt>"
        for la, lo, t in points
    )
    return f"{head}{extra}{GPX_OPEN}<trk><name>t</name><trkseg>{body}</trkseg></trk></gpx>\n"


XXE = '<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "' + f"&lol{i - 1 if i > 1 else ''};" * 10 + '">' for i in range(1, 10)
    )
    + "]>\n"
)


def gpx_cases() -> Iterator[Case]:
    d = "logs/gpx/"
    base = _gpx()
    pts = [(f"{la:.6f}", f"{lo:.6f}", f"2024-05-01T09:00:{i:02d}Z")
           for i, (la, lo) in enumerate(_positions())]
    yield _log(d + "gpx-baseline.gpx", base.encode(), "ten track points", samples=10)
    yield _err(d + "gpx-truncated.gpx", base.encode()[:-100], "not well-formed XML",
               "cut before the closing tags")
    yield _err(d + "gpx-xxe.gpx", _gpx(extra=XXE).replace("<name>t</name>", "<name>&xxe;</name>")
               .encode(), "DTD", "an external entity naming /etc/passwd")
    yield _err(d + "gpx-billion-laughs.gpx", _gpx(extra=LAUGHS.replace("lolz", "gpx"))
               .replace("<name>t</name>", "<name>&lol9;</name>").encode(), "DTD",
               "a billion-laughs entity expansion")
    yield _log(d + "gpx-lat-999.gpx", _gpx([*pts[:3], ("999", pts[3][1], pts[3][2]), *pts[4:]])
               .encode(), "latitude 999", samples=9,
               rejected={"coordinates_out_of_range": 1})
    yield _log(d + "gpx-lat-nan.gpx", _gpx([*pts[:3], ("NaN", pts[3][1], pts[3][2]), *pts[4:]])
               .encode(), "latitude NaN in an attribute", samples=9,
               rejected={"no_position": 1})
    yield _log(d + "gpx-time-backwards.gpx",
               _gpx([*pts[:5], (pts[5][0], pts[5][1], "2024-05-01T08:59:00Z"), *pts[6:]])
               .encode(), "a point a minute before the first", samples=9,
               rejected={"time_backwards": 1})
    yield _log(d + "gpx-no-time.gpx", _gpx([(la, lo, None) for la, lo, _ in pts]).encode(),
               "no <time> at all: every row lacks a time", samples=0,
               rejected={"no_time": 10})
    yield _log(d + "gpx-single-point.gpx", _gpx(pts[:1]).encode(), "one point", samples=1)
    yield _err(d + "gpx-no-points.gpx", _gpx([]).encode(), "no track point",
               "a track without points")
    yield _err(d + "gpx-utf16.gpx", _gpx(head='<?xml version="1.0" encoding="UTF-16"?>\n')
               .encode("utf-16"), "UTF-16",
               "UTF-16 with a byte-order mark and a matching declaration")
    yield _err(d + "gpx-wrong-root.gpx", b'<?xml version="1.0"?><kml><Document/></kml>',
               "no track in the KML", "an empty KML document in a .gpx file")


KML_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">'
    "<Document>"
)


def _kml_track(coords: list[str] | None = None, whens: list[str] | None = None,
               name: str = "flight A") -> str:
    pos = _positions()
    coords = coords if coords is not None else [f"{lo:.6f} {la:.6f} 130" for la, lo in pos]
    whens = whens if whens is not None else [f"2024-05-01T09:00:{i:02d}Z" for i in range(N)]
    return (
        f"<Placemark><name>{name}</name><gx:Track><altitudeMode>absolute</altitudeMode>"
        + "".join(f"<when>{w}</when>" for w in whens)
        + "".join(f"<gx:coord>{c}</gx:coord>" for c in coords)
        + "</gx:Track></Placemark>"
    )


def _kml(body: str, *, prolog: str = "") -> str:
    return KML_OPEN.replace("\n", "\n" + prolog, 1) + body + "</Document></kml>\n"


def kml_cases() -> Iterator[Case]:
    d = "logs/kml/"
    base = _kml(_kml_track())
    pos = _positions()
    coords = [f"{lo:.6f} {la:.6f} 130" for la, lo in pos]
    yield _log(d + "kml-baseline.kml", base.encode(), "a gx:Track of ten points", samples=10)
    yield _err(d + "kml-truncated.kml", base.encode()[:-60], "not well-formed XML",
               "cut before the closing tags")
    yield _err(d + "kml-xxe.kml", _kml(_kml_track(name="&xxe;"), prolog=XXE.replace("gpx", "kml"))
               .encode(), "DTD", "an external entity naming /etc/passwd")
    yield _err(d + "kml-billion-laughs.kml",
               _kml(_kml_track(name="&lol9;"), prolog=LAUGHS.replace("lolz", "kml")).encode(),
               "DTD", "a billion-laughs entity expansion")
    yield _log(d + "kml-lat-999.kml",
               _kml(_kml_track([*coords[:3], f"{pos[3][1]:.6f} 999 130", *coords[4:]])).encode(),
               "latitude 999", samples=9, rejected={"coordinates_out_of_range": 1})
    yield _log(d + "kml-nan.kml",
               _kml(_kml_track([*coords[:3], "nan nan 130", *coords[4:]])).encode(),
               "a coordinate written as nan", samples=9, rejected={"no_position": 1})
    yield _err(d + "kml-count-mismatch.kml", _kml(_kml_track(coords[:-1])).encode(),
               "10 <when>", "ten times and nine coordinates")
    yield _err(d + "kml-no-track.kml", _kml("<Placemark><name>x</name></Placemark>").encode(),
               "no track in the KML", "a placemark without any track")
    line = (
        "<Placemark><LineString><coordinates>"
        + " ".join(c.replace(" ", ",") for c in coords)
        + "</coordinates></LineString></Placemark>"
    )
    yield _log(d + "kml-linestring.kml", _kml(line).encode(),
               "a LineString without times: placeholder times", samples=10)
    yield _log(d + "kml-time-backwards.kml",
               _kml(_kml_track(whens=[f"2024-05-01T09:00:{i:02d}Z" for i in
                                      (0, 1, 2, 3, 4, 1, 6, 7, 8, 9)])).encode(),
               "a time 4 s before the one before it", samples=9,
               rejected={"time_backwards": 1})
    d = "logs/kmz/"
    doc = base.encode()
    yield _log(d + "kmz-baseline.kmz", _zip([("doc.kml", doc)]), "a KMZ with doc.kml",
               samples=10)
    yield _err(d + "kmz-dotdot.kmz", _zip([("doc.kml", doc), ("../../evil.kml", doc)]),
               "..", "a member named ../../evil.kml")
    yield _err(d + "kmz-absolute.kmz", _zip([("doc.kml", doc), ("/etc/evil.kml", doc)]),
               "/etc/evil.kml", "a member with an absolute name")
    bomb = _zip([("doc.kml", doc), ("files/zeros.kml", bytes(100 * 1024 * 1024))])
    yield _err(d + "kmz-bomb.kmz", bomb, "zip bomb",
               "a member that inflates 1000-fold to 100 MB")
    liar = _lie_about_size(_zip([("doc.kml", _kml(_kml_track() + " " * 30_000_000).encode())]),
                           "doc.kml", 1000)
    yield _err(d + "kmz-lying-size.kmz", liar, "doc.kml",
               "a member that declares 1,000 bytes and inflates to 30 MB")
    yield _err(d + "kmz-not-a-zip.kmz", b"PK\x03\x04" + _junk(2, 2000),
               "unknown flight-log format", "zip magic followed by junk")
    yield _err(d + "kmz-no-kml.kmz", _zip([("files/a.png", b"\x89PNG")]),
               "unknown flight-log format", "a zip with no KML document")
    yield _err(d + "kmz-truncated.kmz", _zip([("doc.kml", doc)])[:300], "KMZ",
               "the zip cut after 300 bytes")


def _photo_json() -> dict[str, Any]:
    return json.loads((SHARED / "flightlogs" / "photos" / "image1.json").read_text())


def photo_cases() -> Iterator[Case]:
    d = "logs/photos/"
    rec = _photo_json()
    yield _log(d + "photo-baseline.json", json.dumps(rec).encode(), "a ThetaTools extract",
               samples=1)
    yield _err(d + "photo-truncated.json", json.dumps(rec).encode()[:-40],
               "not a readable JSON photo extract", "cut in the middle")
    yield _log(d + "photo-lat-999.json", json.dumps({**rec, "GPS Latitude": "999"}).encode(),
               "latitude 999: the one sample is rejected", samples=0,
               rejected={"coordinates_out_of_range": 1})
    yield _err(d + "photo-lat-text.json", json.dumps({**rec, "GPS Latitude": "north"}).encode(),
               "'north'", "a latitude that is a word")
    yield _err(d + "photo-list-of-numbers.json", b"[1, 2, 3]", "unknown flight-log format",
               "a JSON list of numbers (once taken for a CSV header)")
    nested = b"[" * 100_000 + b"]" * 100_000
    yield _err(d + "photo-deep-nesting.json", nested, "unknown flight-log format",
               "100,000 nested lists (a recursion bomb)")
    yield _log(d + "photo-nan-literal.json",
               json.dumps({**rec, "GPS Altitude": float("nan")}).encode(),
               "an altitude written as the non-standard NaN literal", samples=1)
    jpg = (SHARED / "flightlogs" / "photos" / "tiny_drone_image.jpg").read_bytes()
    yield _log(d + "photo-baseline-jpg.jpg", jpg, "a real drone JPEG", samples=1)
    yield _err(d + "photo-truncated-jpg.jpg", jpg[:400], "JPEG", "cut inside the EXIF block")
    exif_at = jpg.find(b"Exif\0\0")
    flipped = bytearray(jpg)
    for k in range(exif_at + 20, exif_at + 200, 7):
        flipped[k] ^= 0xFF
    yield _err(d + "photo-exif-garbled.jpg", bytes(flipped), "no GPS position",
               "EXIF directory bytes inverted (Pillow once printed a warning)")
    yield _err(d + "photo-no-exif.jpg", _plain_jpeg(), "unknown flight-log format",
               "a JPEG without EXIF")
    yield _log(d + "photo-gps-999.jpg", _gps_jpeg(999.0), "EXIF latitude 999", samples=0,
               rejected={"coordinates_out_of_range": 1})
    yield _err(d + "photo-gps-not-a-triple.jpg", _gps_jpeg(35.0, latitude_as=35),
               "no GPS position",
               "an EXIF latitude stored as one number, not degrees/minutes/seconds (found by "
               "fuzzing: once a crash)")


def _plain_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 90, 90)).save(buf, "JPEG", quality=50)
    return buf.getvalue()


def _gps_jpeg(lat: float, *, latitude_as: Any = None) -> bytes:
    from PIL import Image

    img = Image.new("RGB", (8, 8), (90, 90, 90))
    exif = Image.Exif()
    exif[0x010F] = "DJI"
    exif[0x0110] = "FC3582"
    exif[0x9003] = "2024:05:01 09:00:00"
    gps = exif.get_ifd(0x8825)
    latitude = (lat, 0.0, 0.0) if latitude_as is None else latitude_as
    gps.update({1: "N", 2: latitude, 3: "E", 4: (139.0, 46.0, 1.0)})
    exif[0x8769] = {0x9003: "2024:05:01 09:00:00"}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes(), quality=50)
    return buf.getvalue()


# ----------------------------------------------------------------------------- binary logs


def binary_cases() -> Iterator[Case]:
    d = "logs/binary/"
    ulog = (SHARED / "flightlogs" / "px4" / "sample_log_small.ulg").read_bytes()
    yield _err(d + "ulog-magic-only.ulg", ulog[:16], "ULog", "the 16-byte header alone")
    yield _err(d + "ulog-truncated-64k.ulg", ulog[:65536], "ULog",
               "the first 64 kB: definitions and no GPS data")
    yield _log(d + "ulog-truncated-100k.ulg", ulog[:102_400],
               "the first 100 kB: the GPS messages written so far are read", samples=2)
    # Zeros, then a message header claiming more bytes than are left: pyulog steps back by the
    # size it asked for, not the size it got, and re-reads the zeros for ever.
    endless = ulog[:16] + bytes(30_000) + struct.pack("<H", 0x4E30) + b"B" + bytes(5)
    yield _err(d + "ulog-endless-loop.ulg", endless, "re-reads without end",
               "a damaged ULog on which pyulog loops for ever (found by fuzzing)")
    junk = bytearray(ulog[:4096])
    junk[16:] = _junk(3, 4096 - 16)
    yield _err(d + "ulog-junk-body.ulg", bytes(junk), "ULog", "a ULog header, then junk")
    tlog = (SHARED / "flightlogs" / "ardupilot" / "vtol.tlog").read_bytes()
    yield _log(d + "tlog-first-2k.tlog", tlog[:2048], "the first 2 kB", samples=2)
    flipped = bytearray(tlog[:262_144])
    rng = random.Random(4)
    for _ in range(300):
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
    yield _log(d + "tlog-bitflips.tlog", bytes(flipped),
               "the first 256 kB with 300 flipped bits: damaged packets fail their checksum "
               "and are skipped", samples=171, rejected={"time_backwards": 3})
    yield _err(d + "tlog-junk.tlog", tlog[:8] + _junk(5, 4096), "tlog",
               "a plausible timestamp, then junk")
    df = _dataflash()
    yield _log(d + "dataflash-baseline.bin", df, "a small ArduPilot DataFlash log", samples=3)
    gps_at = df.index(b"\xa3\x95\x82")  # the first GPS record
    yield _log(d + "dataflash-junk-between-records.bin",
               df[:gps_at] + b"\x00\x00HA\x00\x00\x00" + df[gps_at:],
               "seven junk bytes between two records: skipped (pymavlink's indexer once printed "
               "a line per bad byte to the terminal)", samples=3)
    yield _log(d + "dataflash-truncated.bin", df[:-20],
               "cut inside the last record: that record is lost", samples=2)
    yield _err(d + "dataflash-formats-only.bin", _dataflash(rows=False), "GPS",
               "format definitions and no data")
    yield _log(d + "dataflash-lat-999.bin", _dataflash(lat=999.0),
               "POS latitude 999", samples=2, rejected={"coordinates_out_of_range": 1})
    store = _store()
    yield _log(d + "store-baseline.parquet", store, "a store written by exposure ingest",
               samples=3)
    yield _err(d + "store-truncated.parquet", store[: len(store) // 2], "parquet",
               "a store cut in half")
    yield _err(d + "store-par1-junk.parquet", b"PAR1" + _junk(6, 3000) + b"PAR1", "parquet",
               "Parquet magic around junk")
    yield _err(d + "store-plain-parquet.parquet", _plain_parquet(), "store",
               "a Parquet file that is not a store")
    yield _err(d + "store-lat-999.parquet", _store(lat=999.0), "damaged store",
               "a store whose samples were altered to latitude 999")
    yield _err(d + "store-bad-flights.parquet", _store(flights_blob=b"bm90IGFycm93"),
               "damaged store", "a store whose flights table is not Arrow (found by fuzzing)")
    yield _err(d + "store-bad-offsets.parquet", _store(flights_blob=_bad_offsets_ipc()),
               "damaged store", "a flights table whose string offsets point past its data "
               "(found by fuzzing: pyarrow once aborted the whole process)")
    txt = (SHARED / "flightlogs" / "dji_txt").glob("*.txt")
    head = next(iter(txt)).read_bytes()[:4096]
    yield _err(d + "djitxt-head.txt", head, "encrypted",
               "the first 4 kB of an encrypted DJI flight record")


def _dataflash(*, rows: bool = True, lat: float | None = None) -> bytes:
    from pymavlink.DFReader import DFFormat, DFMessage

    def msg(fmt: Any, values: list[Any]) -> bytes:
        return DFMessage(fmt, list(values), True, None).get_msgbuf()

    fmt_fmt = DFFormat(0x80, "FMT", 89, "BBnNZ", "Type,Length,Name,Format,Columns")
    pos = DFFormat(131, "POS", 0, "QLLfff", "TimeUS,Lat,Lng,Alt,RelHomeAlt,RelOriginAlt")
    gps = DFFormat(130, "GPS", 0, "QBBIHBcLLeffffB",
                   "TimeUS,I,Status,GMS,GWk,NSats,HDop,Lat,Lng,Alt,Spd,GCrs,VZ,Yaw,U")

    def fmt_row(f: Any) -> bytes:
        length = struct.calcsize(f.msg_struct) + 3
        return msg(fmt_fmt, [f.type, length, f.name.encode(), f.format.encode(),
                             ",".join(f.columns).encode()])

    data = fmt_row(fmt_fmt) + fmt_row(gps) + fmt_row(pos)
    if not rows:
        return data
    data += msg(gps, [1_000_000, 0, 3, 100_000, 2300, 12, 80, round(52.5e7), round(13.4e7),
                      4000, 0.0, 0.0, 0.0, 0.0, 1])
    for k in range(3):
        la = lat if (lat is not None and k == 1) else 52.5 + k * 1e-4
        stored = round(la * 1e7) if abs(la) < 214 else 2_000_000_000
        data += msg(pos, [1_500_000 + k * 200_000, stored, round(13.4e7), 52.5, 12.5, 12.5])
    return data


def _samples_frame() -> Any:
    import pandas as pd

    from flightlogs.schema import make_flights, make_samples

    n = 3
    frame = pd.DataFrame(
        {
            "flight_id": "stored",
            "time": pd.date_range("2024-05-01T09:00:00Z", periods=n, freq="1s"),
            "lon": [LON0 + 1e-5 * i for i in range(n)],
            "lat": [LAT0 + 1e-5 * i for i in range(n)],
            "height_ref": "takeoff",
            "height_agl_m": [100.0] * n,
            "source_row": range(1, n + 1),
        }
    )
    samples = make_samples(frame)
    flights = make_flights(
        pd.DataFrame(
            {
                "flight_id": ["stored"],
                "source_path": ["corpus"],
                "source_format": ["airdata_csv"],
                "n_read": [n],
                "n_samples": [n],
                "n_rejected": [0],
            }
        ),
        samples=samples,
    )
    return samples, flights


def _store(*, lat: float | None = None, flights_blob: bytes | None = None) -> bytes:
    """Write a store as exposure ingest does; or one altered afterwards, as a hostile one is."""
    import pyarrow.parquet as pq

    from flightlogs.store import write_store

    samples, flights = _samples_frame()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.parquet"
        write_store(samples, flights, path)
        if lat is None and flights_blob is None:
            return path.read_bytes()
        table = pq.read_table(path)
        meta = dict(table.schema.metadata)
        if lat is not None:
            import pyarrow as pa

            column = table.column("lat").to_pylist()
            column[1] = lat
            table = table.set_column(table.schema.get_field_index("lat"), "lat",
                                     pa.array(column))
        if flights_blob is not None:
            meta[b"exposure:flights"] = flights_blob
        pq.write_table(table.replace_schema_metadata(meta), path)
        return path.read_bytes()


def _bad_offsets_ipc() -> bytes:
    """Return an Arrow IPC stream (base64) whose string claims a terabyte of 3 bytes."""
    import base64

    import pyarrow as pa

    table = pa.table({"flight_id": pa.array(["abc"], pa.large_string())})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    raw = sink.getvalue().to_pybytes()
    offsets = bytes(8) + (3).to_bytes(8, "little")  # [0, 3]: the last copy is the body's
    at = raw.rindex(offsets)
    raw = raw[:at] + bytes(8) + (1 << 40).to_bytes(8, "little") + raw[at + 16 :]
    return base64.b64encode(raw)


def _plain_parquet() -> bytes:
    import pandas as pd

    buf = io.BytesIO()
    pd.DataFrame({"lat": [1.0, 2.0], "lon": [3.0, 4.0]}).to_parquet(buf)
    return buf.getvalue()


def junk_cases() -> Iterator[Case]:
    d = "logs/junk/"
    yield _err(d + "junk-empty.csv", b"", "empty", "a file of 0 bytes")
    yield _err(d + "junk-blank.srt", b" \n\r\n\t\n", "empty", "whitespace only")
    for k, ext in enumerate(
        ("csv", "srt", "gpx", "kml", "ulg", "tlog", "bin", "jpg", "json", "txt", "parquet")
    ):
        yield _err(d + f"junk-random-{ext}.{ext}", _junk(100 + k, 3000),
                   "unknown flight-log format", f"random bytes with a .{ext} name")
    yield _err(d + "junk-nul.csv", bytes(2048), "unknown flight-log format", "NUL bytes only")
    yield _err(d + "junk-png.jpg", b"\x89PNG\r\n\x1a\n" + _junk(7, 500),
               "unknown flight-log format", "a PNG with a .jpg name")
    yield _err(d + "junk-html.gpx", b"<html><body>404 Not Found</body></html>\n",
               "unknown flight-log format", "an HTTP error page saved as GPX")


# ----------------------------------------------------------------------------- sites


def _feature(geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _square(lon: float, lat: float, d: float = 0.01) -> list[list[list[float]]]:
    return [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]


def _fc(features: list[dict[str, Any]]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def vector_cases() -> Iterator[Case]:
    d = "sites/vector/"
    poly = {"type": "Polygon", "coordinates": _square(139.7, 35.6)}
    two = [
        _feature(poly, name="Base A", category="military"),
        _feature({"type": "Polygon", "coordinates": _square(139.8, 35.7)}, name="Plant B",
                 category="power_plant"),
    ]
    base = _fc(two)
    yield _sites(d + "vec-baseline.geojson", base, "two squares", read=2, kept=2)
    yield _sites(d + "vec-utf8-bom.geojson", b"\xef\xbb\xbf" + base, "UTF-8 byte-order mark",
                 read=2, kept=2)
    yield _err(d + "vec-empty.geojson", b"", "vec-empty.geojson", "a file of 0 bytes", "sites")
    yield _err(d + "vec-truncated.geojson", base[:-30], "vec-truncated.geojson",
               "cut in the middle", "sites")
    yield _err(d + "vec-not-geojson.geojson", b'{"hello": "world"}', "vec-not-geojson",
               "JSON that is not GeoJSON", "sites")
    yield _err(d + "vec-junk.geojson", _junk(8, 3000), "vec-junk.geojson",
               "random bytes with a .geojson name", "sites")
    mixed = [
        _feature({"type": "Point", "coordinates": [139.70, 35.60]}, name="p", category="military"),
        _feature({"type": "LineString", "coordinates": [[139.71, 35.6], [139.72, 35.61]]},
                 name="l", category="dam"),
        _feature(poly, name="a", category="prison"),
        _feature({"type": "MultiPolygon", "coordinates": [_square(139.9, 35.6)]}, name="m",
                 category="port"),
        _feature({"type": "GeometryCollection", "geometries": [
            {"type": "Point", "coordinates": [139.5, 35.5]}, poly]}, name="g",
            category="other"),
    ]
    yield _sites(d + "vec-mixed-types.geojson", _fc(mixed),
                 "point, line, polygon, multipolygon and collection in one file", read=5,
                 kept=5)
    bowtie = {"type": "MultiPolygon", "coordinates": [
        [[[139.7, 35.6], [139.71, 35.61], [139.71, 35.6], [139.7, 35.61], [139.7, 35.6]]],
        [[[139.705, 35.6], [139.72, 35.6], [139.72, 35.61], [139.705, 35.61], [139.705, 35.6]]],
    ]}
    yield _sites(d + "vec-self-intersecting.geojson",
                 _fc([_feature(bowtie, name="bow", category="military")]),
                 "a self-intersecting multipolygon (a bow tie overlapping a square)", read=1,
                 kept=1, repaired=1)
    yield _sites(d + "vec-null-geometry.geojson",
                 _fc([*two, _feature(None, name="nothing", category="military")]),  # type: ignore[arg-type]
                 "a feature without geometry", read=3, kept=2,
                 rejected={"missing geometry": 1})
    far = {"type": "Polygon", "coordinates": [[[139.7, 999.0], [139.8, 999.0], [139.8, 999.1],
                                               [139.7, 999.0]]]}
    yield _sites(d + "vec-lat-999.geojson", _fc([*two, _feature(far, name="far",
                                                                 category="military")]),
                 "latitude 999", read=3, kept=2, rejected={"coordinates out of range": 1})
    nanpoly = {"type": "Polygon", "coordinates": [[[139.7, 35.6], [float("nan"), 35.6],
                                                   [139.8, 35.7], [139.7, 35.6]]]}
    yield _sites(d + "vec-nan-vertex.geojson",
                 json.dumps({"type": "FeatureCollection", "features": [
                     *two, _feature(nanpoly, name="nan", category="military")]}).encode(),
                 "a vertex written as the non-standard NaN literal", read=3, kept=2,
                 rejected={"coordinates out of range": 1})
    yield _err(d + "vec-unknown-category.geojson",
               _fc([_feature(poly, name="x", category="spaceport")]), "spaceport",
               "a category that is not in the taxonomy", "sites")
    yield _err(d + "vec-duplicate-id.geojson",
               _fc([_feature(poly, id="1", name="a", category="military"),
                    _feature(poly, id="1", name="b", category="military")]), "1",
               "an id repeated", "sites")
    yield _err(d + "vec-utf16.geojson", json.dumps(json.loads(base)).encode("utf-16"),
               "not recognized", "UTF-16 with a byte-order mark", "sites")
    yield _sites(d + "vec-huge-coordinates.geojson",
                 _fc([*two, _feature({"type": "Polygon", "coordinates": [[
                     [1e308, 1e308], [-1e308, 1e308], [0, -1e308], [1e308, 1e308]]]},
                     name="huge", category="military")]),
                 "coordinates of 1e308", read=3, kept=2,
                 rejected={"coordinates out of range": 1})
    yield _sites(d + "vec-degenerate.geojson",
                 _fc([*two, _feature({"type": "Polygon", "coordinates": [[
                     [139.7, 35.6], [139.8, 35.6], [139.9, 35.6], [139.7, 35.6]]]},
                     name="flat", category="military")]),
                 "a polygon with no area", read=3, kept=2, rejected={"degenerate polygon": 1})
    yield _sites(d + "vec-unknown-geometry-type.geojson",
                 _fc([*two, _feature({"type": "Blob", "coordinates": [139.7, 35.6]},
                                     name="blob", category="military")]),
                 "a geometry type GeoJSON does not have (GDAL's warning once reached the "
                 "terminal)", read=3, kept=2, rejected={"missing geometry": 1})
    yield _sites(d + "vec-script-names.geojson",
                 _fc([_feature(poly, name="<script>alert(1)</script>", category="military",
                               id="\" onmouseover=alert(1) x=\"")]),
                 "names and ids that are HTML", read=1, kept=1)
    yield from _zip_vector_cases()


def _shapefile_members() -> list[tuple[str, bytes]]:
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {"name": ["Base A"], "category": ["military"]},
        geometry=[shapely.box(139.7, 35.6, 139.71, 35.61)],
        crs="EPSG:4326",
    )
    with tempfile.TemporaryDirectory() as tmp:
        frame.to_file(Path(tmp) / "sites.shp", engine="pyogrio")
        return [(p.name, p.read_bytes()) for p in sorted(Path(tmp).iterdir())]


def _zip_vector_cases() -> Iterator[Case]:
    d = "sites/zip/"
    members = _shapefile_members()
    yield _sites(d + "shp-baseline.zip", _zip(members), "a zipped Shapefile", read=1, kept=1)
    yield _err(d + "shp-dotdot.zip", _zip([*members, ("../../evil.shp", b"x")]), "unsafe path",
               "a member named ../../evil.shp", "sites")
    yield _err(d + "shp-bomb.zip", _zip([*members, ("zeros.dbf", bytes(100 * 1024 * 1024))]),
               "zip bomb", "a member that inflates 1000-fold", "sites")
    yield _err(d + "shp-no-dbf.zip", _zip([m for m in members if not m[0].endswith(".dbf")]),
               "shp-no-dbf.zip", "a Shapefile without its .dbf", "sites")
    mars = (b'GEOGCS["Mars 2000",DATUM["D_Mars_2000",SPHEROID["Mars_2000_IAU_IAG",3396190.0,'
            b'169.894447223612]],PRIMEM["Greenwich",0],UNIT["Decimal_Degree",'
            b'0.0174532925199433]]')
    yield _err(d + "shp-mars-prj.zip",
               _zip([(n, mars if n.endswith(".prj") else b) for n, b in members]),
               "cannot be converted to EPSG:4326",
               "a .prj on another celestial body (found by fuzzing: once a crash in PROJ)",
               "sites")
    yield _err(d + "shp-junk.zip", b"PK\x03\x04" + _junk(9, 1000), "not a readable zip",
               "zip magic followed by junk", "sites")
    yield _sites(d + "shp-empty-member-name.zip", _zip([*members, ("", b"x")]),
                 "a member with an empty name, ignored (found by fuzzing: once a crash)",
                 read=1, kept=1)
    yield _err(d + "shp-encrypted.zip", _encrypted_flag(_zip(members)), "encrypted",
               "members flagged as encrypted", "sites")
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document><Placemark><name>Base K</name><Polygon><outerBoundaryIs><LinearRing>"
        "<coordinates>139.7,35.6 139.71,35.6 139.71,35.61 139.7,35.61 139.7,35.6</coordinates>"
        "</LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>"
    )
    d = "sites/kml/"
    yield Case(d + "kml-sites-xxe.kml",
               kml.replace("<kml ", XXE.replace("gpx", "kml") + "<kml ")
               .replace("Base K", "&xxe;").encode(),
               "sites", "error", "an external entity naming /etc/passwd", match="DTD")
    yield Case(d + "kml-sites-laughs.kml",
               kml.replace("<kml ", LAUGHS.replace("lolz", "kml") + "<kml ")
               .replace("Base K", "&lol9;").encode(),
               "sites", "error", "a billion-laughs entity expansion", match="DTD")
    yield Case(d + "kmz-sites-bomb.kmz",
               _zip([("doc.kml", kml.encode()), ("big.kml", bytes(100 * 1024 * 1024))]),
               "sites", "error", "a KMZ member that inflates 1000-fold", match="zip bomb")
    yield Case(d + "kmz-sites-dotdot.kmz",
               _zip([("doc.kml", kml.encode()), ("../x.kml", kml.encode())]),
               "sites", "error", "a KMZ member named ../x.kml", match="unsafe path")


def _encrypted_flag(data: bytes) -> bytes:
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (pos := out.find(signature, start)) >= 0:
            out[pos + offset] |= 0x1
            start = pos + 4
    return bytes(out)


OSM_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _osm(body: str, *, prolog: str = "") -> str:
    nodes = "".join(
        f'<node id="{i}" lat="{la}" lon="{lo}"/>'
        for i, (la, lo) in enumerate(((35.0, 139.0), (35.0, 139.01), (35.01, 139.01),
                                      (35.01, 139.0)), start=1)
    )
    return f'{OSM_HEAD}{prolog}<osm version="0.6" generator="corpus">{nodes}{body}</osm>\n'


OSM_PLANT = ('<node id="9" lat="35.05" lon="139.05"><tag k="power" v="plant"/>'
             '<tag k="plant:source" v="nuclear"/></node>')
OSM_WAY = ('<way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>'
           '<tag k="landuse" v="military"/><tag k="name" v="Base"/></way>')


def osm_cases() -> Iterator[Case]:
    d = "sites/osm/"
    base = _osm(OSM_WAY)
    yield _sites(d + "osm-baseline.osm", base.encode(), "a military way", read=1, kept=1)
    yield _err(d + "osm-truncated.osm", base.encode()[:-40], "osm-truncated.osm",
               "cut inside a tag", "sites")
    yield _err(d + "osm-xxe.osm", _osm(OSM_WAY.replace('v="Base"', 'v="&xxe;"'),
                                       prolog=XXE.replace("gpx", "osm")).encode(),
               "DTD", "an external entity naming /etc/passwd", "sites")
    yield _err(d + "osm-laughs.osm", _osm(OSM_WAY.replace('v="Base"', 'v="&lol9;"'),
                                          prolog=LAUGHS.replace("lolz", "osm")).encode(),
               "DTD", "a billion-laughs entity expansion", "sites")
    missing = OSM_WAY.replace('<nd ref="3"/>', '<nd ref="333"/>') + OSM_PLANT
    yield _sites(d + "osm-missing-node.osm", _osm(missing).encode(),
                 "a way that names a node the file lacks", read=2, kept=1,
                 rejected={"incomplete way (nodes missing from the extract)": 1})
    yield _sites(d + "osm-lat-999.osm",
                 _osm(OSM_WAY + '<node id="9" lat="999" lon="139.05"><tag k="power" v="plant"/>'
                      '<tag k="plant:source" v="nuclear"/></node>').encode(),
                 "a nuclear plant at latitude 999", read=2, kept=1,
                 rejected={"coordinates out of range": 1})
    loop = ('<relation id="200"><member type="relation" ref="201" role="outer"/>'
            '<tag k="type" v="multipolygon"/><tag k="landuse" v="military"/></relation>'
            '<relation id="201"><member type="relation" ref="200" role="outer"/>'
            '<tag k="type" v="multipolygon"/></relation>')
    yield _sites(d + "osm-relation-loop.osm", _osm(OSM_WAY + loop).encode(),
                 "two relations that contain each other", read=2, kept=1,
                 rejected={"incomplete relation (member ways missing from the extract)": 1})
    yield _err(d + "osm-junk.osm", _junk(10, 2000), "osm-junk.osm", "random bytes", "sites")
    elements = [
        {"type": "node", "id": 1, "lat": 35.0, "lon": 139.0,
         "tags": {"power": "plant", "plant:source": "nuclear", "name": "N"}},
        {"type": "way", "id": 100, "tags": {"landuse": "military"},
         "geometry": [{"lat": la, "lon": lo} for la, lo in
                      ((35.0, 139.0), (35.0, 139.01), (35.01, 139.01), (35.0, 139.0))]},
    ]
    over = json.dumps({"version": 0.6, "elements": elements}).encode()
    yield _sites(d + "overpass-baseline.json", over, "a node and a way from Overpass", read=2,
                 kept=2)
    yield _err(d + "overpass-truncated.json", over[:-25], "overpass-truncated.json",
               "cut in the middle", "sites")
    bad_el = json.dumps({"elements": [{"type": "node", "id": 1}, {"type": "way", "id": 2,
                                                                  "tags": "military"}]})
    yield _err(d + "overpass-wrong-shapes.json", bad_el.encode(), "overpass-wrong-shapes.json",
               "elements with missing coordinates and tags that are a string", "sites")
    yield _sites(d + "overpass-nan.json",
                 json.dumps({"elements": [{**elements[0], "lat": float("nan")}, elements[1]]})
                 .encode(),
                 "a node latitude written as NaN", read=2, kept=1,
                 rejected={"coordinates out of range": 1})


def _ed269_zone(**geometry: Any) -> dict[str, Any]:
    geom = {
        "uomDimensions": "M",
        "lowerLimit": 0,
        "lowerVerticalReference": "AGL",
        "upperLimit": 120,
        "upperVerticalReference": "AGL",
        "horizontalProjection": {"type": "Polygon", "coordinates": _square(8.5, 47.4)},
    }
    geom.update(geometry)
    return {
        "identifier": "Z1",
        "country": "CHE",
        "name": "Kernkraftwerk Test",
        "type": "COMMON",
        "restriction": "PROHIBITED",
        "reason": ["SENSITIVE"],
        "zoneAuthority": [{"name": "FOCA"}],
        "applicability": [{"permanent": "YES"}],
        "geometry": [geom],
    }


def _ed269(*zones: dict[str, Any]) -> bytes:
    return json.dumps({"UASZoneList": list(zones)}).encode()


def geozone_cases() -> Iterator[Case]:
    d = "sites/geozones/"
    yield _sites(d + "ed269-baseline.json", _ed269(_ed269_zone()), "one polygon zone", read=1,
                 kept=1)
    circle = {"type": "Circle", "center": [8.5, 47.4], "radius": 500}
    yield _sites(d + "ed269-circle.json", _ed269(_ed269_zone(horizontalProjection=circle)),
                 "a circle of 500 m", read=1, kept=1)
    neg = {**circle, "radius": -500}
    yield _err(d + "ed269-negative-radius.json", _ed269(_ed269_zone(horizontalProjection=neg)),
               "no usable radius",
               "the only zone is a circle with a negative radius", "sites")
    good = _ed269_zone()
    yield _sites(d + "ed269-negative-radius-and-good.json",
                 _ed269(good, {**_ed269_zone(horizontalProjection=neg), "identifier": "Z2"}),
                 "a good zone and a circle with a negative radius", read=2, kept=1,
                 rejected={"no usable radius": 1})
    yield _sites(d + "ed269-reason-a-number.json",
                 _ed269(good, {**_ed269_zone(), "identifier": "Z3", "reason": 5}),
                 "a zone whose reason list is a number, beside a good one (found by fuzzing: "
                 "once a crash)", read=2, kept=1, rejected={"unreadable zone fields": 1})
    yield _err(d + "ed269-zero-radius.json",
               _ed269(_ed269_zone(horizontalProjection={**circle, "radius": 0})),
               "no usable radius", "a circle of radius 0", "sites")
    yield _err(d + "ed269-nan-radius.json",
               json.dumps({"UASZoneList": [_ed269_zone(horizontalProjection={
                   **circle, "radius": float("nan")})]}).encode(), "no usable radius",
               "a radius written as NaN", "sites")
    yield _err(d + "ed269-huge-radius.json",
               _ed269(_ed269_zone(horizontalProjection={**circle, "radius": 1e9})),
               "no usable radius",
               "a circle of a million kilometres (was once drawn as a garbled polygon)", "sites")
    yield _err(d + "ed269-no-projection.json", _ed269(_ed269_zone(horizontalProjection=None)),
               "missing geometry", "a volume without horizontal projection", "sites")
    yield _err(d + "ed269-unknown-unit.json", _ed269(_ed269_zone(uomDimensions="FURLONG")),
               "FURLONG", "a unit that is neither M nor FT", "sites")
    yield _sites(d + "ed269-floor-above-ceiling.json",
                 _ed269(_ed269_zone(lowerLimit=500, upperLimit=100)),
                 "a floor above the ceiling: kept as published (an empty volume)", read=1,
                 kept=1)
    yield _err(d + "ed269-lat-999.json", _ed269(_ed269_zone(horizontalProjection={
        "type": "Polygon", "coordinates": [[[8.5, 999], [8.6, 999], [8.6, 999.1], [8.5, 999]]]})),
        "coordinates out of range", "latitude 999 (was once kept)", "sites")
    yield _err(d + "ed269-truncated.json", _ed269(_ed269_zone())[:-50], "ed269-truncated.json",
               "cut in the middle", "sites")
    yield _err(d + "ed269-list-not-list.json", json.dumps({"UASZoneList": "none"}).encode(),
               "UASZoneList", "UASZoneList is a string", "sites")
    yield _err(d + "ed269-zone-not-object.json", json.dumps({"UASZoneList": [1, "x"]}).encode(),
               "zone 1 is a int, expected an object; zone 2 is a str",
               "zones that are a number and a string (once a crash)", "sites")
    yield _sites(d + "ed269-bowtie.json", _ed269(_ed269_zone(horizontalProjection={
        "type": "Polygon", "coordinates": [[[8.5, 47.4], [8.51, 47.41], [8.51, 47.4],
                                            [8.5, 47.41], [8.5, 47.4]]]})),
        "a self-intersecting zone polygon", read=1, kept=1, repaired=1)
    yield _sites(d + "ed269-zip.zip", _zip([("zones.json", _ed269(_ed269_zone()))]),
                 "an ED-269 file inside a zip", read=1, kept=1)
    yield _err(d + "ed269-zip-bomb.zip", _zip([("zones.json", b" " * (100 * 1024 * 1024))]),
               "zip bomb", "a zipped JSON member that inflates 1000-fold", "sites")
    ed318 = json.loads((SHARED / "geozones" / "cis_source_sample_ed318.json").read_text())
    yield _sites(d + "ed318-baseline.json", json.dumps(ed318).encode(), "the ED-318 sample",
                 read=3, kept=3)
    broken = json.loads(json.dumps(ed318))
    broken["features"][0]["geometry"] = {"type": "Polygon", "coordinates": "nowhere"}
    yield _sites(d + "ed318-bad-geometry.json", json.dumps(broken).encode(),
                 "coordinates that are a string", read=3, kept=2,
                 rejected={"unreadable geometry": 1})
    yield Case(d + "ed318-deep-nesting.json",
               b'{"features": ' + b"[" * 100_000 + b"]" * 100_000 + b', "lowerReference": 1}',
               "sites", "error", "100,000 nested lists (a recursion bomb; once a crash)",
               match="nested too deeply")


CATALOG_HEAD = '"icao","iata","name","city","subd","country","elevation","lat","lon","tz","lid"\n'


def _airport(icao: str, lat: str, lon: str, name: str = "Test Field") -> str:
    return f'"{icao}","","{name}","Town","","JP",20,{lat},{lon},"Asia/Tokyo",""\n'


def catalog_cases() -> Iterator[Case]:
    d = "sites/catalogs/"
    rows = [_airport("RJAA", "35.76", "140.38"), _airport("RJTT", "35.55", "139.78")]
    base = CATALOG_HEAD + "".join(rows)
    yield _sites(d + "airports-baseline.csv", base.encode(), "two airports", read=2, kept=2)
    yield _sites(d + "airports-lat-999.csv", (base + _airport("ZZZZ", "999", "139")).encode(),
                 "latitude 999", read=3, kept=2, rejected={"coordinates out of range": 1})
    yield _sites(d + "airports-nan.csv", (base + _airport("ZZZY", "nan", "inf")).encode(),
                 "NaN and inf coordinates", read=3, kept=2,
                 rejected={"unparseable coordinates": 1})
    yield _err(d + "airports-header-only.csv", CATALOG_HEAD.encode(),
               "no usable site (the source is empty)", "a header and no row", "sites")
    yield _sites(d + "airports-text-lat.csv", (base + _airport("ZZZX", "north", "139")).encode(),
                 "a latitude that is a word", read=3, kept=2,
                 rejected={"unparseable coordinates": 1})
    yield _err(d + "airports-latin1.csv",
               (CATALOG_HEAD + _airport("RJAA", "35.76", "140.38", "Caf\xe9 Field"))
               .encode("latin-1"), "cannot read as a UTF-8 CSV", "a Latin-1 name", "sites")
    yield _sites(d + "airports-truncated.csv", base.encode()[:-30],
                 "cut inside the last row", read=2, kept=1,
                 rejected={"missing coordinates": 1})
    yield _err(d + "catalog-unknown.csv", b"a,b,c\n1,2,3\n", "not a known point catalogue",
               "a CSV of no known catalogue", "sites")
    yield _err(d + "catalog-empty.csv", b"", "catalog-empty.csv", "a file of 0 bytes", "sites")
    head = ('"id","airport_ref","airport_ident","length_ft","width_ft","surface","lighted",'
            '"closed","le_ident","le_latitude_deg","le_longitude_deg","le_elevation_ft",'
            '"le_heading_degT","le_displaced_threshold_ft","he_ident","he_latitude_deg",'
            '"he_longitude_deg","he_elevation_ft","he_heading_degT","he_displaced_threshold_ft"\n')
    good = '1,1,"RJTT",9800,200,"ASP",1,0,"16R",35.5606,139.7888,,,,"34L",35.5347,139.8012,,,\n'
    yield _sites(d + "runways-baseline.csv", (head + good).encode(), "one runway", read=1,
                 kept=1)
    yield _sites(d + "runways-negative-width.csv",
                 (head + good + good.replace("9800,200", "9800,-200").replace("1,1,", "2,1,", 1))
                 .encode(), "a runway of negative width", read=2, kept=1,
                 rejected={"missing width": 1})
    yield _sites(d + "runways-lat-999.csv",
                 (head + good + good.replace("35.5606", "999").replace("1,1,", "3,1,", 1))
                 .encode(), "a threshold at latitude 999", read=2, kept=1,
                 rejected={"coordinates out of range": 1})


def override_cases() -> Iterator[Case]:
    d = "sites/overrides/"
    yield Case(d + "overrides-broken.toml", b'[categories\nairport = 4\n', "overrides",
               "error", "TOML that does not parse", match="overrides-broken.toml")
    yield Case(d + "overrides-sensitivity-9.toml", b"[categories]\nairport = 9\n", "overrides",
               "error", "a sensitivity outside 1-5", match="9")
    yield Case(d + "overrides-unknown-category.csv",
               b"site_id,category,sensitivity\nicao:RJTT,spaceport,3\n", "overrides", "error",
               "a category that is not in the taxonomy", match="spaceport")
    yield Case(d + "overrides-junk.toml", _junk(11, 500), "overrides", "error",
               "random bytes", match="overrides-junk.toml")


# ----------------------------------------------------------------------------- output


def corpus_cases() -> list[Case]:
    """Every committed case, in a fixed order."""
    groups = (
        airdata_cases, srt_cases, csv_cases, gpx_cases, kml_cases, photo_cases, binary_cases,
        junk_cases, vector_cases, osm_cases, geozone_cases, catalog_cases, override_cases,
    )
    return [case for group in groups for case in group()]


def write_corpus(out: Path = OUT) -> list[Case]:
    """Replace ``out`` with the corpus files and ``cases.json``; return the cases."""
    cases = corpus_cases()
    files = [c.file for c in cases]
    if len(set(files)) != len(files):
        raise SystemExit("two cases share a file name")
    stems = [Path(f).stem for f in files if f.startswith("logs/")]
    if len(set(stems)) != len(stems):
        raise SystemExit("two log cases share a stem (flight ids would clash)")
    if out.exists():
        shutil.rmtree(out)
    for case in cases:
        target = out / case.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(case.data)
    manifest = {
        "about": "Expected outcome of each file; written by scripts/make_bad_corpus.py.",
        "cases": [c.entry() for c in cases],
    }
    (out / "cases.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return cases


# ----------------------------------------------------------------------------- large cases


def write_large_cases(folder: Path) -> list[dict[str, Any]]:
    """Write the cases too large to commit into ``folder``; return their entries.

    Entries have the layout of ``cases.json``, with ``file`` relative to ``folder``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    # A million identical samples: one position and one time repeated, as a stuck logger
    # writes them. The first is kept; the rest are duplicates of its time.
    row = ",".join(_airdata_rows(1)[0]) + "\n"
    path = folder / "logs" / "airdata-million-identical.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fh.write(",".join(AIRDATA_COLUMNS) + "\n")
        fh.write(row * 1_000_000)
    out.append({"file": "logs/airdata-million-identical.csv", "reader": "logs",
                "expect": "repaired", "flights": 1, "samples": 1,
                "rejected": {"time_duplicate": 999_999},
                "why": "a million identical rows"})
    # A polygon with 100,000 vertices (a detailed boundary): read as it is.
    import math

    k = 100_000
    ring = [[139.7 + 0.01 * math.cos(2 * math.pi * i / k) * (1 + 0.05 * (i % 2)),
             35.6 + 0.01 * math.sin(2 * math.pi * i / k) * (1 + 0.05 * (i % 2))]
            for i in range(k)]
    ring.append(ring[0])
    path = folder / "sites" / "vec-100k-vertices.geojson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_fc([_feature({"type": "Polygon", "coordinates": [ring]}, name="star",
                                   category="military")]))
    out.append({"file": "sites/vec-100k-vertices.geojson", "reader": "sites", "expect": "read",
                "read": 1, "kept": 1, "repaired": 0, "merged": 0, "rejected": {},
                "why": "a polygon with 100,000 vertices"})
    # A KMZ with more members than accepted.
    from flightlogs.kml import MAX_MEMBERS

    path = folder / "logs" / "kmz-many-members.kmz"
    path.write_bytes(_zip([("doc.kml", _kml(_kml_track()).encode())]
                          + [(f"f/{i}.png", b"") for i in range(MAX_MEMBERS + 1)],
                          method=zipfile.ZIP_STORED))
    out.append({"file": "logs/kmz-many-members.kmz", "reader": "logs", "expect": "error",
                "match": "entries", "why": "more zip members than accepted"})
    return out


def main() -> None:
    """Write the corpus and print what was written."""
    cases = write_corpus()
    total = sum(len(c.data) for c in cases)
    by_reader: dict[str, int] = {}
    for c in cases:
        by_reader[c.reader] = by_reader.get(c.reader, 0) + 1
    print(f"{len(cases)} cases, {total / 1e6:.2f} MB in {OUT.relative_to(ROOT)}: {by_reader}")


if __name__ == "__main__":
    main()
