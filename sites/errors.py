"""Errors raised by the site readers."""

from __future__ import annotations


class SiteDataError(ValueError):
    """A site source could not be read or does not satisfy the sites contract.

    The message names the file, the feature or field, the value found and what was expected.
    """
