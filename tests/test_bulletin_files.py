"""Reading bulletin files: encodings, PDF, DOCX and every kind of bad input."""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from bulletin_layouts import cjk_font
from error_codes import raises_code

from geo.errors import BulletinReadError, GeoInputError
from geo.io.bulletin_files import MAX_BULLETIN_BYTES, read_bulletin

TEXT = (
    "息县曹黄林镇推进高标准农田建设 今年以来，镇里新修机耕路 12 公里，"
    "整治沟渠 30 条，惠及农户 860 户。\n（曹黄林镇人民政府 李明）\n"
)


def make_text_pdf(lines: list[str]) -> bytes:
    """A PDF with a real text layer, one output line per input line."""
    fpdf = pytest.importorskip("fpdf")
    font = cjk_font()
    if font is None:
        pytest.skip("no CJK font available to make a test PDF")
    pdf = fpdf.FPDF()
    pdf.set_auto_page_break(True, margin=10)
    pdf.add_page()
    # pypdf misreads glyph codes above 255 in fpdf2's subsets, so a new subset (a separate
    # family) starts before one would hold 256 glyphs.
    glyphs: set[str] = set()
    families = 0
    for line in lines:
        if families == 0 or len(glyphs | set(line)) > 240:
            families += 1
            glyphs = set()
            pdf.add_font(f"noto{families}", fname=font[0], collection_font_number=font[1])
            pdf.set_font(f"noto{families}", size=9)
        glyphs |= set(line)
        pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def make_docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    docx = pytest.importorskip("docx")
    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    if table:
        t = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
        document.add_paragraph("表后一段文字。")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


# --- text encodings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoded",
    [
        TEXT.encode("utf-8"),
        b"\xef\xbb\xbf" + TEXT.encode("utf-8"),
        TEXT.encode("utf-16"),  # with BOM, native order
        b"\xff\xfe" + TEXT.encode("utf-16-le"),
        b"\xfe\xff" + TEXT.encode("utf-16-be"),
        TEXT.encode("gbk"),
        TEXT.encode("gb18030"),
    ],
    ids=["utf8", "utf8-bom", "utf16", "utf16le-bom", "utf16be-bom", "gbk", "gb18030"],
)
def test_text_encodings_decode_to_the_same_text(encoded, tmp_path):
    path = tmp_path / "bulletin.txt"
    path.write_bytes(encoded)
    assert read_bulletin(path) == TEXT
    assert read_bulletin(encoded, "upload.txt") == TEXT


def test_gb18030_four_byte_characters_survive():
    # 㙟 (U+365F) only exists in GB18030's four-byte range, not in GBK.
    text = "息县岗李店乡㙟东村修建文化广场，占地 5 亩。"
    assert read_bulletin(text.encode("gb18030"), "a.txt") == text


def test_sample_as_gb18030_reads_back(sample_text):
    assert read_bulletin(sample_text.encode("gb18030"), "sample.txt") == sample_text


def test_big5_text_is_not_garbled_as_gbk():
    text = "息縣路口鎮舉辦農民豐收節，吸引遊客三千餘人次參加活動，現場銷售農產品。" * 3
    assert read_bulletin(text.encode("big5"), "trad.txt") == text


def test_utf16_without_bom_is_recognised():
    assert read_bulletin(TEXT.encode("utf-16-le"), "nobom.txt") == TEXT


def test_utf8_with_one_damaged_byte_is_still_read():
    data = TEXT.encode("utf-8")
    damaged = data[:30] + b"\xff" + data[30:]
    text = read_bulletin(damaged, "damaged.txt")
    assert text.replace("\ufffd", "") == TEXT


def test_stream_source_reads_like_bytes():
    assert read_bulletin(io.BytesIO(TEXT.encode("gbk")), "stdin") == TEXT


# --- bad text input ------------------------------------------------------------------------


def _message(excinfo) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg
    return msg


def test_binary_file_named_txt_is_refused(tmp_path):
    path = tmp_path / "report.txt"
    path.write_bytes(random.Random(7).randbytes(4096))
    with pytest.raises(BulletinReadError) as excinfo:
        read_bulletin(path)
    assert excinfo.value.code == "bulletin.binary" and "report.txt" in _message(excinfo)


