"""What an uploaded file is, judged from its bytes alone (never its name or declared type), and safe names."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from urllib.parse import quote

from zhongshi_runtime.errors import Refusal

PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXTENSIONS = {PDF: ".pdf", PNG: ".png", JPEG: ".jpg", DOCX: ".docx", XLSX: ".xlsx"}
# An OOXML package names its main part in [Content_Types].xml; both must be there.
OFFICE = {DOCX: ("wordprocessingml.document.main+xml", "word/document.xml"),
          XLSX: ("spreadsheetml.sheet.main+xml", "xl/workbook.xml")}
EXECUTABLES = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xce")
MAX_ENTRIES = 2000
MAX_RATIO = 200  # a part unpacking to over 200× its packed size is a bomb, not a document
NAME_LIMIT = 100


class Refused(Refusal):
    """A file the service will not store: HTTP ``status`` (415, or 422 naming the form ``field`` at fault) with a
    Chinese ``detail`` naming the problem."""

    def __init__(self, status: int, detail: str, field: str = "file") -> None:
        super().__init__(detail)
        self.status = self.status_code = status
        self.field = field


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_unpacked_bytes: int


def sniff(content: bytes, limits: Limits) -> str:
    """The media type of ``content`` if it is an accepted kind of file; `Refused` otherwise."""
    if not content:
        raise Refused(422, "文件为空")
    if len(content) > limits.max_bytes:
        raise Refused(422, f"文件大小{len(content)}字节，超过单个文件上限{limits.max_bytes}字节")
    if content.startswith(EXECUTABLES):
        raise Refused(415, "不接受可执行文件或脚本（无论扩展名为何）")
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"PK\x03\x04"):
        return _office(content, limits)
    raise Refused(415, "文件类型不受支持：仅接受 PDF、JPEG、PNG、Word（docx）和 Excel（xlsx）文件")


def _office(content: bytes, limits: Limits) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            entries = package.infolist()
            _refuse_bombs(package, entries, limits)
            names = {e.filename for e in entries}
            types = package.read("[Content_Types].xml").decode("utf-8", "replace") \
                if "[Content_Types].xml" in names else ""
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError):
        raise Refused(422, "压缩包已损坏或无法读取（docx/xlsx 须为完整的 Office Open XML 文件）") from None
    for media_type, (marker, main_part) in OFFICE.items():
        if marker in types and main_part in names:
            return media_type
    raise Refused(415, "压缩文件不是 Word（docx）或 Excel（xlsx）文档：仅接受这两种 Office 格式")


def _refuse_bombs(package: zipfile.ZipFile, entries: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Declared sizes first (cheap), then the real unpacked bytes, counted, stopping at the limit."""
    bomb = Refused(422, f"Office 文件解压后超过{limits.max_unpacked_bytes}字节或压缩比异常（疑似压缩炸弹）")
    if len(entries) > MAX_ENTRIES:
        raise Refused(422, f"Office 文件包含{len(entries)}个部件，超过上限{MAX_ENTRIES}个（疑似压缩炸弹）")
    if sum(e.file_size for e in entries) > limits.max_unpacked_bytes:
        raise bomb
    unpacked = 0
    for entry in entries:
        if entry.file_size > MAX_RATIO * max(entry.compress_size, 1) and entry.file_size > 1024 * 1024:
            raise bomb
        with package.open(entry) as part:
            while chunk := part.read(1024 * 1024):
                unpacked += len(chunk)
                if unpacked > limits.max_unpacked_bytes:
                    raise bomb


_UNSAFE = re.compile(r"[\\/:*?\"<>|]")


def safe_filename(name: str, media_type: str) -> str:
    """The client's file name without directories, control characters or reserved characters, at most
    100 characters, ending in the extension of what the file really is."""
    base = unicodedata.normalize("NFC", re.split(r"[\\/]", name or "")[-1])
    base = "".join(ch for ch in base if not unicodedata.category(ch).startswith("C"))
    base = _UNSAFE.sub("_", base).strip().lstrip(".")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    extension = EXTENSIONS[media_type]
    return (stem or "材料")[: NAME_LIMIT - len(extension)] + extension


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback and the UTF-8 name as ``filename*`` (RFC 5987)."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
