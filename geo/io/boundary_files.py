"""Read boundary (vector) files into GeoDataFrames: shapefile, zip, GeoJSON, Esri JSON,
GeoPackage, KML.

Uploads are untrusted: a zip is checked entry by entry (path traversal, symlinks, entry count,
total size, compression ratio) before anything is written, and extraction stops as soon as the
bytes actually inflated exceed what the archive declared. Every failure is a
:class:`~geo.errors.BoundaryReadError` with one line for the user. Reprojection, repair and
joining are :mod:`geo.boundaries`' job; this module returns what the file holds, CRS included
(``None`` when a shapefile has no ``.prj``).

Each format is opened by one allow-listed GDAL driver after a content check: ``GPKG:``,
``GeoJSON:`` and ``ESRIJSON:`` pin the driver by prefix; the shapefile and KML drivers take no
prefix, so their magic bytes / root element are checked and, for KML, the driver GDAL chose is
verified to be ``KML`` before a feature is read (LIBKML, GML and VRT are never registered). A
shapefile ``.dbf`` without ``.cpg`` has its text encoding detected (UTF-8 or GB18030/GBK) and
reported in ``gdf.attrs["encoding"]``; the caller may override it.
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
    "ENCODINGS",
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
#: File types read_vector understands (.json is GeoJSON or Esri JSON, told by content).
VECTOR_SUFFIXES = (".shp", ".zip", ".geojson", ".json", ".esrijson", ".gpkg", ".kml")
#: Text encodings a .dbf may be read with (GBK files read fine as GB18030, its superset).
ENCODINGS = ("UTF-8", "GB18030", "GBK", "CP936", "BIG5", "ISO-8859-1")
# At most this much of a .dbf is sampled to detect its encoding.
_DBF_SAMPLE_BYTES = 4 * 1024 * 1024

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
    ".esrijson",
    ".gpkg",
    ".kml",
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
    encoding: str | None = None,
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
    encoding : str, optional
        Text encoding of a shapefile's ``.dbf`` (one of :data:`ENCODINGS`); default: its
        ``.cpg``, else detected.

    Returns
    -------
    geopandas.GeoDataFrame
        The features with the file's CRS (``None`` when the file states none);
        ``gdf.attrs["encoding"]`` says how a shapefile's text was decoded
        (``{"encoding": …, "how": "cpg" | "given" | "detected" | "ascii"}``).

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
                raise BoundaryReadError(f"找不到文件 {label}：请检查路径", code="boundary.missing")
            if not path.is_file():
                raise BoundaryReadError(
                    f"{label} 不是文件：请给出边界文件", code="boundary.missing"
                )
            size = path.stat().st_size
            if size == 0:
                raise BoundaryReadError(_empty(label), code="boundary.empty")
            if size > MAX_VECTOR_BYTES:
                raise BoundaryReadError(_too_large(label, size), code="boundary.too_large")
        suffix = path.suffix.lower()
        if suffix == ".zip" or (suffix not in VECTOR_SUFFIXES and zipfile.is_zipfile(path)):
            path = _pick_in_zip(_extract_zip(path, label, tmpdir / "unzipped"), label, layer)
            label = f"{label}:{path.name}"
        return _read_path(path, label, layer, encoding)


def _bytes_to_file(data: bytes, label: str, tmpdir: Path) -> Path:
    """Write uploaded bytes to a temporary file named by their detected type."""
    if not data:
        raise BoundaryReadError(_empty(label), code="boundary.empty")
    if len(data) > MAX_VECTOR_BYTES:
        raise BoundaryReadError(_too_large(label, len(data)), code="boundary.too_large")
    hint = PurePosixPath(label).suffix.lower()
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        suffix = ".zip"
    elif data[:16] == b"SQLite format 3\x00":
        suffix = ".gpkg"
    elif data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        suffix = ".json"  # GeoJSON or Esri JSON: the content decides
    elif data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<" and (
        hint == ".kml" or b"<kml" in data[:4096]
    ):
        suffix = ".kml"
    elif hint == ".shp" or data[:4] == b"\x00\x00\x27\x0a":
        raise BoundaryReadError(
            f"{label}：shapefile 还需要同名的 .shx、.dbf 和 .prj，请把它们一起打包成一个 .zip 上传",
            code="boundary.shapefile_sidecar",
        )
    elif hint in VECTOR_SUFFIXES:
        suffix = hint
    else:
        raise BoundaryReadError(
            f"{label}：不是边界文件（应为 .zip、.shp、.geojson、.json、.gpkg 或 .kml）",
            code="boundary.format",
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
        raise BoundaryReadError(
            f"{label} 不是有效的 zip 文件（{err}）：请重新打包", code="boundary.zip"
        ) from None
    with zf:
        infos = zf.infolist()
        _check_zip_entries(infos, label)
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
                raise BoundaryReadError(
                    f"{label}：其中的 '{info.filename}' 指向压缩包之外，不予解压",
                    code="boundary.zip",
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            written = _extract_entry(zf, info, target, label=label, written=written)
            out.append(target)
    return out


def _check_zip_entries(infos: list[zipfile.ZipInfo], label: str) -> None:
    """Refuse a zip before anything is extracted: too many entries, a name or link pointing
    outside it, a password, a compression ratio or a total size of a zip bomb."""
    if len(infos) > MAX_ZIP_ENTRIES:
        raise BoundaryReadError(
            f"{label} 含 {len(infos)} 个文件（上限 {MAX_ZIP_ENTRIES}），"
            "不予解压：只打包一套边界文件",
            code="boundary.zip",
        )
    total = 0
    for info in infos:
        if _bad_entry_name(info.filename):
            raise BoundaryReadError(
                f"{label}：其中的 '{info.filename}' 指向压缩包之外，不予解压：请重新打包",
                code="boundary.zip",
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise BoundaryReadError(
                f"{label}：其中的 '{info.filename}' 是符号链接，不予解压：请重新打包",
                code="boundary.zip",
            )
        if info.flag_bits & 0x1:
            raise BoundaryReadError(
                f"{label} 设有密码：请去掉密码后重新打包上传", code="boundary.encrypted"
            )
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and ratio > MAX_ZIP_RATIO:
            raise BoundaryReadError(
                f"{label}：其中的 '{info.filename}' 压缩比 {ratio:.0f} 倍"
                f"（上限 {MAX_ZIP_RATIO} 倍），疑似压缩炸弹，不予解压：请检查文件来源",
                code="boundary.zip",
            )
    if total > MAX_ZIP_TOTAL_BYTES:
        raise BoundaryReadError(
            f"{label} 解压后达 {total // 2**20} MB"
            f"（上限 {MAX_ZIP_TOTAL_BYTES // 2**20} MB），不予解压：只打包一套边界文件",
            code="boundary.zip",
        )


def _extract_entry(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, *, label: str, written: int
) -> int:
    """Write one checked entry to ``target``, counting what really comes out (headers can lie
    about sizes); returns the bytes written from the zip so far."""
    try:
        with zf.open(info) as src, open(target, "wb") as dst:
            size = 0
            while chunk := src.read(_CHUNK):
                size += len(chunk)
                written += len(chunk)
                if size > info.file_size or written > MAX_ZIP_TOTAL_BYTES:
                    raise BoundaryReadError(
                        f"{label}：其中的 '{info.filename}' 解压后超过声明的大小，"
                        "不予解压：请检查文件来源",
                        code="boundary.zip",
                    )
                dst.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as err:
        raise BoundaryReadError(
            f"{label} 是损坏的 zip 文件（{err}）：请重新打包", code="boundary.zip"
        ) from None
    except NotImplementedError:
        raise BoundaryReadError(
            f"{label} 使用了不支持的 zip 压缩方式：请用普通 zip（deflate）重新打包",
            code="boundary.zip",
        ) from None
    return written


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
            f"{label} 含多个 shapefile（{names}）：请只打包一个，或指定图层",
            code="boundary.several_layers",
        )
    kinds = {".geojson", ".json", ".esrijson", ".gpkg", ".kml"}
    others = sorted(p for p in files if p.suffix.lower() in kinds)
    if not others:
        raise BoundaryReadError(
            f"{label} 中没有 .shp、.geojson、.json、.gpkg 或 .kml 文件：请检查压缩包内容",
            code="boundary.format",
        )
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


def _read_path(
    path: Path, label: str, layer: str | None, encoding: str | None = None
) -> gpd.GeoDataFrame:
    """Read a checked file with the one driver its name and content allow."""
    source = _gdal_source(path, label)
    kwargs: dict = {}
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        kwargs["layer"] = _pick_gpkg_layer(source, label, layer)
    text_encoding = _shapefile_encoding(path, label, encoding) if suffix == ".shp" else None
    if text_encoding and text_encoding["how"] in ("given", "detected"):
        kwargs["encoding"] = text_encoding["encoding"]
    with _gdal_messages() as messages:
        try:
            if suffix == ".kml":
                _require_driver(source, "KML", label)
            gdf = pyogrio.read_dataframe(source, **kwargs)
        except BoundaryReadError:
            raise
        except RecursionError:
            raise BoundaryReadError(
                f"{label}：文件嵌套过深，无法读取", code="boundary.too_deep"
            ) from None
        except UnicodeDecodeError:
            raise BoundaryReadError(
                f"{label}：属性表不能按 {kwargs.get('encoding', '默认编码')} 解码——请换一种编码"
                f"（可选：{'、'.join(ENCODINGS)}）",
                code="boundary.encoding",
            ) from None
        except Exception as err:  # pyogrio/GDAL raise many types; the user needs one line
            raise BoundaryReadError(
                f"无法读取 {label}：{_first_line(err)}", code="boundary.unreadable"
            ) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        raise BoundaryReadError(f"{label} 没有几何字段", code="boundary.no_geometry")
    if len(gdf) == 0:
        raise BoundaryReadError(f"{label} 没有要素", code="boundary.empty")
    gdf.attrs["read_warnings"] = messages
    if text_encoding:
        gdf.attrs["encoding"] = text_encoding
    return gdf


def _require_driver(source: str, driver: str, label: str) -> None:
    """GDAL's KML driver takes no ``KML:`` prefix: check which driver GDAL opens the file with
    before any feature is read (the content check made ``KML`` the only one that claims it)."""
    opened = pyogrio.read_info(source).get("driver")
    if opened != driver:
        raise BoundaryReadError(
            f"{label}：GDAL 以 {sample_value(opened)} 驱动识别该文件，只允许 {driver}",
            code="boundary.driver",
        )


def _gdal_source(path: Path, label: str) -> str:
    """The GDAL name of a checked file: ``DRIVER:path`` pins the driver where GDAL allows it.

    GDAL opens files by content, whatever their name; a VRT (a list of other files and URLs
    to read) named ``.gpkg`` would otherwise be opened as a VRT. Every file is checked here
    against the magic bytes or root element of the format its name claims.
    """
    suffix = path.suffix.lower()
    if suffix == ".shp":
        _check_shapefile(path, label)
        return str(path)  # the shapefile driver takes no prefix; the magic bytes were checked
    if suffix == ".gpkg":
        _check_gpkg(path, label)
        return f"GPKG:{path}"
    if suffix in (".geojson", ".json", ".esrijson"):
        kind = _check_json(path, label)
        return f"{kind}:{path}"
    if suffix == ".kml":
        _check_kml(path, label)
        return str(path)  # no KML: prefix in GDAL; _require_driver checks the driver used
    raise BoundaryReadError(
        f"{label}：不是边界文件（应为 .zip、.shp、.geojson、.json、.gpkg 或 .kml）",
        code="boundary.format",
    )


_SHP_MAGIC = b"\x00\x00\x27\x0a"
# dBase versions written by GIS tools: III, III with memo, IV with memo, FoxPro, Visual FoxPro.
_DBF_VERSIONS = {0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43, 0x63, 0x83, 0x8B, 0xCB, 0xF5, 0xFB}


def _check_shapefile(path: Path, label: str) -> None:
    """The .shp, .shx and .dbf exist and start as their formats do."""
    for side, what in ((".shx", "索引"), (".dbf", "属性表")):
        if _sidecar(path, side) is None:
            raise BoundaryReadError(
                f"{label}：shapefile 缺少 {side}（{what}）："
                "请把 .shp、.shx、.dbf 和 .prj 一起打包上传",
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


def _shapefile_encoding(path: Path, label: str, given: str | None) -> dict[str, str]:
    """How the ``.dbf`` text is decoded: the ``.cpg``, the planner's choice, or detected."""
    if given:
        name = given.strip().upper().replace("_", "-")
        if name not in ENCODINGS:
            raise BoundaryReadError(
                f"不支持的编码“{sample_value(given)}”（可选：{'、'.join(ENCODINGS)}）",
                code="boundary.encoding",
            )
        return {"encoding": name, "how": "given"}
    cpg = _sidecar(path, ".cpg")
    if cpg is not None:
        declared = _head(cpg, 64).decode("ascii", "replace").strip()
        return {"encoding": sample_value(declared) or "?", "how": "cpg"}
    return _detect_dbf_encoding(_sidecar(path, ".dbf"))