def test_latin1_text_is_not_taken_for_chinese():
    data = "Résumé of the café meeting: déjà vu, naïve façade.\n".encode("latin-1") * 5
    with raises_code(BulletinReadError, "bulletin.encoding"):
        read_bulletin(data, "notes.txt")


def test_text_with_nul_bytes_is_binary():
    data = "息县简报".encode() + b"\x00\x01\x02\x03" * 50
    with raises_code(BulletinReadError, "bulletin.binary"):
        read_bulletin(data, "x.txt")


def test_image_is_refused_with_ocr_hint(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    path = tmp_path / "scan.txt"
    pil.new("RGB", (40, 40), "white").save(path, "PNG")
    with raises_code(BulletinReadError, "bulletin.image"):
        read_bulletin(path)


@pytest.mark.parametrize("content", [b"", b"   \n\r\n\t ", "\u3000\u3000\n".encode()])
def test_empty_or_blank_file_is_refused(content, tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(BulletinReadError, match=r"空文件|没有文字"):
        read_bulletin(path)


def test_blank_utf16_file_is_refused():
    with raises_code(BulletinReadError, "bulletin.no_text"):
        read_bulletin("   \n".encode("utf-16"), "blank.txt")


def test_100_mb_file_fails_fast_naming_both_sizes(tmp_path):
    path = tmp_path / "huge.txt"
    chunk = ("息县" * 512 + "\n").encode("utf-8") * 256  # ~0.8 MB
    with path.open("wb") as fh:
        while fh.tell() < 100 * 1024 * 1024:
            fh.write(chunk)
    with pytest.raises(BulletinReadError) as excinfo:
        read_bulletin(path)
    msg = _message(excinfo)
    assert excinfo.value.code == "bulletin.too_large" and "huge.txt" in msg
    assert f"{path.stat().st_size / 1048576:.1f} MB" in msg
    assert f"{MAX_BULLETIN_BYTES / 1048576:.1f} MB" in msg


def test_size_cap_applies_to_bytes_and_streams():
    data = TEXT.encode("utf-8")
    with raises_code(BulletinReadError, "bulletin.too_large"):
        read_bulletin(data, "a.txt", max_bytes=10)
    with raises_code(BulletinReadError, "bulletin.too_large"):
        read_bulletin(io.BytesIO(data), "a.txt", max_bytes=10)


def test_missing_file_and_folder(tmp_path):
    with raises_code(BulletinReadError, "bulletin.missing"):
        read_bulletin(tmp_path / "nope.txt")
    with raises_code(BulletinReadError, "bulletin.folder"):
        read_bulletin(tmp_path)


def test_old_word_doc_asks_for_docx_or_pdf(tmp_path):
    path = tmp_path / "old.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000)
    with pytest.raises(BulletinReadError) as excinfo:
        read_bulletin(path)
    assert excinfo.value.code == "bulletin.old_word" and ".docx 或 .pdf" in _message(excinfo)


def test_password_protected_docx_is_reported_as_such():
    # Office wraps an encrypted .docx in an OLE container with an "EncryptedPackage" stream.
    data = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512 + "EncryptedPackage".encode("utf-16-le")
    )
    with pytest.raises(BulletinReadError, match=r"locked.docx 设有密码"):
        read_bulletin(data, "locked.docx")


def test_errors_are_geo_input_errors():
    assert issubclass(BulletinReadError, GeoInputError)


# --- PDF -----------------------------------------------------------------------------------


def test_pdf_text_layer_is_read():
    data = make_text_pdf(
        ["息县东岳镇举办稻虾共作培训会", "参训农户 120 人。（东岳镇人民政府 王芳）"]
    )
    text = read_bulletin(data, "b.pdf")
    assert "息县东岳镇举办稻虾共作培训会" in text
    assert "（东岳镇人民政府 王芳）" in text
    assert "\x00" not in text


def test_pdf_detected_by_magic_whatever_the_name(tmp_path):
    data = make_text_pdf(["息县临河乡开展防汛演练"])
    path = tmp_path / "misnamed.txt"
    path.write_bytes(data)
    assert "息县临河乡开展防汛演练" in read_bulletin(path)


def test_pdf_after_blank_lines_is_read_quietly(caplog):
    data = b"\r\n" + make_text_pdf(["息县孙庙乡举办农技培训"])
    with caplog.at_level("WARNING"):
        assert "息县孙庙乡举办农技培训" in read_bulletin(data, "shifted.pdf")
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]


