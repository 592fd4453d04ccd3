"""User-facing errors: each carries one clear line for the CLI and the app."""

from __future__ import annotations

__all__ = ["BoundaryReadError", "BulletinReadError", "CountyNotFoundError", "GeoInputError"]


class GeoInputError(ValueError):
    """Bad input from the user. ``str(err)`` is a one-line message, shown as is."""


class BulletinReadError(GeoInputError):
    """A bulletin file could not be read (empty, binary, scanned, encrypted, too large...)."""


class BoundaryReadError(GeoInputError):
    """A boundary file could not be read or understood (no CRS, broken zip, no polygons...)."""


class CountyNotFoundError(GeoInputError):
    """The county name or code is not in the gazetteer."""
