"""What a map picture (PNG) is: its size presets and the words printed on it or kept beside it.

A picture for a report or a WeChat post carries one short Chinese source line
(:func:`source_line`); the full data sources and licences travel in a text file beside it and
in the PNG's metadata (:func:`sources_text`). The presets (A4 portrait and landscape at 300 dpi,
a 16:9 slide, 1080×1440 for WeChat) and the wording come from ``data/config/png_presets.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from geo import paths
from geo.display import APPROXIMATE_NOTE, NO_TOWNSHIPS_NOTE
from geo.errors import ExportError
from geo.view import MapView, filter_summary

__all__ = [
    "PRESETS_PATH",
    "PngPreset",
    "png_preset",
    "png_presets",
    "source_line",
    "sources_path",
    "sources_text",
]

#: Presets and the short source line's wording (configuration, not code).
PRESETS_PATH = paths.config_dir() / "png_presets.json"


@dataclass(frozen=True)
class PngPreset:
    """One PNG size a planner can pick.

    Attributes
    ----------
    key : str
        Identifier (``wechat``, ``a4``, ``a4-landscape``, ``slide``): CLI ``--preset``.
    label_zh : str
        Menu name.
    file_zh : str
        Added to the file name of the app's download.
    size : (int, int)
        Width and height in pixels.
    dpi : int
        Pixels per inch written into the PNG (A4 prints at its size at 300 dpi).
    scale : float
        Picture pixels per CSS pixel of the browser snapshot (text grows with it).
    """

    key: str
    label_zh: str
    file_zh: str
    size: tuple[int, int]
    dpi: int
    scale: float


@lru_cache(maxsize=2)
def _config(path: str) -> dict:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ExportError(f"无法读取图片尺寸配置 {path}：{err}", code="export.size_config") from err
    return doc


def png_presets(path: str | Path | None = None) -> dict[str, PngPreset]:
    """The PNG presets in menu order, by key.

    Returns
    -------
    dict of str to PngPreset
    """
    doc = _config(str(path or PRESETS_PATH))
    return {
        p["key"]: PngPreset(
            key=p["key"],
            label_zh=p["label_zh"],
            file_zh=p["file_zh"],
            size=(int(p["size"][0]), int(p["size"][1])),
            dpi=int(p["dpi"]),
            scale=float(p["scale"]),
        )
        for p in doc["presets"]
    }


def png_preset(key: str) -> PngPreset:
    """The preset called ``key``.

    Raises
    ------
    ExportError
        An unknown key (the message lists the known ones).
    """
    presets = png_presets()
    if key not in presets:
        raise ExportError(f"未知的图片尺寸 {key!r}：可选 {'、'.join(presets)}", code="export.size")
    return presets[key]


def _boundary_kind(view: MapView) -> str:
    if not view.has_polygons:
        return "none"
    if view.approximate:
        return "approximate"
    official = any(a.startswith("乡镇边界：") and "官方边界" in a for a in view.attribution)
    return "official" if official else "user"


def source_line(view: MapView) -> str:
    """The one short Chinese source line printed on a picture.

    ``数据：县政府工作简报；乡镇边界：示意范围，非官方边界；行政区划：…（CC BY 4.0）；底图：无``,
    with the OpenStreetMap credit when an outline comes from it (ODbL). Pictures are drawn
    without a base map.

    Returns
    -------
    str
    """
    cfg = _config(str(PRESETS_PATH))
    lines = list(view.attribution)
    sample = any(a.startswith("示例简报") for a in lines)
    odbl = any("ODbL" in a or "OpenStreetMap" in a for a in lines)
    return cfg["source_line"].format(
        bulletins=cfg["bulletins_sample" if sample else "bulletins"],
        boundaries=cfg["boundaries"][_boundary_kind(view)],
        outline=cfg["outline_odbl"] if odbl else "",
        basemap=cfg["basemap_none"],
    )


def sources_text(view: MapView) -> str:
    """The full sources and licences of a picture, for the text file beside it.

    Returns
    -------
    str
        The title, the filters, the boundary caveat, every attribution line, the date.
    """
    lines = [view.title, filter_summary(view), f"制图日期：{view.created}", ""]
    if not view.has_polygons:
        lines.append(NO_TOWNSHIPS_NOTE)
    elif view.approximate:
        lines.append(APPROXIMATE_NOTE + "；事项位置为乡镇/村内示意点")
    lines.append("数据来源与许可：")
    lines += [f"- {a}" for a in view.attribution]
    if view.sources:
        lines.append(f"- {view.sources}")
    lines.append(f"- 图上简注：{source_line(view)}")
    return "\n".join(lines) + "\n"


def sources_path(picture: str | Path) -> Path:
    """Where the sources of ``picture`` are written: ``<stem>_数据来源.txt`` beside it."""
    p = Path(picture)
    return p.with_name(f"{p.stem}_数据来源.txt")