def test_scanned_pdf_needs_ocr(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    path = tmp_path / "scan.pdf"
    pil.new("RGB", (200, 300), "white").save(path, "PDF")
    with pytest.raises(BulletinReadError) as excinfo:
        read_bulletin(path)
    msg = _message(excinfo)
    assert excinfo.value.code == "bulletin.scanned" and "OCR" in msg


def _encrypt(data: bytes, user: str, owner: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user, owner_password=owner, algorithm="AES-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def test_password_protected_pdf_is_refused():
    data = _encrypt(make_text_pdf(["息县包信镇召开秋粮收购会"]), "secret", "owner")
    with pytest.raises(BulletinReadError) as excinfo:
        read_bulletin(data, "locked.pdf")
    assert excinfo.value.code == "bulletin.encrypted" and "locked.pdf" in _message(excinfo)


def test_pdf_with_only_owner_password_opens():
    data = _encrypt(make_text_pdf(["息县包信镇召开秋粮收购会"]), "", "owner")
    assert "息县包信镇召开秋粮收购会" in read_bulletin(data, "restricted.pdf")


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n" + b"garbage " * 100, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Pag"],
    ids=["garbage", "truncated"],
)
def test_corrupted_pdf_is_refused(data):
    with pytest.raises(BulletinReadError) as excinfo:
        read_bulletin(data, "broken.pdf")
    assert "broken.pdf" in _message(excinfo)


