"""What an upload is, from its bytes: accepted kinds, refused ones (executables, empties, zip bombs), names."""

from __future__ import annotations

import io
import zipfile

import pytest
from zhongshi_intake.sniff import (
    DOCX,
    JPEG,
    PDF,
    PNG,
    XLSX,
    Limits,
    Refused,
    content_disposition,
    safe_filename,
    sniff,
)

LIMITS = Limits(max_bytes=1024 * 1024, max_unpacked_bytes=4 * 1024 * 1024)
DOCX_TYPES = ('<?xml version="1.0"?><Types><Override PartName="/word/document.xml" ContentType="application/'
              'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
XLSX_TYPES = DOCX_TYPES.replace("wordprocessingml.document", "spreadsheetml.sheet").replace("word/document",
                                                                                               "xl/workbook")


def package(parts: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


def docx() -> bytes:
    return package({"[Content_Types].xml": DOCX_TYPES, "word/document.xml": "<w:document/>"})


@pytest.mark.parametrize(("content", "media_type"), [
    (b"%PDF-1.7\n%\xe2\xe3\n1 0 obj", PDF),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", PNG),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", JPEG),
])
def test_accepted_kinds_are_judged_by_their_first_bytes(content: bytes, media_type: str) -> None:
    assert sniff(content, LIMITS) == media_type


def test_office_documents_by_their_content_types_and_main_part() -> None:
    assert sniff(docx(), LIMITS) == DOCX
    assert sniff(package({"[Content_Types].xml": XLSX_TYPES, "xl/workbook.xml": "<workbook/>"}), LIMITS) == XLSX


@pytest.mark.parametrize(("content", "status", "words"), [
    (b"", 422, "文件为空"),
    (b"MZ\x90\x00\x03" + b"\x00" * 100, 415, "可执行文件"),  # a Windows executable renamed .pdf
    (b"\x7fELF\x02\x01\x01", 415, "可执行文件"),
    (b"#!/bin/sh\nrm -rf /\n", 415, "可执行文件"),
    (b"GIF89a....", 415, "文件类型不受支持"),
    (b"<html><script>alert(1)</script>", 415, "文件类型不受支持"),
    (package({"a.txt": "hello"}), 415, "不是 Word"),  # a plain zip
    (package({"[Content_Types].xml": DOCX_TYPES}), 415, "不是 Word"),  # declares a document, has none
    (b"PK\x03\x04broken", 422, "已损坏"),
    (b"%PDF-" + b"x" * (1024 * 1024), 422, "超过单个文件上限"),
])
def test_refused_files_name_the_problem(content: bytes, status: int, words: str) -> None:
    with pytest.raises(Refused) as refused:
        sniff(content, LIMITS)
    assert refused.value.status == status and words in refused.value.detail


def test_a_zip_bomb_inside_a_docx_is_refused_before_it_is_unpacked() -> None:
    bomb = package({"[Content_Types].xml": DOCX_TYPES, "word/document.xml": "<w:document/>",
                    "word/media/fill.bin": b"\0" * (5 * 1024 * 1024)})  # 5 MiB of zeros pack to ~5 KiB
    assert len(bomb) < 64 * 1024
    with pytest.raises(Refused) as refused:
        sniff(bomb, LIMITS)
    assert refused.value.status == 422 and "压缩炸弹" in refused.value.detail


def test_a_part_with_an_absurd_ratio_is_a_bomb_even_under_the_total() -> None:
    roomy = Limits(max_bytes=LIMITS.max_bytes, max_unpacked_bytes=64 * 1024 * 1024)
    bomb = package({"[Content_Types].xml": DOCX_TYPES, "word/document.xml": "<w:document/>",
                    "word/media/fill.bin": b"\0" * (8 * 1024 * 1024)})
    with pytest.raises(Refused, match="压缩炸弹"):
        sniff(bomb, roomy)


def test_too_many_parts_is_refused() -> None:
    many = package({"[Content_Types].xml": DOCX_TYPES, "word/document.xml": "x",
                    **{f"p/{i}.xml": "x" for i in range(2001)}})
    with pytest.raises(Refused, match="部件"):
        sniff(many, Limits(max_bytes=10 * 1024 * 1024, max_unpacked_bytes=LIMITS.max_unpacked_bytes))


@pytest.mark.parametrize(("given", "expected"), [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("C:\\Users\\x\\设备清单.pdf", "设备清单.pdf"),
    ("报告\x00\x1b[31m.pdf", "报告[31m.pdf"),
    ("setup.exe", "setup.pdf"),  # named for what it is
    ("...", "材料.pdf"),
    ("", "材料.pdf"),
    ('a"b<c>|d.pdf', "a_b_c__d.pdf"),
])
def test_file_names_are_sanitised(given: str, expected: str) -> None:
    assert safe_filename(given, PDF) == expected


def test_a_long_name_is_cut_keeping_its_extension() -> None:
    name = safe_filename("长" * 300 + ".pdf", PDF)
    assert len(name) == 100 and name.endswith(".pdf")


def test_content_disposition_has_an_ascii_fallback_and_the_utf8_name() -> None:
    header = content_disposition('设备清单 "v2".pdf')
    assert header.startswith('attachment; filename="')
    fallback = header.split('filename="')[1].split('"')[0]
    assert fallback.isascii() and '"' not in fallback
    assert "filename*=UTF-8''%E8%AE%BE%E5%A4%87%E6%B8%85%E5%8D%95%20%22v2%22.pdf" in header
