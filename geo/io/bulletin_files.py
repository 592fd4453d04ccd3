"""Read a bulletin file (.txt, .pdf, .docx) into raw text.

The format is decided by the file's first bytes, then by its extension. Text files may be
UTF-8 (with or without BOM), UTF-16/32 with BOM or GB18030/GBK. Every failure is a
:class:`~geo.errors.BulletinReadError` whose message is one line naming the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from geo.errors import BulletinReadError
from geo.markup import bold_mark, heading_mark

__all__ = [
    "MAX_BULLETIN_BYTES",
    "MAX_BULLETIN_CHARS",
    "MAX_DOCX_UNZIPPED_BYTES",
    "MAX_DOCX_XML_BYTES",
    "MAX_PDF_PAGES",
    "FileDate",
    "read_bulletin",
    "read_bulletin_file",
]

#: Largest bulletin file accepted (bytes); a work bulletin is rarely over 2 MB.
MAX_BULLETIN_BYTES = 20 * 1024 * 1024
#: Largest total uncompressed size of a .docx's parts (pictures included); against zip bombs.
MAX_DOCX_UNZIPPED_BYTES = 200 * 1024 * 1024
#: Largest total size of a .docx's XML parts: Word's XML is parsed into memory at about 25
#: times its size, and a 1,000-page bulletin holds well under 16 MB of it.
MAX_DOCX_XML_BYTES = 16 * 1024 * 1024
#: Most pages of a PDF read.
MAX_PDF_PAGES = 2000
#: Most characters of text a bulletin may hold once extracted (about 1,000 printed pages);
#: every later stage is linear in it, and this keeps one upload's work bounded.
MAX_BULLETIN_CHARS = 2_000_000

_MAX_ZIP_MEMBERS = 5000
_MAX_ZIP_RATIO = 200  # deflate rarely exceeds ~20:1 on real XML; bombs reach 1000:1

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)
_ALLOWED_CONTROLS = set("\t\n\r\f\v\x1a")  # \x1a: DOS end-of-file marker in old GBK files
_SAMPLE_CHARS = 200_000  # plausibility checks look at this many characters at most


@dataclass(frozen=True)
class FileDate:
    """The date a PDF or .docx file's properties give (a bulletin without a masthead date).

    Attributes
    ----------
    date : str
        ISO ``yyyy-mm-dd``.
    field : str
        ``"created"`` or ``"modified"`` (used when the file states no creation date).
    """

    date: str
    field: str

    @property
    def note_zh(self) -> str:
        """The visible note: ``日期取自文件属性（创建时间 2024-02-01），请核对``."""
        what = "创建时间" if self.field == "created" else "修改时间"
        return f"报头没有日期，日期取自文件属性（{what} {self.date}），请核对"


def read_bulletin(
    source: str | Path | bytes | BinaryIO,
    name: str | None = None,
    *,
    max_bytes: int = MAX_BULLETIN_BYTES,
) -> str:
    """Decoded raw text of a bulletin file.

    Parameters
    ----------
    source : str, pathlib.Path, bytes or binary file object
        A path, or the file's content (an upload, stdin).
    name : str, optional
        File name used for the extension and in messages; defaults to the path's name.
    max_bytes : int
        Files larger than this are refused before they are read.

    Returns
    -------
    str
        The text as extracted, artefacts included; clean it with
        :func:`geo.normalise.normalise_text`.

    Raises
    ------
    geo.errors.BulletinReadError
        Missing, empty, too large, binary, scanned, encrypted, damaged or unsupported files.
    """
    return read_bulletin_file(source, name, max_bytes=max_bytes)[0]


def read_bulletin_file(
    source: str | Path | bytes | BinaryIO,
    name: str | None = None,
    *,
    max_bytes: int = MAX_BULLETIN_BYTES,
) -> tuple[str, FileDate | None]:
    """Decoded raw text of a bulletin file and the date its properties give.

    Parameters
    ----------
    source, name, max_bytes
        As :func:`read_bulletin`.

    Returns
    -------
    (str, FileDate or None)
        The text (as :func:`read_bulletin`) and, for PDF and .docx files, the creation date
        of their document properties (else the modification date); None for text files and
        for dates that cannot be a bulletin's (before 1990 or in the future).

    Raises
    ------
    geo.errors.BulletinReadError
        As :func:`read_bulletin`.
    """
    data, label = _load(source, name, max_bytes)
    ext = Path(label).suffix.lower()
    if not data.strip():
        raise BulletinReadError(f"{label} 是空文件：请检查是否选对了文件", code="bulletin.empty")
    kind = _sniff(data, ext, label)
    found: FileDate | None = None
    if kind == "pdf":
        text, found = _read_pdf(data, label)
    elif kind == "docx":
        text, found = _read_docx(data, label)
    else:
        text = _decode_text(data, label)
    _check_chars(len(text), label)
    if not _visible(text):
        raise BulletinReadError(
            f"{label} 没有文字（只有空白）：请检查是否选对了文件", code="bulletin.no_text"
        )
    return text, found


def _file_date(created, modified) -> FileDate | None:
    """The first plausible of a file's creation and modification times."""
    latest = dt.date.today() + dt.timedelta(days=1)
    for field, value in (("created", created), ("modified", modified)):
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date) and dt.date(1990, 1, 1) <= value <= latest:
            return FileDate(value.isoformat(), field)
    return None


