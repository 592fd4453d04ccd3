"""Read boundary (vector) files into GeoDataFrames: shapefile, zip, GeoJSON, GeoPackage.

Uploads are untrusted: a zip is checked entry by entry (path traversal, symlinks, entry count,
total size, compression ratio) before anything is written, and extraction stops as soon as the
bytes actually inflated exceed what the archive declared. Every failure is a
:class:`~geo.errors.BoundaryReadError` with one line for the user. Reprojection, repair and
joining are :mod:`geo.boundaries`' job; this module returns what the file holds, CRS included
(``None`` when a shapefile has no ``.prj``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sqlite3
import stat
import tempfile
import warnings
import zipfile
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import geopandas as gpd
import pyogrio

from geo.errors import BoundaryReadError
from geo.io.gdal_safety import check_gdal_locked_down

__all__ = [
    "MAX_VECTOR_BYTES",
    "MAX_ZIP_ENTRIES",
    "MAX_ZIP_RATIO",
    "MAX_ZIP_TOTAL_BYTES",
    "VECTOR_SUFFIXES",
    "read_vector",
    "sample_value",
]

#: Largest boundary file (or zip) accepted, in bytes.
MAX_VECTOR_BYTES = 200 * 1024 * 1024
#: Most entries a zip may hold (a shapefile needs 3 to 8).
MAX_ZIP_ENTRIES = 200
#: Largest total uncompressed size of a zip's entries, in bytes.
MAX_ZIP_TOTAL_BYTES = 500 * 1024 * 1024
#: Largest compression ratio of one entry; shapefiles and GeoJSON compress 3-20x, bombs 1000x+.
MAX_ZIP_RATIO = 100
#: Drivers registered although they should not be (GDAL was loaded before :mod:`geo`); the
#: magic-byte checks and pinned drivers below still keep them from opening an upload.
UNSAFE_DRIVERS_REGISTERED = check_gdal_locked_down()
#: File types read_vector understands.
VECTOR_SUFFIXES = (".shp", ".zip", ".geojson", ".json", ".gpkg")

# Sidecars worth extracting from a zip; anything else (docs, images, __MACOSX) is skipped.
_ZIP_KEEP = {
    ".shp",
    ".shx",
    ".dbf",
    ".prj",
    ".cpg",
    ".qpj",
    ".geojson",
    ".json",
    ".gpkg",
}
_POLYGON_TYPES = {"Polygon", "MultiPolygon", "Polygon Z", "MultiPolygon Z", "CurvePolygon"}
_CHUNK = 1024 * 1024
_GEOJSON_TYPES = {
    "FeatureCollection",
    "Feature",
    "GeometryCollection",
    "Polygon",
    "MultiPolygon",
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
}


def read_vector(
    source: str | os.PathLike | bytes,
    name: str | None = None,
    *,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a boundary file as it is (no reprojection, no repair).

    Parameters
    ----------
    source : str, path-like or bytes
        A ``.shp`` (its ``.shx``/``.dbf``/``.prj`` beside it), ``.zip`` (a zipped shapefile, or one
        ``.geojson``/``.gpkg``), ``.geojson``/``.json`` or ``.gpkg`` file; or the bytes of one
        (an upload), whose type is found from the magic bytes, then from ``name``.
    name : str, optional
        The file name shown in messages; for bytes also the extension hint.
    layer : str, optional
        GeoPackage layer, or the shapefile inside a zip (by stem), to read; default the first
        polygon layer.

    Returns
    -------
    geopandas.GeoDataFrame
        The features with the file's CRS (``None`` when the file states none).

    Raises
    ------
    geo.errors.BoundaryReadError
        Missing/empty/oversized file, unsafe or broken zip, missing shapefile sidecar, unreadable
        data, no features.
    """
    with tempfile.TemporaryDirectory(prefix="geo-vector-") as tmp:
        tmpdir = Path(tmp)
        if isinstance(source, bytes | bytearray | memoryview):
            label = name or "upload"
            path = _bytes_to_file(bytes(source), label, tmpdir)
        else:
            path = Path(source)
            label = name or path.name
            if not path.exists():
                raise BoundaryReadError(f"{label}: file not found")
            if not path.is_file():
                raise BoundaryReadError(f"{label} is not a file")
            size = path.stat().st_size
            if size == 0:
                raise BoundaryReadError(f"{label} is empty")
            if size > MAX_VECTOR_BYTES:
                raise BoundaryReadError(_too_large(label, size))
        suffix = path.suffix.lower()
        if suffix == ".zip" or (suffix not in VECTOR_SUFFIXES and zipfile.is_zipfile(path)):
            path = _pick_in_zip(_extract_zip(path, label, tmpdir / "unzipped"), label, layer)
            label = f"{label}:{path.name}"
        return _read_path(path, label, layer)


