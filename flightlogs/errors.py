"""Errors raised by the flight-log readers."""

from __future__ import annotations


class FlightLogError(ValueError):
    """A flight log could not be read.

    The message names the file, the row or field, the value found and what was expected,
    so that the command line can print it as one line.
    """


class UnknownFormatError(FlightLogError):
    """The format of a file could not be recognised from its content or extension."""


class SchemaError(FlightLogError):
    """A table does not satisfy the canonical samples or flights contract."""