def _check_chars(n: int, label: str) -> None:
    if n > MAX_BULLETIN_CHARS:
        raise BulletinReadError(
            f"{label}：文字过多（超过 {MAX_BULLETIN_CHARS // 10_000} 万字，约一千页），"
            "请按期拆分后分别上传",
            code="bulletin.too_many_chars",
        )


# --- loading -------------------------------------------------------------------------------


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _too_large(label: str, size: int, max_bytes: int) -> BulletinReadError:
    return BulletinReadError(
        f"{label} 太大（{_mb(size)}，每份简报上限 {_mb(max_bytes)}）：请按期拆分后分别上传",
        code="bulletin.too_large",
    )


def _load(source, name: str | None, max_bytes: int) -> tuple[bytes, str]:
    """Bytes of ``source`` and the label used in messages, refusing oversized input early."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = name or "<upload>"
        if len(data) > max_bytes:
            raise _too_large(label, len(data), max_bytes)
        return data, label
    if hasattr(source, "read"):
        label = name or getattr(source, "name", None) or "<stream>"
        label = Path(str(label)).name or str(label)
        # Read one byte past the cap so an oversized stream fails without being slurped.
        data = source.read(max_bytes + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
        if len(data) > max_bytes:
            raise BulletinReadError(
                f"{label} 太大（超过每份简报 {_mb(max_bytes)} 的上限）：请按期拆分后分别上传",
                code="bulletin.too_large",
            )
        return bytes(data), label
    if not isinstance(source, (str, Path)):
        raise BulletinReadError(
            f"无法从 {type(source).__name__} 读取简报：请给出文件路径或文件内容",
            code="bulletin.source",
        )
    path = Path(source)
    label = name or path.name or str(path)
    if not path.exists():
        raise BulletinReadError(f"找不到文件 {path}：请检查路径", code="bulletin.missing")
    if path.is_dir():
        raise BulletinReadError(
            f"{path} 是文件夹，不是简报文件：请给出简报文件", code="bulletin.folder"
        )
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_large(label, size, max_bytes)
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as err:
        raise BulletinReadError(
            f"无法读取 {path}（{err.strerror or err}）：请检查文件权限", code="bulletin.unreadable"
        ) from None
    if len(data) > max_bytes:  # the file grew while we looked at it
        raise _too_large(label, len(data), max_bytes)
    return data, label


def _sniff(data: bytes, ext: str, label: str) -> str:
    """``"pdf"``, ``"docx"`` or ``"text"``; raises for formats we do not read."""
    head = data[:16]
    # Some generators put a BOM or blank lines before the PDF header; readers accept that.
    if data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n\x00").startswith(b"%PDF"):
        return "pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "docx"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        # Password-protected .docx files are OLE containers holding an "EncryptedPackage".
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise BulletinReadError(
                f"{label} 设有密码：请去掉密码后重新上传", code="bulletin.encrypted"
            )
        raise BulletinReadError(
            f"{label} 是旧版 Word/WPS 文档（.doc/.wps）：请另存为 .docx 或 .pdf 后上传",
            code="bulletin.old_word",
        )
    if head.startswith(b"{\\rtf"):
        raise BulletinReadError(
            f"{label} 是 RTF 文档：请另存为 .docx、.pdf 或 .txt 后上传", code="bulletin.rtf"
        )
    for magic, kind in _IMAGE_MAGIC:
        if head.startswith(magic) and not _looks_textual(data[:4096]):
            raise BulletinReadError(
                f"{label} 是 {kind} 图片，不是文字简报：扫描件请先做文字识别（OCR）",
                code="bulletin.image",
            )
    if ext == ".pdf":
        raise BulletinReadError(
            f"{label} 扩展名是 .pdf，内容却不是 PDF（文件损坏？）：请重新导出",
            code="bulletin.damaged",
        )
    if ext == ".docx":
        raise BulletinReadError(
            f"{label} 扩展名是 .docx，内容却不是 Word 文档（文件损坏？）：请重新保存",
            code="bulletin.damaged",
        )
    if ext in {".doc", ".wps"}:
        raise BulletinReadError(
            f"{label}：不支持旧版 .doc/.wps 文件，请另存为 .docx 或 .pdf 后上传",
            code="bulletin.old_word",
        )
    return "text"


def _looks_textual(chunk: bytes) -> bool:
    return b"\x00" not in chunk and all(b >= 0x20 or b in (9, 10, 13) for b in chunk[:64])


# --- text files ----------------------------------------------------------------------------


def _binary(label: str) -> BulletinReadError:
    return BulletinReadError(
        f"{label} 不是文字简报（二进制数据）：请上传 .txt、.docx 或 .pdf", code="bulletin.binary"
    )


def _decode_text(data: bytes, label: str) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                raise _binary(label) from None
            if _control_ratio(text) > 0.002:
                raise _binary(label)
            return text.lstrip("\ufeff")
    if b"\x00" in data:
        # UTF-16 without BOM is the one text encoding with NUL bytes; anything else is binary.
        for encoding in ("utf-16-le", "utf-16-be"):
            text = _try_decode(data, encoding)
            if text is not None and _plausible(text, strict_cjk=True):
                return text
        raise _binary(label)
    text = _try_decode(data, "utf-8")
    if text is not None:
        if _control_ratio(text) > 0.002:
            raise _binary(label)
        return text
    gb = _try_decode(data, "gb18030")
    if gb is not None and _plausible(gb, strict_cjk=True):
        return gb
    # UTF-8 damaged in a few places (a cut-off last character, one bad byte) is still UTF-8.
    lossy = data.decode("utf-8", errors="replace")
    if lossy.count("\ufffd") <= max(2, len(lossy) // 1000) and _plausible(lossy, strict_cjk=False):
        return lossy
    encoding, guess = _charset_normalizer_guess(data)
    if guess is not None and _plausible(guess, strict_cjk=False):
        return guess
    if gb is not None and _plausible(gb, strict_cjk=False):
        return gb
    if guess is not None and _control_ratio(guess) <= 0.002 and not _has_hanzi(guess):
        raise BulletinReadError(
            f"{label} 不是中文文本（按 {encoding} 读出，没有汉字）："
            "请把简报另存为 UTF-8 或 GB18030",
            code="bulletin.encoding",
        )
    raise _binary(label)


def _has_hanzi(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text[:_SAMPLE_CHARS])


def _try_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _charset_normalizer_guess(data: bytes) -> tuple[str | None, str | None]:
    """``(encoding, text)`` as guessed by charset-normalizer, or ``(None, None)``."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # optional fallback only
        return None, None
    best = from_bytes(data[: 4 * _SAMPLE_CHARS]).best()
    if best is None or best.encoding is None:
        return None, None
    return best.encoding, _try_decode(data, best.encoding)


