"""Errors raised by the exposure engine and the command line."""

from __future__ import annotations


class ExposureError(ValueError):
    """Input to the engine is unusable: missing CRS, a CRS mismatch, an unknown camera, ...

    The message names the argument or table, the value found and what was expected.
    """


class CameraError(ExposureError):
    """A camera key is not in the catalogue, or a catalogue row is malformed."""
