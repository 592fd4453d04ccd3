"""Paths the package reads and writes: the bundled data folder and the default store.

Nothing here touches the network or creates files; callers create folders when they write.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

__all__ = [
    "APP_NAME",
    "STORE_ENV",
    "STORE_FILENAME",
    "config_dir",
    "data_dir",
    "default_store_path",
    "store_path",
]

APP_NAME = "township-activity-map"
#: Environment variable that overrides the default store file.
STORE_ENV = "GEO_STORE"
STORE_FILENAME = "activity.sqlite"

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


def store_path(override: str | os.PathLike | None = None) -> Path:
    """Resolve the store file: explicit ``override``, else ``$GEO_STORE``, else the default.

    Parameters
    ----------
    override : str or path-like, optional
        A path given by the user (``--store``).

    Returns
    -------
    pathlib.Path
    """
    if override:
        return Path(override).expanduser()
    env = os.environ.get(STORE_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return default_store_path()
