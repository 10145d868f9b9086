"""Importing a tasks file (CSV or XLSX, one task a row): every bad row shown, or all stored.

The file is read by ``importing.read_task_rows`` and stored by ``intake.issue_directives``, as
``directives import`` does; a file with any bad row stores nothing and lists every row error.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from directives.errors import ImportFileError, InvalidInput, RowError
from directives.importing import read_task_rows
from directives.services import intake
from directives.services.mailing import MailSettings
from directives.web.deps import DbDep, RuntimeDep, SecretariatDep, audit_change
from directives.web.routes.attachments import clean_name
from directives.web.templating import flash, render

router = APIRouter(include_in_schema=False)


@router.get("/import")
def import_page(request: Request, user: SecretariatDep) -> Response:
    """The file import form."""
    return render(request, "desk/import.html", {"errors": [], "message": "", "source": ""})


def _read_upload(upload: UploadFile, folder: Path) -> Path:
    name = clean_name(upload.filename)
    if not name.lower().endswith((".csv", ".xlsx")):
        raise InvalidInput(f"{name}: chỉ nhận tệp .csv hoặc .xlsx")
    path = folder / name.replace("/", "_")
    with path.open("wb") as out:
        while chunk := upload.file.read(1024 * 1024):
            out.write(chunk)
    return path


@router.post("/import")
def import_file(
    request: Request,
    user: SecretariatDep,
    db: DbDep,
    rt: RuntimeDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Import a tasks file; any bad row → every bad row listed, nothing stored."""
    errors: list[RowError] = []
    source = clean_name(file.filename if file else "")
    try:
        if file is None or not file.filename:
            raise InvalidInput("chọn tệp CSV hoặc XLSX cần nhập")
        with tempfile.TemporaryDirectory(prefix="import-") as folder:
            rows = read_task_rows(_read_upload(file, Path(folder)))
        batch = intake.directives_from_rows(rows)
        stored = intake.issue_directives(
            db,
            batch,
            actor=user.actor,
            clock=rt.clock,
            source=source,
            mail=MailSettings.from_settings(rt.settings),
        )
    except ImportFileError as exc:
        errors = exc.errors
        message = f"Tệp {source} có {len(errors)} lỗi; không có dữ liệu nào được ghi."
        context = {"errors": errors, "message": message, "source": source}
        return render(request, "desk/import.html", context, status_code=422)
    except InvalidInput as exc:
        message = str(exc)
        context = {
            "errors": [],
            "message": message[:1].upper() + message[1:] + ".",
            "source": source,
        }
        return render(request, "desk/import.html", context, status_code=422)
    audit_change(
        request,
        db,
        user,
        "import_tasks",
        target=source,
        detail={"directives": len(stored), "tasks": len(rows)},
    )
    flash(request, f"Đã nhập {len(stored)} văn bản, {len(rows)} nhiệm vụ từ {source}.", "success")
    return RedirectResponse("/tasks?status=all", status_code=303)