def test_truncated_real_pdf_is_refused_or_read_cleanly():
    data = make_text_pdf(["息县彭店乡开展人居环境整治"])
    try:
        text = read_bulletin(data[: len(data) // 3], "cut.pdf")
    except BulletinReadError as err:
        assert "cut.pdf" in str(err)
    else:  # pypdf can rebuild some damaged files; then the text must be the real one
        assert "彭店乡" in text


def test_pdf_name_without_pdf_content():
    with raises_code(BulletinReadError, "bulletin.damaged"):
        read_bulletin("普通文本".encode(), "fake.pdf")


# --- DOCX ----------------------------------------------------------------------------------


def test_docx_paragraphs_and_tables_in_order():
    data = make_docx(
        ["息县夏庄镇建设光伏电站", "项目总投资 800 万元。"],
        table=[["村名", "户数"], ["郭庄村", "120"]],
    )
    text = read_bulletin(data, "b.docx")
    lines = text.split("\n")
    assert lines[:2] == ["息县夏庄镇建设光伏电站", "项目总投资 800 万元。"]
    assert lines[2:6] == ["村名", "户数", "郭庄村", "120"]
    assert lines[-1] == "表后一段文字。"


def test_docx_merged_cell_is_read_once():
    docx = pytest.importorskip("docx")
    document = docx.Document()
    table = document.add_table(rows=1, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 1))
    merged.text = "合并单元格"
    table.cell(0, 2).text = "右侧"
    buf = io.BytesIO()
    document.save(buf)
    assert read_bulletin(buf.getvalue(), "m.docx").split("\n") == ["合并单元格", "右侧"]


def test_corrupted_docx_is_refused():
    data = make_docx(["息县长陵乡召开会议"])
    with pytest.raises(BulletinReadError, match=r"b.docx 无法作为 .docx 读取"):
        read_bulletin(data[: len(data) // 2], "b.docx")
    with raises_code(BulletinReadError, "bulletin.damaged"):
        read_bulletin(b"PK\x03\x04" + b"\x00" * 100, "c.docx")


def test_docx_with_broken_xml_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types")
        zf.writestr("word/document.xml", "<w:document")
    with raises_code(BulletinReadError, "bulletin.damaged"):
        read_bulletin(buf.getvalue(), "bad.docx")


def test_zip_that_is_not_a_docx():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes.txt", "息县")
    with raises_code(BulletinReadError, "bulletin.not_word"):
        read_bulletin(buf.getvalue(), "notes.zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(BulletinReadError, match="Excel"):
        read_bulletin(buf.getvalue(), "sheet.xlsx")


def test_zip_bomb_is_refused_before_opening():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"\x00" * (8 * 1024 * 1024))
    assert len(buf.getvalue()) < 100_000
    with raises_code(BulletinReadError, "bulletin.zip_bomb"):
        read_bulletin(buf.getvalue(), "bomb.docx")


# --- the sample through every format -------------------------------------------------------


def _items_of(raw: str) -> list[tuple]:
    from geo.items import split_items
    from geo.normalise import normalise_text

    return [
        (it.headline, it.unit, it.authors, "".join(it.body.split()))
        for it in split_items(normalise_text(raw))
    ]


@pytest.mark.parametrize("fmt", ["gb18030", "utf-16", "docx", "pdf"])
def test_sample_in_every_format_gives_the_same_six_items(fmt, sample_text, tmp_path):
    lines = sample_text.split("\n")
    if fmt == "docx":
        data, name = make_docx(lines), "sample.docx"
    elif fmt == "pdf":
        data, name = make_text_pdf([ln for ln in lines if ln.strip()]), "sample.pdf"
    else:
        data, name = sample_text.encode(fmt), "sample.txt"
    path = tmp_path / name
    path.write_bytes(data)
    expected = _items_of(sample_text)
    assert len(expected) == 6
    assert _items_of(read_bulletin(path)) == expected


# --------------------------------------------------------------------------- dates (issue 11)

_ITEM = (
    " 息县白土店乡发展鲜食玉米种植产业 流转土地 300 余亩连片种植鲜食玉米。"
    "（白土店乡人民政府 周京京）"
)


def _dated_docx(created, paragraphs=(_ITEM,)) -> bytes:
    import docx

    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    document.core_properties.created = created
    document.core_properties.modified = created
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_and_pdf_properties_give_a_date():
    import datetime as dt

    from geo.io.bulletin_files import read_bulletin_file

    text, found = read_bulletin_file(_dated_docx(dt.datetime(2024, 2, 3, 9, 30)), "a.docx")
    assert "鲜食玉米" in text and (found.date, found.field) == ("2024-02-03", "created")
    assert "文件属性" in found.note_zh and "2024-02-03" in found.note_zh
    _, old = read_bulletin_file(_dated_docx(dt.datetime(1970, 1, 1)), "old.docx")
    assert old is None  # not a bulletin's date
    fpdf = pytest.importorskip("fpdf")
    font = cjk_font()
    if font is None:
        pytest.skip("no CJK font available to make a test PDF")
    pdf = fpdf.FPDF()
    pdf.set_creation_date(dt.datetime(2024, 5, 6, tzinfo=dt.timezone.utc))
    pdf.add_page()
    pdf.add_font("noto", fname=font[0], collection_font_number=font[1])
    pdf.set_font("noto", size=9)
    pdf.cell(0, 5, _ITEM.strip())
    _, found = read_bulletin_file(bytes(pdf.output()), "b.pdf")
    assert found.date == "2024-05-06"
    assert read_bulletin_file("流转土地 300 亩".encode(), "c.txt")[1] is None


def test_the_masthead_wins_then_the_given_date_then_the_file():
    import datetime as dt

    from geo.pipeline import parse_file

    data = _dated_docx(dt.datetime(2024, 2, 3))
    from_file = parse_file(data, "a.docx", county="息县")
    assert (from_file.header.date, from_file.header.date_source) == ("2024-02-03", "file")
    assert [w.code for w in from_file.warnings if w.code.startswith("date")] == ["date_from_file"]
    given = parse_file(data, "a.docx", county="息县", date="2024/3/9")
    assert (given.header.date, given.header.date_source) == ("2024-03-09", "user")
    masthead = _dated_docx(
        dt.datetime(2024, 2, 3), ["息县工作简报", "2024年第4期", "2024年4月1日", _ITEM]
    )
    b = parse_file(masthead, "m.docx", county="息县", date="2024-03-09")
    assert (b.header.date, b.header.date_source) == ("2024-04-01", "masthead")
    assert any(w.code == "date_differs" for w in b.warnings)
    with pytest.raises(GeoInputError) as err:
        parse_file(data, "a.docx", county="息县", date="昨天")
    assert err.value.code == "date.invalid"