def _control_ratio(text: str) -> float:
    sample = text[:_SAMPLE_CHARS]
    if not sample:
        return 0.0
    bad = sum(1 for c in sample if unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS)
    return bad / len(sample)


def _is_common_cjk(c: str) -> bool:
    """True for the 3,755 most common simplified characters (GB2312 level 1)."""
    try:
        b = c.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(b) == 2 and 0xB0 <= b[0] <= 0xD7


def _plausible(text: str, *, strict_cjk: bool) -> bool:
    """Does a decode look like Chinese (or plain) text rather than mis-decoded bytes?

    Wrong decodes of binary data or of another encoding give control characters, private-use
    and rare characters; real bulletins are mostly common hanzi, punctuation and ASCII.
    """
    sample = text[:_SAMPLE_CHARS]
    if _control_ratio(sample) > 0.002:
        return False
    non_ascii = [c for c in sample if ord(c) > 0x7F and not c.isspace()]
    if not non_ascii:
        return True
    odd = sum(1 for c in non_ascii if unicodedata.category(c) in ("Co", "Cn", "Cs", "So", "Sk"))
    if odd / len(non_ascii) > 0.05:
        return False
    hanzi = [c for c in non_ascii if "\u4e00" <= c <= "\u9fff"]
    cjk_like = len(hanzi) + sum(1 for c in non_ascii if _is_cjk_punct(c))
    if cjk_like / len(non_ascii) < 0.6:
        return False
    if strict_cjk and len(hanzi) >= 20:
        common = sum(1 for c in hanzi if _is_common_cjk(c))
        return common / len(hanzi) >= 0.7
    return True


