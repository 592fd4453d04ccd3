"""The one reader of ``data/counties.json``: counties with default layers, and the default county.

The file names, per county, its default outline and township layer (with their quality), the
county seat and the notes and attribution that travel with them; ``default`` is the county the
app opens on. Every module that needs it (default layers, attribution, the app's county menu)
reads it here, with one error policy: a missing file means no county has default layers; a
file that cannot be read or has the wrong shape is a :class:`~geo.errors.GeoInputError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from geo import paths
from geo.errors import GeoInputError

__all__ = [
    "COUNTIES_PATH",
    "FALLBACK_COUNTY",
    "CountySettings",
    "county_choices",
    "county_entry",
    "default_county_code",
    "load_county_settings",
]

#: The settings file.
COUNTIES_PATH = paths.data_dir() / "counties.json"
#: The county used when the settings name none: 息县.
FALLBACK_COUNTY = ("411528", "息县")


@dataclass(frozen=True)
class CountySettings:
    """``data/counties.json`` as read.

    Attributes
    ----------
    default : str
        Six-digit code of the county the app opens on.
    entries : dict
        ``code -> entry`` (``name``, ``outline``, ``townships``, ``*_quality``, ``seat``,
        ``seat_source``, ``note``, ``attribution``...); paths are relative to ``folder``.
    folder : pathlib.Path
        Where the file is (layer paths are relative to it).
    """

    default: str
    entries: dict[str, dict] = field(default_factory=dict)
    folder: Path = COUNTIES_PATH.parent


@lru_cache(maxsize=4)
def _read(path: str) -> CountySettings:
    p = Path(path)
    if not p.exists():
        return CountySettings(default=FALLBACK_COUNTY[0], folder=p.parent)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise GeoInputError(f"无法读取县设置文件 {p}：{err}", code="config.counties") from None
    counties = doc.get("counties") if isinstance(doc, dict) else None
    if not isinstance(counties, dict) or not all(isinstance(v, dict) for v in counties.values()):
        raise GeoInputError(
            f'县设置文件 {p} 格式不对：应为 {{"default": 代码, "counties": {{代码: {{…}}}}}}',
            code="config.counties",
        )
    default = str(doc.get("default") or next(iter(counties), FALLBACK_COUNTY[0]))
    return CountySettings(
        default=default, entries={str(k): dict(v) for k, v in counties.items()}, folder=p.parent
    )


def load_county_settings(path: str | Path | None = None) -> CountySettings:
    """The settings (read once per file).

    Raises
    ------
    geo.errors.GeoInputError
        The file exists but cannot be read or has the wrong shape (``code="config.counties"``).
    """
    return _read(str(path or COUNTIES_PATH))


def county_entry(county_code: str | None, path: str | Path | None = None) -> dict:
    """The county's entry (a copy; ``{}`` when it has none)."""
    if not county_code:
        return {}
    return dict(load_county_settings(path).entries.get(str(county_code), {}))


def default_county_code(path: str | Path | None = None) -> str:
    """The county the app opens on (``default`` of the file, else 息县)."""
    return load_county_settings(path).default


def county_choices(path: str | Path | None = None) -> dict[str, str]:
    """Counties with settings: code -> name, the default county first (at least 息县)."""
    settings = load_county_settings(path)
    out = {code: str(e.get("name") or code) for code, e in settings.entries.items()}
    if not out:
        out = {FALLBACK_COUNTY[0]: FALLBACK_COUNTY[1]}
    first = settings.default if settings.default in out else next(iter(out))
    return {first: out[first], **{k: v for k, v in out.items() if k != first}}
