"""Read boundary (vector) files into GeoDataFrames: shapefile, zip, GeoJSON, GeoPackage.

Uploads are untrusted: a zip is checked entry by entry (path traversal, symlinks, entry count,
total size, compression ratio) before anything is written, and extraction stops as soon as the
bytes actually inflated exceed what the archive declared. Every failure is a
:class:`~geo.errors.BoundaryReadError` with one line for the user. Reprojection, repair and
joining are :mod:`geo.boundaries`' job; this module returns what the file holds, CRS included
(``None`` when a shapefile has no ``.prj``).
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pyogrio

from geo.errors import BoundaryReadError

__all__ = [
    "MAX_VECTOR_BYTES",
    "MAX_ZIP_ENTRIES",
    "MAX_ZIP_RATIO",
    "MAX_ZIP_TOTAL_BYTES",
    "VECTOR_SUFFIXES",
    "read_vector",
]

#: Largest boundary file (or zip) accepted, in bytes.
MAX_VECTOR_BYTES = 200 * 1024 * 1024
#: Most entries a zip may hold (a shapefile needs 3 to 8).
MAX_ZIP_ENTRIES = 200
#: Largest total uncompressed size of a zip's entries, in bytes.
MAX_ZIP_TOTAL_BYTES = 500 * 1024 * 1024
#: Largest compression ratio of one entry; shapefiles and GeoJSON compress 3-20x, bombs 1000x+.
MAX_ZIP_RATIO = 100
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
        return pyogrio.read_info(path)["geometry_type"]
    except Exception:  # an unreadable candidate is simply not chosen
        return None


def _sidecar(path: Path, suffix: str) -> Path | None:
    """The sidecar of a shapefile with any case of extension (.DBF from Windows tools)."""
    for cand in path.parent.iterdir():
        if cand.stem == path.stem and cand.suffix.lower() == suffix:
            return cand
    return None


def _read_path(path: Path, label: str, layer: str | None) -> gpd.GeoDataFrame:
    suffix = path.suffix.lower()
    kwargs: dict = {}
    if suffix == ".shp":
        for side, what in ((".shx", "index"), (".dbf", "attribute table")):
            if _sidecar(path, side) is None:
                raise BoundaryReadError(
                    f"{label}: shapefile is missing its {side} ({what}) — "
                    "provide .shp, .shx, .dbf and .prj together"
                )
    elif suffix == ".gpkg":
        kwargs["layer"] = _pick_gpkg_layer(path, label, layer)
    elif suffix in (".geojson", ".json"):
        _check_json(path, label)
    elif suffix not in VECTOR_SUFFIXES:
        raise BoundaryReadError(
            f"{label}: not a boundary file (expected .zip, .shp, .geojson, .json or .gpkg)"
        )
    try:
        gdf = gpd.read_file(path, engine="pyogrio", **kwargs)
    except BoundaryReadError:
        raise
    except Exception as err:  # pyogrio/GDAL raise many types; the user needs one line
        raise BoundaryReadError(f"could not read {label}: {_first_line(err)}") from None
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        raise BoundaryReadError(f"{label} has no geometry column")
    if len(gdf) == 0:
        raise BoundaryReadError(f"{label} has no features")
    return gdf


def _check_json(path: Path, label: str) -> None:
    """Reject JSON that is not GeoJSON before GDAL gives a cryptic message."""
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as err:
        raise BoundaryReadError(f"{label} is not valid JSON ({_first_line(err)})") from None
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind not in _GEOJSON_TYPES:
        raise BoundaryReadError(f"{label} is JSON but not GeoJSON (no FeatureCollection)")
    if kind == "FeatureCollection" and not doc.get("features"):
        raise BoundaryReadError(f"{label} has no features")


def _pick_gpkg_layer(path: Path, label: str, layer: str | None) -> str:
    try:
        layers = pyogrio.list_layers(path)
    except Exception as err:
        raise BoundaryReadError(f"could not read {label}: {_first_line(err)}") from None
    names = [str(n) for n, _ in layers]
    if layer is not None:
        if layer not in names:
            raise BoundaryReadError(
                f"{label} has no layer '{layer}' (layers: {', '.join(names) or 'none'})"
            )
        return layer
    for n, gtype in layers:
        if gtype in _POLYGON_TYPES:
            return str(n)
    raise BoundaryReadError(f"{label} has no polygon layer (layers: {', '.join(names) or 'none'})")


def _too_large(label: str, size: int) -> str:
    return f"{label} is too large ({size // 2**20} MB; limit {MAX_VECTOR_BYTES // 2**20} MB)"


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__
