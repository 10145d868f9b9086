"""Documents attached to reports: checked, stored on disk, served back only to who may see them.

A file is kept as ``var/uploads/<task code>/<random name>.<ext>`` with a ``.json`` beside it
(its original name, size, who sent it, with which report). Only the listed types are taken, each
checked by its extension and by its first bytes; 10 MB at most. A file is served only to a user
who may see its task, always as a download (``Content-Disposition: attachment``, ``nosniff``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from fastapi import APIRouter, UploadFile
from fastapi.responses import FileResponse, Response

from directives.errors import InvalidInput, NotFound
from directives.settings import Settings
from directives.web.deps import DbDep, RuntimeDep, UserDep
from directives.web.routes._common import today_of, visible_task

router = APIRouter(include_in_schema=False)

MAX_BYTES = 10 * 1024 * 1024
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "jpg": "image/jpeg",
    "png": "image/png",
}
ACCEPT = ",".join(f".{ext}" for ext in CONTENT_TYPES) + ",.jpeg"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word 97–2003 and Excel 97–2003 files
_MAGIC = {
    "pdf": (b"%PDF-",),
    "doc": (_OLE2,),
    "xls": (_OLE2,),
    "jpg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
    "odt": (b"PK\x03\x04",),
}
_OOXML_PART = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}
_ODT = b"application/vnd.oasis.opendocument.text"
_STORED = re.compile(r"[A-Za-z0-9_-]{20,40}\.(?:" + "|".join(CONTENT_TYPES) + ")")
TYPES_TEXT = "PDF, Word (doc, docx), Excel (xls, xlsx), ODT, ảnh JPG hoặc PNG"


@dataclass(frozen=True)
class Attachment:
    """A stored document of a task."""

    name: str
    original: str
    size: int
    uploaded_at: str
    by: str
    agency: str
    report: str
    on: str

    @property
    def on_text(self) -> str:
        """The report's date as ``26/11/2026``."""
        try:
            return date.fromisoformat(self.on).strftime("%d/%m/%Y")
        except ValueError:
            return self.on

    @property
    def size_text(self) -> str:
        """``1,2 MB`` / ``35 kB``."""
        if self.size >= 1024 * 1024:
            return f"{self.size / 1024 / 1024:.1f} MB".replace(".", ",")
        return f"{max(1, round(self.size / 1024))} kB"


def _folder(settings: Settings, code: str) -> Path:
    return Path(settings.var_dir) / "uploads" / code


def clean_name(filename: str | None) -> str:
    """The file name as the sender had it, without folders or control characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if c.isprintable() and c != '"')
    return name.strip()[:120] or "tai-lieu"


def _extension(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return "jpg" if ext == "jpeg" else ext


def _size(fh: IO[bytes]) -> int:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(0)
    return size


def _zip_matches(fh: IO[bytes], ext: str) -> bool:
    try:
        with zipfile.ZipFile(fh) as z:
            names = set(z.namelist())
            if ext == "odt":
                with z.open("mimetype") as m:
                    return m.read(len(_ODT) + 1).strip() == _ODT
            return _OOXML_PART[ext] in names and "[Content_Types].xml" in names
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, ValueError):
        return False
    finally:
        fh.seek(0)


def check_upload(upload: UploadFile | None) -> tuple[str, str]:
    """(extension, original name) of an acceptable file; InvalidInput naming the fault."""
    if upload is None or not upload.filename:
        raise InvalidInput("cần đính kèm văn bản báo cáo")
    original = clean_name(upload.filename)
    ext = _extension(original)
    if ext not in CONTENT_TYPES:
        raise InvalidInput(f"tệp {original!r}: chỉ nhận {TYPES_TEXT}")
    size = _size(upload.file)
    if size > MAX_BYTES:
        raise InvalidInput(f"tệp {original!r} quá lớn ({size / 2**20:.1f} MB, tối đa 10 MB)")
    if size == 0:
        raise InvalidInput(f"tệp {original!r} rỗng")
    head = upload.file.read(16)
    upload.file.seek(0)
    if not any(head.startswith(m) for m in _MAGIC[ext]) or (
        head.startswith(b"PK") and not _zip_matches(upload.file, ext)
    ):
        raise InvalidInput(f"tệp {original!r} không đúng định dạng .{ext} (nội dung tệp khác)")
    return ext, original


def store(
    settings: Settings, code: str, upload: UploadFile, ext: str, meta: dict[str, Any]
) -> Attachment:
    """Write a checked upload under the task's folder, with its description beside it."""
    folder = _folder(settings, code)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_urlsafe(18)}.{ext}"
    partial = folder / f".{name}.part"
    with partial.open("xb") as out:
        upload.file.seek(0)
        while chunk := upload.file.read(1024 * 1024):
            out.write(chunk)
        size = out.tell()
    os.replace(partial, folder / name)
    record = {"name": name, "size": size, **meta}
    (folder / f"{name}.json").write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    return _attachment(record)


def _attachment(record: dict[str, Any]) -> Attachment:
    return Attachment(
        name=str(record["name"]),
        original=str(record.get("original", record["name"])),
        size=int(record.get("size", 0)),
        uploaded_at=str(record.get("uploaded_at", "")),
        by=str(record.get("by", "")),
        agency=str(record.get("agency", "")),
        report=str(record.get("report", "")),
        on=str(record.get("on", "")),
    )


def list_files(settings: Settings, code: str) -> list[Attachment]:
    """The documents stored for task ``code``, oldest first."""
    folder = _folder(settings, code)
    if not folder.is_dir():
        return []
    out = []
    for meta in folder.glob("*.json"):
        stored = meta.name.removesuffix(".json")
        if _STORED.fullmatch(stored) and (folder / stored).is_file():
            try:
                out.append(_attachment(json.loads(meta.read_text("utf-8"))))
            except (ValueError, KeyError):
                continue
    return sorted(out, key=lambda a: (a.uploaded_at, a.name))


def _disposition(original: str, fallback: str) -> str:
    ascii_name = "".join(c for c in original if c.isascii() and (c.isalnum() or c in "._- "))
    ascii_name = ascii_name.strip() or fallback
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(original, safe='')}"


@router.get("/tasks/{code}/files/{name}")
def download(code: str, name: str, user: UserDep, db: DbDep, rt: RuntimeDep) -> Response:
    """A document of a task, for a user who may see the task; always a download."""
    detail = visible_task(db, user, code, as_of=today_of(rt))
    missing = NotFound(f"nhiệm vụ {detail.task.code} không có tệp {name[:60]!r}")
    if not _STORED.fullmatch(name):
        raise missing
    folder = _folder(rt.settings, detail.task.code).resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        raise missing
    found = next((a for a in list_files(rt.settings, detail.task.code) if a.name == name), None)
    original = found.original if found else name
    return FileResponse(
        path,
        media_type=CONTENT_TYPES[_extension(name)],
        headers={
            "Content-Disposition": _disposition(original, name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
