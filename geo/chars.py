"""Character folding for Chinese text: traditional to simplified, pinyin glosses blanked.

Bulletins and their web copies mix simplified and traditional characters, and some mirror sites
print a pinyin reading after characters. The text stage reads a same-length folded copy, so that
offsets found in it index the original text. Kept apart from the gazetteer so that the text
stage loads no table library.
"""

from __future__ import annotations

import functools
import re

import zhconv

__all__ = ["mask_pinyin_glosses", "simplify_chars", "to_simplified"]


def to_simplified(text: str) -> str:
    """``text`` in simplified characters (bulletins and web copies mix both)."""
    return zhconv.convert(text, "zh-cn") if text else text


@functools.lru_cache(maxsize=1)
def _char_table() -> tuple[dict[int, str], frozenset[str]]:
    from zhconv import zhconv as _zc

    table = _zc.getdict("zh-cn")
    single = {k: v for k, v in table.items() if len(k) == 1 and len(v) == 1 and k != v}
    return {ord(k): v for k, v in single.items()}, frozenset(single)


def simplify_chars(text: str) -> str:
    """``text`` with traditional characters replaced one for one by simplified ones.

    Unlike :func:`to_simplified` the result has the same length, so offsets found in it
    index the original text (億→亿, 萬→万, 畝→亩, 項→项).

    Examples
    --------
    >>> simplify_chars("總投資5.5億元")
    '总投资5.5亿元'
    """
    if not text:
        return text
    table, chars = _char_table()
    return text if chars.isdisjoint(text) else text.translate(table)


# A pinyin reading in brackets after a character: 鄉(xiāng), 發(fā) in mirrored web copies.
_PINYIN_GLOSS_RE = re.compile(
    r"(?<=[\u4e00-\u9fff])\((?=[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ])[a-zāáǎàēéěèīíǐìōóǒòūúǔùüǖǘǚǜ]{1,8}\)"
)


def mask_pinyin_glosses(text: str) -> str:
    """``text`` with bracketed pinyin readings after characters blanked out.

    Some mirror sites print a reading after traditional characters (``鄉(xiāng)``), which
    splits place names, numbers and units. The glosses become spaces, so the result has the
    same length and offsets into it index the original text.

    Examples
    --------
    >>> mask_pinyin_glosses("慎水鄉(xiāng)劉冢村")
    '慎水鄉       劉冢村'
    """
    if not text or "(" not in text:
        return text
    return _PINYIN_GLOSS_RE.sub(lambda m: " " * len(m.group()), text)