def _is_cjk_punct(c: str) -> bool:
    o = ord(c)
    return (
        0x3000 <= o <= 0x303F
        or 0xFF00 <= o <= 0xFFEF
        or 0x2010 <= o <= 0x206F
        or c in "·×÷°±"
        or 0x2460 <= o <= 0x24FF  # circled numbers ①
    )


def _visible(text: str) -> bool:
    return any(not c.isspace() and unicodedata.category(c) not in ("Cf", "Cc") for c in text)


# --- PDF -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_pypdf():
    """Silence pypdf's repair notes ("incorrect startxref pointer"): users get one line or text."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _read_pdf(data: bytes, label: str) -> tuple[str, FileDate | None]:
    with _quiet_pypdf():
        return _read_pdf_text(data, label)


def _pdf_date(reader) -> FileDate | None:
    """The PDF's /CreationDate (else /ModDate); None when missing or unreadable."""
    try:
        meta = reader.metadata
        if meta is None:
            return None
        return _file_date(meta.creation_date, meta.modification_date)
    except Exception:  # a damaged info dictionary only loses the date, never the text
        return None


def _read_pdf_text(data: bytes, label: str) -> tuple[str, FileDate | None]:
    try:
        from pypdf import PdfReader
    except ImportError:  # pragma: no cover - pypdf is a runtime requirement
        raise BulletinReadError(
            "读取 PDF 需要 pypdf：请运行 pip install -r requirements.txt",
            code="bulletin.dependency",
        ) from None
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            # Owner-password-only PDFs open with the empty user password.
            try:
                ok = reader.decrypt("")
            except Exception:
                ok = 0
            if not ok:
                raise BulletinReadError(
                    f"{label} 设有密码：请去掉密码后重新上传", code="bulletin.encrypted"
                )
        pages = list(reader.pages)
    except BulletinReadError:
        raise
    except Exception:
        raise BulletinReadError(
            f"{label} 无法作为 PDF 读取（损坏或不完整）：请重新导出", code="bulletin.damaged"
        ) from None
    if not pages:
        raise BulletinReadError(f"{label} 没有页面：请重新导出", code="bulletin.damaged")
    if len(pages) > MAX_PDF_PAGES:
        raise BulletinReadError(
            f"{label}：共 {len(pages)} 页，超过每份简报 {MAX_PDF_PAGES} 页的上限，请拆分后上传",
            code="bulletin.too_many_pages",
        )
    texts = []
    n_chars = 0
    for page in pages:
        try:
            raw = page.extract_text() or ""
        except Exception:
            raise BulletinReadError(
                f"{label} 无法作为 PDF 读取（第 {len(texts) + 1} 页损坏）：请重新导出",
                code="bulletin.damaged",
            ) from None
        # Some CID fonts extract with NUL padding between characters.
        texts.append(raw.replace("\x00", ""))
        n_chars += len(texts[-1])
        _check_chars(n_chars, label)
    # Plain newlines between pages: normalise_text decides from line widths whether a
    # paragraph runs on across the page break.
    text = "\n".join(texts)
    if not _visible(text):
        raise BulletinReadError(
            f"{label} 没有文字层（扫描件？）：请先做文字识别（OCR）后再上传",
            code="bulletin.scanned",
        )
    if not _plausible(text, strict_cjk=False):
        raise BulletinReadError(
            f"{label} 的文字层无法解码（字体缺少 Unicode 映射）：请带文字重新导出，或做文字识别",
            code="bulletin.pdf_fonts",
        )
    return text, _pdf_date(reader)


