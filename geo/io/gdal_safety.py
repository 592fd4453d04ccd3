"""GDAL locked down for untrusted boundary files: no network, no drivers that follow references.

Boundary files come from uploads. GDAL opens a file by its content, not its name, and some
formats are recipes rather than data: a VRT names other files or URLs to read, a GDAL pipeline
runs algorithms, a WFS/OGC API source is a server, GMLAS fetches schemas. Opened on a server,
such a file makes the server send requests (SSRF) or read its own files. This module keeps
those drivers from ever being registered and turns GDAL's own network access off for the whole
process. :mod:`geo` applies it on import, before anything loads GDAL (``GDAL_SKIP`` is only
read when GDAL registers its drivers); the network settings are also read at every request.

:mod:`geo.io.boundary_files` adds the first line of defence: every file is checked by its
magic bytes and opened with one named driver.
"""

from __future__ import annotations

import os

__all__ = ["GDAL_SAFE_CONFIG", "SKIPPED_DRIVERS", "apply_gdal_safety", "check_gdal_locked_down"]

#: Drivers never registered: they follow references to other files or URLs, or talk to servers.
SKIPPED_DRIVERS = (
    # recipes that name other files or URLs
    "VRT",
    "OGR_VRT",
    "GDALG",
    "GTI",
    # servers and web APIs
    "WFS",
    "OAPIF",
    "OGCAPI",
    "WMS",
    "WMTS",
    "WCS",
    "CSW",
    "HTTP",
    "NGW",
    "EEDA",
    "EEDAI",
    "DAAS",
    "PLSCENES",
    "Elasticsearch",
    "Carto",
    "AmigoCloud",
    "ADBC",
    "AIVector",
    "STACIT",
    "STACTA",
    "MapML",
    "ESRIC",
    "PMTiles",
    "MVT",
    "MBTiles",
    # formats that fetch linked documents or schemas, run programs, or open SQL views
    "LIBKML",
    "GML",
    "GPSBabel",
    "SQLite",
)

#: Configuration forced for the whole process (environment variables, read by GDAL and PROJ).
GDAL_SAFE_CONFIG = {
    "GDAL_SKIP": " ".join(SKIPPED_DRIVERS),
    # /vsicurl/ and every handler built on it (/vsis3/, /vsigs/, /vsiaz/...) only accept this
    # exact name, which is no URL at all.
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/vsicurl/network-access-disabled",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".network-access-disabled",
    # Drivers that call libcurl directly go through a proxy on the discard port, which refuses.
    "GDAL_HTTP_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "2",
    "CPL_ALLOW_VSISTDIN": "NO",
    "GDAL_ALLOW_REMOTE_RESOURCE_TO_ACCESS_LOCAL_FILE": "NO",
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "GML_SKIP_RESOLVE_ELEMS": "ALL",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "PROJ_NETWORK": "OFF",
}


def apply_gdal_safety() -> None:
    """Put :data:`GDAL_SAFE_CONFIG` in the environment (overriding what was there)."""
    os.environ.update(GDAL_SAFE_CONFIG)


def check_gdal_locked_down() -> list[str]:
    """Drivers of :data:`SKIPPED_DRIVERS` that GDAL registered anyway (it was loaded before
    :mod:`geo`); the network settings are then also set through GDAL's own configuration.

    Returns
    -------
    list of str
        Names of registered drivers that should not be; empty when the lock-down holds fully.
    """
    import pyogrio  # only boundary readers call this; GDAL is loaded by then anyway

    pyogrio.set_gdal_config_options({k: v for k, v in GDAL_SAFE_CONFIG.items() if k != "GDAL_SKIP"})
    registered = set(pyogrio.list_drivers())
    return sorted(registered & set(SKIPPED_DRIVERS))


apply_gdal_safety()
