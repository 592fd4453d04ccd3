"""Paths the package reads and writes: the bundled data folder and where the store is.

Nothing here touches the network or creates files; callers create folders when they write.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from platformdirs import user_data_dir

from geo.errors import StoreError

__all__ = [
    "APP_NAME",
    "SERVER_SCHEMES",
    "STORE_ENV",
    "STORE_FILENAME",
    "config_dir",
    "data_dir",
    "default_store_path",
    "store_location",
    "store_path",
]

APP_NAME = "township-activity-map"
#: Environment variable that overrides the default store file.
STORE_ENV = "GEO_STORE"
STORE_FILENAME = "activity.sqlite"
#: URL schemes of a database server store (PostgreSQL with PostGIS).
SERVER_SCHEMES = ("postgresql", "postgres")
# "scheme:" at the start; one letter is a Windows drive (C:\\…), not a scheme
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):")

_DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def data_dir() -> Path:
    """The repository's ``data/`` folder (gazetteers, boundaries, configuration).

    Returns
    -------
    pathlib.Path
    """
    return _DATA_DIR


def config_dir() -> Path:
    """The ``data/config/`` folder (sector taxonomy, metric keys).

    Returns
    -------
    pathlib.Path
    """
    return _DATA_DIR / "config"


def default_store_path() -> Path:
    """Where the store lives when neither ``--store`` nor ``GEO_STORE`` says otherwise.

    Returns
    -------
    pathlib.Path
        ``<user data dir>/township-activity-map/activity.sqlite`` (platform-specific base).
    """
    return Path(user_data_dir(APP_NAME, appauthor=False)) / STORE_FILENAME


def store_location(override: str | os.PathLike | None = None) -> Path | str:
    """Where the store is: explicit ``override``, else ``$GEO_STORE``, else the default file.

    Parameters
    ----------
    override : str or path-like, optional
        A path or URL given by the user (``--store``, the app's secrets).

    Returns
    -------
    pathlib.Path or str
        A SQLite file, or a ``postgresql://…`` URL (as given).

    Raises
    ------
    StoreError
        A URL of another scheme (``mysql://…``, ``http://…``) or a malformed server URL:
        never taken as a folder name (``store.url``).
    """
    raw = override if override else os.environ.get(STORE_ENV, "").strip()
    if not raw:
        return default_store_path()
    if isinstance(raw, os.PathLike):
        return Path(raw).expanduser()
    text = str(raw).strip()
    match = _SCHEME.match(text)
    if match is None:
        return Path(text).expanduser()
    scheme = match.group(1).lower()
    if scheme in SERVER_SCHEMES and text[match.end() :].startswith("//"):
        return text
    shown = re.sub(r"(//[^/:@?#]*):[^@/?#]*@", r"\1:***@", text)[:80]
    raise StoreError(
        f"无法使用数据库地址 {shown}：GEO_STORE（或 --store）应为 SQLite 文件路径，"
        "或 postgresql://用户@主机:端口/数据库",
        code="store.url",
    )


def store_path(override: str | os.PathLike | None = None) -> Path:
    """The store file: explicit ``override``, else ``$GEO_STORE``, else the default.

    Parameters
    ----------
    override : str or path-like, optional
        A path given by the user (``--store``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    StoreError
        The store is a database server, not a file (``store.not_a_file``), or the location
        cannot be honoured (``store.url``).
    """
    where = store_location(override)
    if isinstance(where, str):
        raise StoreError("数据库在 PostgreSQL 服务器上，不是本地文件", code="store.not_a_file")
    return where