# --- DOCX ----------------------------------------------------------------------------------


def _check_zip(data: bytes, label: str) -> None:
    """Refuse damaged zips, non-Word zips and zip bombs before python-docx opens them."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise BulletinReadError(
            f"{label} 无法作为 .docx 读取（压缩包损坏）：请重新保存", code="bulletin.damaged"
        ) from None
    if len(infos) > _MAX_ZIP_MEMBERS:
        raise BulletinReadError(
            f"{label} 含 {len(infos)} 个部件，不是正常的 .docx：请重新保存",
            code="bulletin.zip_bomb",
        )
    total = sum(i.file_size for i in infos)
    if total > MAX_DOCX_UNZIPPED_BYTES:
        raise BulletinReadError(
            f"{label} 解压后达 {_mb(total)}（上限 {_mb(MAX_DOCX_UNZIPPED_BYTES)}），"
            "疑似压缩炸弹，已拒绝：请检查文件来源",
            code="bulletin.zip_bomb",
        )
    xml = sum(i.file_size for i in infos if i.filename.endswith((".xml", ".rels")))
    if xml > MAX_DOCX_XML_BYTES:
        raise BulletinReadError(
            f"{label}：文档正文数据 {_mb(xml)}，超过 {_mb(MAX_DOCX_XML_BYTES)} 的上限"
            "（正常简报远小于此），请检查文件或拆分后上传",
            code="bulletin.docx_too_large",
        )
    for i in infos:
        if i.file_size > 1024 * 1024 and i.file_size > _MAX_ZIP_RATIO * max(i.compress_size, 1):
            raise BulletinReadError(
                f"{label} 中有部件压缩比达 {i.file_size // max(i.compress_size, 1)}:1，"
                "疑似压缩炸弹，已拒绝：请检查文件来源",
                code="bulletin.zip_bomb",
            )
    names = {i.filename for i in infos}
    if "word/document.xml" not in names:
        if "xl/workbook.xml" in names:
            what = "Excel 工作簿"
        elif any(n.startswith("ppt/") for n in names):
            what = "PowerPoint 文件"
        elif "mimetype" in names or "content.xml" in names:
            what = "OpenDocument 文件"
        else:
            what = "ZIP 压缩包"
        raise BulletinReadError(
            f"{label} 是{what}，不是 Word 简报：请另存为 .docx 或 .pdf 后上传",
            code="bulletin.not_word",
        )


def _read_docx(data: bytes, label: str) -> tuple[str, FileDate | None]:
    _check_zip(data, label)
    try:
        import docx
    except ImportError:  # pragma: no cover - python-docx is a runtime requirement
        raise BulletinReadError(
            "读取 .docx 需要 python-docx：请运行 pip install -r requirements.txt",
            code="bulletin.dependency",
        ) from None
    try:
        document = docx.Document(io.BytesIO(data))
        lines = list(_docx_blocks(document))
        props = document.core_properties
    except RecursionError:
        raise BulletinReadError(
            f"{label}：文档结构嵌套过深，无法读取", code="bulletin.too_deep"
        ) from None
    except Exception:
        raise BulletinReadError(
            f"{label} 无法作为 .docx 读取（文档损坏）：请重新保存", code="bulletin.damaged"
        ) from None
    return "\n".join(lines), _docx_date(props)


def _docx_date(props) -> FileDate | None:
    """The .docx's dcterms:created (else modified); None when missing or unreadable."""
    try:
        return _file_date(props.created, props.modified)
    except Exception:  # a damaged core.xml only loses the date, never the text
        return None