def _bytes_to_file(data: bytes, label: str, tmpdir: Path) -> Path:
    """Write uploaded bytes to a temporary file named by their detected type."""
    if not data:
        raise BoundaryReadError(f"{label} is empty")
    if len(data) > MAX_VECTOR_BYTES:
        raise BoundaryReadError(_too_large(label, len(data)))
    hint = PurePosixPath(label).suffix.lower()
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        suffix = ".zip"
    elif data[:16] == b"SQLite format 3\x00":
        suffix = ".gpkg"
    elif data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        suffix = ".geojson"
    elif hint == ".shp" or data[:4] == b"\x00\x00\x27\x0a":
        raise BoundaryReadError(
            f"{label}: a shapefile needs its .shx, .dbf and .prj — upload them together as one .zip"
        )
    elif hint in VECTOR_SUFFIXES:
        suffix = hint
    else:
        raise BoundaryReadError(
            f"{label}: not a boundary file (expected .zip, .shp, .geojson, .json or .gpkg)"
        )
    path = tmpdir / f"upload{suffix}"
    path.write_bytes(data)
    return path


def _bad_entry_name(filename: str) -> bool:
    """True for names that would land outside the extraction folder."""
    name = filename.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return True
    return ".." in PurePosixPath(name).parts


def _extract_zip(path: Path, label: str, dest: Path) -> list[Path]:
    """Check every entry of a zip, then extract the useful ones under ``dest``."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise BoundaryReadError(f"{label} is not a valid zip file ({err})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise BoundaryReadError(
                f"{label} holds {len(infos)} entries (limit {MAX_ZIP_ENTRIES}) — refusing to unpack"
            )
        total = 0
        for info in infos:
            if _bad_entry_name(info.filename):
                raise BoundaryReadError(
                    f"{label}: entry '{info.filename}' points outside the archive — "
                    "refusing to unpack"
                )
            if stat.S_ISLNK(info.external_attr >> 16):
                raise BoundaryReadError(
                    f"{label}: entry '{info.filename}' is a symbolic link — refusing to unpack"
                )
            if info.flag_bits & 0x1:
                raise BoundaryReadError(f"{label} is password-protected")
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > 1024 * 1024 and ratio > MAX_ZIP_RATIO:
                raise BoundaryReadError(
                    f"{label}: entry '{info.filename}' inflates {ratio:.0f}x "
                    f"(limit {MAX_ZIP_RATIO}x) — looks like a zip bomb, refusing to unpack"
                )
        if total > MAX_ZIP_TOTAL_BYTES:
            raise BoundaryReadError(
                f"{label} would unpack to {total // 2**20} MB "
                f"(limit {MAX_ZIP_TOTAL_BYTES // 2**20} MB) — refusing to unpack"
            )
        dest.mkdir(parents=True)
        root = dest.resolve()
        written, out = 0, []
        for info in infos:
            rel = PurePosixPath(info.filename.replace("\\", "/"))
            if info.is_dir() or "__MACOSX" in rel.parts or rel.name.startswith("._"):
                continue
            if rel.suffix.lower() not in _ZIP_KEEP:
                continue
            target = (root / rel).resolve()
            if not target.is_relative_to(root):  # belt and braces after _bad_entry_name
                raise BoundaryReadError(f"{label}: entry '{info.filename}' escapes the archive")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(target, "wb") as dst:
                    size = 0
                    while chunk := src.read(_CHUNK):
                        size += len(chunk)
                        written += len(chunk)
                        # Headers can lie about sizes; count what really comes out.
                        if size > info.file_size or written > MAX_ZIP_TOTAL_BYTES:
                            raise BoundaryReadError(
                                f"{label}: entry '{info.filename}' inflates beyond its declared "
                                "size — refusing to unpack"
                            )
                        dst.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as err:
                raise BoundaryReadError(f"{label} is a damaged zip file ({err})") from None
            except NotImplementedError:
                raise BoundaryReadError(
                    f"{label} uses an unsupported zip compression method"
                ) from None
            out.append(target)
    return out


def _pick_in_zip(files: list[Path], label: str, layer: str | None) -> Path:
    """Choose the dataset inside an unpacked zip: a shapefile first, else GeoJSON/GeoPackage."""
    shps = sorted(p for p in files if p.suffix.lower() == ".shp")
    if layer is not None:
        named = [p for p in shps if p.stem == layer]
        if named:
            return named[0]
    if len(shps) == 1:
        return shps[0]
    if len(shps) > 1:
        polys = [p for p in shps if _layer_geometry_type(p) in _POLYGON_TYPES]
        if len(polys) == 1:
            return polys[0]
        names = ", ".join(p.name for p in (polys or shps))
        raise BoundaryReadError(
            f"{label} holds several shapefiles ({names}) — choose one as layer or zip only one"
        )
    others = sorted(p for p in files if p.suffix.lower() in {".geojson", ".json", ".gpkg"})
    if not others:
        raise BoundaryReadError(f"{label} holds no .shp, .geojson or .gpkg file")
    return others[0]


def _layer_geometry_type(path: Path) -> str | None:
    try:
        return pyogrio.read_info(_gdal_source(path, path.name))["geometry_type"]
    except Exception:  # an unreadable candidate is simply not chosen
        return None


def _sidecar(path: Path, suffix: str) -> Path | None:
    """The sidecar of a shapefile with any case of extension (.DBF from Windows tools)."""
    for cand in path.parent.iterdir():
        if cand.stem == path.stem and cand.suffix.lower() == suffix:
            return cand
    return None


def _read_path(path: Path, label: str, layer: str | None) -> gpd.GeoDataFrame:
    """Read a checked file with the one driver its name and magic bytes allow."""
    source = _gdal_source(path, label)
    kwargs: dict = {}
    if path.suffix.lower() == ".gpkg":
        kwargs["layer"] = _pick_gpkg_layer(source, label, layer)
    with _gdal_messages() as messages:
        try:
            gdf = pyogrio.read_dataframe(source, **kwargs)
        except BoundaryReadError:
            raise
        except RecursionError:
            raise BoundaryReadError(
                f"{label}：文件嵌套过深，无法读取", code="boundary.too_deep"
            ) from None
        except Exception as err:  # pyogrio/GDAL raise many types; the user needs one line
            raise BoundaryReadError(
                f"could not read {label}: {_first_line(err)}", code="boundary.unreadable"
            ) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        raise BoundaryReadError(f"{label} has no geometry column")
    if len(gdf) == 0:
        raise BoundaryReadError(f"{label} has no features")
    gdf.attrs["read_warnings"] = messages
    return gdf


def _gdal_source(path: Path, label: str) -> str:
    """The GDAL name of a checked file: ``DRIVER:path`` pins the driver where GDAL allows it.

    GDAL opens files by content, whatever their name; a VRT (a list of other files and URLs
    to read) named ``.gpkg`` would otherwise be opened as a VRT. Every file is checked here
    against the magic bytes of the format its name claims.
    """
    suffix = path.suffix.lower()
    if suffix == ".shp":
        _check_shapefile(path, label)
        return str(path)  # the shapefile driver takes no prefix; the magic bytes were checked
    if suffix == ".gpkg":
        _check_gpkg(path, label)
        return f"GPKG:{path}"
    if suffix in (".geojson", ".json"):
        _check_json(path, label)
        return f"GeoJSON:{path}"
    raise BoundaryReadError(
        f"{label}: not a boundary file (expected .zip, .shp, .geojson, .json or .gpkg)",
        code="boundary.format",
    )


_SHP_MAGIC = b"\x00\x00\x27\x0a"
# dBase versions written by GIS tools: III, III with memo, IV with memo, FoxPro, Visual FoxPro.
_DBF_VERSIONS = {0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43, 0x63, 0x83, 0x8B, 0xCB, 0xF5, 0xFB}


def _check_shapefile(path: Path, label: str) -> None:
    """The .shp, .shx and .dbf exist and start as their formats do."""
    for side, what in ((".shx", "index"), (".dbf", "attribute table")):
        if _sidecar(path, side) is None:
            raise BoundaryReadError(
                f"{label}: shapefile is missing its {side} ({what}) — "
                "provide .shp, .shx, .dbf and .prj together",
                code="boundary.shapefile_sidecar",
            )
    for part in (path, _sidecar(path, ".shx")):
        if _head(part, 4) != _SHP_MAGIC:
            raise BoundaryReadError(
                f"{label}：{part.name} 不是 shapefile 文件（文件头不符）", code="boundary.driver"
            )
    head = _head(_sidecar(path, ".dbf"), 1)
    if not head or head[0] not in _DBF_VERSIONS:
        raise BoundaryReadError(
            f"{label}：属性表 .dbf 不是 dBase 文件（文件头不符）", code="boundary.driver"
        )


def _head(path: Path, n: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


# GeoPackage application ids: "GPKG" (1.2+), "GP10", "GP11" (1.0, 1.1).
_GPKG_APPLICATION_IDS = {0x47504B47, 0x47503130, 0x47503131}
# Triggers that GDAL, QGIS and ArcGIS write into every GeoPackage (spatial index, counts,
# tile-matrix checks); they fire on writes only, and the file is opened read-only.
_GPKG_TRIGGER = re.compile(
    r"^(?:rtree_.+_(?:insert\d?|update\d|delete)|trigger_(?:insert|delete)_feature_count_.+"
    r"|gpkg_.+|fgti_.+|fgdi_.+)$"
)


# A virtual table other than the R-tree spatial index (VirtualOGR and friends open other files).
_FOREIGN_VIRTUAL_TABLE = re.compile(
    r"\s*CREATE\s+VIRTUAL\s+TABLE(?!.*\bUSING\s+rtree\s*\()", re.I | re.S
)


def _check_gpkg(path: Path, label: str) -> None:
    """A real GeoPackage of plain tables: no views (SQL layers), no foreign virtual tables,
    no triggers beyond the standard ones. Checked with SQLite itself, read-only, before GDAL
    sees the file."""
    if _head(path, 16) != b"SQLite format 3\x00":
        raise BoundaryReadError(
            f"{label}：不是 GeoPackage 文件（文件头不符）", code="boundary.driver"
        )
    uri = f"file:{quote(str(path))}?mode=ro&immutable=1"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            schema = conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
    except sqlite3.DatabaseError:
        raise BoundaryReadError(
            f"{label}：GeoPackage 文件已损坏，无法读取", code="boundary.unreadable"
        ) from None
    if app_id not in _GPKG_APPLICATION_IDS:
        raise BoundaryReadError(
            f"{label}：是 SQLite 数据库，但不是 GeoPackage", code="boundary.driver"
        )
    for kind, name, sql in schema:
        if kind == "view":
            raise BoundaryReadError(
                f"{label}：GeoPackage 含有视图（SQL 图层 {sample_value(name)}），出于安全不予读取；"
                "请在 GIS 软件中将图层另存为普通要素表后再上传",
                code="boundary.gpkg_sql",
            )
        if kind == "trigger" and not _GPKG_TRIGGER.match(name or ""):
            raise BoundaryReadError(
                f"{label}：GeoPackage 含有非标准触发器（{sample_value(name)}），出于安全不予读取",
                code="boundary.gpkg_sql",
            )
        if kind == "table" and _FOREIGN_VIRTUAL_TABLE.match(sql or ""):
            raise BoundaryReadError(
                f"{label}：GeoPackage 含有外部虚拟表（{sample_value(name)}），出于安全不予读取",
                code="boundary.gpkg_sql",
            )


def _check_json(path: Path, label: str) -> None:
    """Reject JSON that is not GeoJSON before GDAL gives a cryptic message."""
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except RecursionError:
        raise BoundaryReadError(
            f"{label}：JSON 嵌套过深（超过 Python 的解析深度），不是正常的边界文件",
            code="boundary.too_deep",
        ) from None
    except (UnicodeDecodeError, ValueError) as err:
        raise BoundaryReadError(f"{label} is not valid JSON ({_first_line(err)})") from None
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind not in _GEOJSON_TYPES:
        raise BoundaryReadError(f"{label} is JSON but not GeoJSON (no FeatureCollection)")
    if kind == "FeatureCollection" and not doc.get("features"):
        raise BoundaryReadError(f"{label} has no features")


def _pick_gpkg_layer(source: str, label: str, layer: str | None) -> str:
    try:
        layers = pyogrio.list_layers(source)
    except Exception as err:
        raise BoundaryReadError(f"could not read {label}: {_first_line(err)}") from None
    names = [str(n) for n, _ in layers]
    shown = ", ".join(sample_value(n) for n in names[:20]) or "none"
    if layer is not None:
        if layer not in names:
            raise BoundaryReadError(
                f"{label} has no layer '{sample_value(layer)}' (layers: {shown})"
            )
        return layer
    for n, gtype in layers:
        if gtype in _POLYGON_TYPES:
            return str(n)
    raise BoundaryReadError(f"{label} has no polygon layer (layers: {shown})")


@contextlib.contextmanager
def _gdal_messages():
    """Collect GDAL's warnings (Python warnings and log records from pyogrio) instead of letting
    them reach stderr; yields the list the caller keeps in its report."""
    messages: list[str] = []
    handler = _ListHandler(messages)
    logger = logging.getLogger("pyogrio")
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield messages
        messages.extend(sample_value(str(w.message), 200) for w in caught)
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__(logging.DEBUG)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self._sink.append(sample_value(record.getMessage(), 200))


def sample_value(value: object, limit: int = 40) -> str:
    """A bounded, single-line, printable sample of text taken from a file (for reports: the
    content of an unrecognised field is never echoed whole)."""
    text = "".join(c if c.isprintable() else " " for c in str(value)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _too_large(label: str, size: int) -> str:
    return f"{label} is too large ({size // 2**20} MB; limit {MAX_VECTOR_BYTES // 2**20} MB)"


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__
