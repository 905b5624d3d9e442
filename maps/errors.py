"""Errors raised by the map builders."""

from __future__ import annotations

__all__ = ["MapError", "OfflineError"]


class MapError(ValueError):
    """A table or an argument cannot be drawn as asked."""


class OfflineError(MapError):
    """A page meant to open offline would reach the network; the message lists every reference."""