def _docx_blocks(container, *, marks: bool = True) -> list[str]:
    """Paragraph texts of a document or table cell, tables cell by cell, in reading order.

    Body paragraphs keep their heading style or bold opening as marks (:mod:`geo.markup`);
    table cells never do (bold header cells are not item heads).
    """
    out: list[str] = []
    for block in container.iter_inner_content():
        if hasattr(block, "rows"):
            # Merged cells are returned once per grid position; read them once. The dict keeps
            # the elements alive so their ids cannot be reused.
            seen: dict[int, object] = {}
            for row in block.rows:
                for cell in row.cells:
                    if id(cell._tc) in seen:
                        continue
                    seen[id(cell._tc)] = cell._tc
                    out.extend(_docx_blocks(cell, marks=False))
        else:
            out.append(_marked_paragraph(block) if marks else block.text)
    return out


_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_TITLE_STYLES = {"title", "标题"}


def _marked_paragraph(paragraph) -> str:
    """A paragraph's text, a heading written ``## …`` and a bold opening ``**…**``."""
    text = paragraph.text
    if not text.strip():
        return text
    level = _heading_level(paragraph)
    if level:
        return heading_mark(text, level)
    bold = _bold_opening(paragraph)
    if bold and text.startswith(bold):
        return bold_mark(bold, text[len(bold) :])
    return text


def _heading_level(paragraph) -> int:
    """1–9 for a heading (style name or outline level), else 0."""
    style = paragraph.style
    while style is not None:
        name = (style.name or "").strip()
        m = _HEADING_STYLE.match(name)
        if m:
            return int(m.group(1))
        if name.lower() in _TITLE_STYLES:
            return 1
        style = style.base_style
    for element in (paragraph._p, getattr(paragraph.style, "_element", None)):
        level = _outline_level(element)
        if level:
            return level
    return 0


def _outline_level(element) -> int:
    """The ``w:outlineLvl`` of a paragraph or style element plus one (9 = body text -> 0)."""
    if element is None:
        return 0
    found = element.xpath("./w:pPr/w:outlineLvl/@w:val")
    try:
        value = int(found[0]) if found else 9
    except ValueError:
        return 0
    return value + 1 if 0 <= value < 9 else 0


def _bold_opening(paragraph) -> str:
    """The bold text a paragraph opens with (all of it when wholly bold), else ``""``."""
    style_bold = bool(paragraph.style is not None and paragraph.style.font.bold)
    parts: list[str] = []
    for run in paragraph.runs:
        bold = run.bold if run.bold is not None else style_bold
        if not bold and run.text.strip():
            break
        parts.append(run.text)
    return "".join(parts).rstrip()