def _dbf_text_bytes(dbf: Path) -> list[bytes]:
    """The non-ASCII character-field values of (the first few MB of) a dBase table."""
    with open(dbf, "rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            return []
        header_len = int.from_bytes(head[8:10], "little")
        record_len = int.from_bytes(head[10:12], "little")
        descriptors = fh.read(max(header_len - 32, 0))
        body = fh.read(_DBF_SAMPLE_BYTES)
    fields, offset = [], 1  # each record starts with a deletion flag
    for i in range(0, len(descriptors) - 31, 32):
        if descriptors[i] == 0x0D:
            break
        kind, length = chr(descriptors[i + 11]), descriptors[i + 16]
        if kind == "C":
            fields.append((offset, length))
        offset += length
    values = []
    for start in range(0, len(body) - record_len + 1, max(record_len, 1)):
        record = body[start : start + record_len]
        for off, length in fields:
            value = record[off : off + length].rstrip(b" \x00")
            if any(b > 0x7F for b in value):
                values.append(value)
    return values


def _detect_dbf_encoding(dbf: Path | None) -> dict[str, str]:
    """UTF-8 when every non-ASCII value decodes as UTF-8, else GB18030 (GBK's superset, what
    ArcGIS/SuperMap desktops in China write) when they decode as that."""
    values = _dbf_text_bytes(dbf) if dbf is not None else []
    if not values:
        return {"encoding": "UTF-8", "how": "ascii"}
    for name, codec in (("UTF-8", "utf-8"), ("GB18030", "gb18030")):
        try:
            for v in values:
                v.decode(codec)
        except UnicodeDecodeError:
            continue
        return {"encoding": name, "how": "detected"}
    return {"encoding": "ISO-8859-1", "how": "detected"}


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


def _check_json(path: Path, label: str) -> str:
    """``"GeoJSON"`` or ``"ESRIJSON"`` (ArcGIS REST ``f=json``) by the document's keys; other
    JSON is refused before GDAL gives a cryptic message."""
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except RecursionError:
        raise BoundaryReadError(
            f"{label}：JSON 嵌套过深（超过 Python 的解析深度），不是正常的边界文件",
            code="boundary.too_deep",
        ) from None
    except (UnicodeDecodeError, ValueError) as err:
        raise BoundaryReadError(
            f"{label} 不是有效的 JSON（{_first_line(err)}）", code="boundary.format"
        ) from None
    if not isinstance(doc, dict):
        raise BoundaryReadError(
            f"{label} 是 JSON，但不是 GeoJSON 或 Esri JSON", code="boundary.format"
        )
    kind = doc.get("type")
    if kind in _GEOJSON_TYPES:
        if kind == "FeatureCollection" and not doc.get("features"):
            raise BoundaryReadError(f"{label} 没有要素", code="boundary.empty")
        return "GeoJSON"
    esri = isinstance(doc.get("features"), list) and any(
        k in doc for k in ("geometryType", "spatialReference", "fields")
    )
    if esri:
        if not doc["features"]:
            raise BoundaryReadError(f"{label} 没有要素", code="boundary.empty")
        return "ESRIJSON"
    raise BoundaryReadError(
        f"{label} 是 JSON，但不是 GeoJSON（FeatureCollection）"
        "或 Esri JSON（features + geometryType）",
        code="boundary.format",
    )


_XML_PROLOGUE = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*", re.S)


def _check_kml(path: Path, label: str) -> None:
    """A KML document: the first element is ``<kml>``; no DTD or entities (expansion bombs,
    external entities) and no network links (read only by LIBKML, refused all the same)."""
    data = path.read_bytes()
    lowered = data.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise BoundaryReadError(
            f"{label}：KML 含有 DTD/实体声明，出于安全不予读取", code="boundary.kml_dtd"
        )
    if b"networklink" in lowered:
        raise BoundaryReadError(
            f"{label}：KML 含有网络链接（NetworkLink），出于安全不予读取；请导出为普通 KML",
            code="boundary.kml_link",
        )
    head = data[_XML_PROLOGUE.match(data).end() :][:64]
    if not re.match(rb"<(?:\w+:)?kml[\s>]", head):
        raise BoundaryReadError(
            f"{label}：不是 KML 文件（根元素不是 <kml>）", code="boundary.driver"
        )


def _pick_gpkg_layer(source: str, label: str, layer: str | None) -> str:
    try:
        layers = pyogrio.list_layers(source)
    except Exception as err:
        raise BoundaryReadError(
            f"无法读取 {label}（{_first_line(err)}）：请检查文件是否完整",
            code="boundary.unreadable",
        ) from None
    names = [str(n) for n, _ in layers]
    shown = "、".join(sample_value(n) for n in names[:20]) or "无"
    if layer is not None:
        if layer not in names:
            raise BoundaryReadError(
                f"{label} 中没有图层“{sample_value(layer)}”（现有图层：{shown}）：请选其中一个",
                code="boundary.layer",
            )
        return layer
    for n, gtype in layers:
        if gtype in _POLYGON_TYPES:
            return str(n)
    raise BoundaryReadError(
        f"{label} 中没有面图层（现有图层：{shown}）：乡镇边界须为多边形",
        code="boundary.no_polygons",
    )


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
    limit = MAX_VECTOR_BYTES // 2**20
    return f"{label} 太大（{size // 2**20} MB，上限 {limit} MB）：请只上传本县的乡镇边界"


def _empty(label: str) -> str:
    return f"{label} 是空文件：请检查是否选对了文件"


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__
