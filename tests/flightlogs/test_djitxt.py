from __future__ import annotations

import re
from pathlib import Path

import pytest

from flightlogs import FlightLogError, detect_format, read_flight_log
from flightlogs.djitxt import read, sniff

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
REAL = DATA / "flightlogs" / "dji_txt" / "mini2_DJIFlightRecord_2021-09-05_[19-23-47].txt"


def _prefix(version: int, *, offset: int = 809) -> bytes:
    """A 100-byte flight-record prefix as DJI writes it from version 6 on."""
    details = (436).to_bytes(2, "little")
    return offset.to_bytes(8, "little") + details + bytes([version, 0]) + bytes(88)


def test_real_encrypted_record_is_refused_with_a_way_out():
    with pytest.raises(FlightLogError) as err:
        read_flight_log(REAL)
    message = str(err.value)
    assert message.startswith(str(REAL))
    assert "version 14 is encrypted" in message
    assert "cannot be read offline" in message
    # Both exports this package reads are named.
    assert "AirData CSV" in message and "Flight Reader CSV" in message
    assert "\n" not in message


def test_real_record_is_detected():
    head = REAL.read_bytes()[:65536]
    assert head[10] == 14  # the version byte of the prefix
    assert sniff(head)
    assert detect_format(REAL) == "dji_txt"


def test_unencrypted_versions_are_not_supported_yet(tmp_path):
    path = tmp_path / "DJIFlightRecord_2018-01-01_[10-00-00].txt"
    path.write_bytes(_prefix(12) + b"\x01\x35" + bytes(53) + b"\xff")
    with pytest.raises(FlightLogError, match=r"version 12 \(unencrypted\) is not supported yet"):
        read(path)
    # The oldest layout has a 12-byte prefix followed by framed records (type, length, ..., 0xFF).
    old = tmp_path / "old.txt"
    old.write_bytes((5000).to_bytes(8, "little") + bytes([0, 0, 3, 0]) + b"\x01\x03abc\xff")
    assert sniff(old.read_bytes())
    with pytest.raises(FlightLogError, match=r"version 3 .*AirData"):
        read(old)


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"ULog\x01\x12\x35\x01" + bytes(200),
        b"1\n00:00:00,000 --> 00:00:01,000\nGPS(1,2,3)\n",
        b"time(millisecond),datetime(utc),latitude,longitude\n",
        bytes(range(256)),
        _prefix(14)[:50],
    ],
)
def test_other_content_is_not_a_flight_record(head):
    assert not sniff(head)


def test_non_record_forced_through_the_reader(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n")
    with pytest.raises(FlightLogError, match=re.escape(f"{path}: not a DJI flight record")):
        read(path)
