"""Pushing a directive in (``POST /api/directives``), as the document-management system does.

Idempotent on (number, year): sending the same directive again stores nothing and answers 409
with the codes its tasks were given the first time, so a sender that lost the first answer (a
timeout, a retry) learns the codes without creating duplicates.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from directives.db.tables import Directive, Task
from directives.errors import Conflict, ImportFileError, RowError
from directives.services import intake
from directives.services.mailing import MailSettings
from directives.web.api.auth import Api, ApiDep
from directives.web.api.fields import calendar_bounds
from directives.web.api.inputs import DirectiveIn
from directives.web.api.outputs import CreatedOut, DuplicateOut, FieldError, InvalidOut, errors
from directives.workflow import Role

router = APIRouter(tags=["Văn bản chỉ đạo"])

# The intake service names the directive's own columns as an import file does.
_DIRECTIVE_FIELDS = {"signer": "signer", "summary": "summary", "directive_number": "number"}


def _field(error: RowError) -> str:
    if error.column in _DIRECTIVE_FIELDS:
        return _DIRECTIVE_FIELDS[error.column]
    return f"tasks.{error.row - 1}.{error.column}"  # rows are the tasks, counted from 1


def _invalid(exc: ImportFileError) -> JSONResponse:
    errors = [
        FieldError(field=_field(e), message=f"{e.reason} (giá trị {str(e.value)[:80]!r})")
        for e in exc.errors
    ]
    first = errors[0]
    more = f" (và {len(errors) - 1} lỗi khác)" if len(errors) > 1 else ""
    body = InvalidOut(
        detail=f"Văn bản không hợp lệ: {first.field}: {first.message}{more}.", errors=errors
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=422)


def _existing_codes(api: Api, number: str, year: int) -> list[str] | None:
    directive_id = api.db.scalar(
        select(Directive.id).where(Directive.number == number, Directive.year == year)
    )
    if directive_id is None:
        return None
    codes = api.db.scalars(
        select(Task.code).where(Task.directive_id == directive_id).order_by(Task.position)
    )
    return list(codes)


@router.post(
    "/directives",
    status_code=201,
    response_model=CreatedOut,
    responses=errors(400, 401, 403, 409, 422, _409=DuplicateOut),
    summary="Nhập văn bản chỉ đạo và các nhiệm vụ",
    operation_id="create_directive",
)
def create_directive(api: ApiDep, body: DirectiveIn) -> CreatedOut | JSONResponse:
    """Ghi văn bản chỉ đạo cùng các nhiệm vụ và gửi thư giao việc; chỉ Văn phòng được nhập.

    Thời hạn mỗi nhiệm vụ là một ngày (``deadline``), hoặc số ngày làm việc kể từ ngày ban hành
    (``working_days``), hoặc bỏ trống (nhiệm vụ thường xuyên). Gửi lại văn bản cùng số, cùng năm
    thì không ghi gì thêm: trả 409 kèm mã các nhiệm vụ đã cấp.
    """
    api.require(Role.SECRETARIAT, doing="nhập văn bản chỉ đạo")
    new = body.to_new_directive()
    year = new.issued_on.year
    codes = _existing_codes(api, new.number, year)
    if codes is not None:
        duplicate = DuplicateOut(
            detail=f"Văn bản số {new.number} năm {year} đã có; không ghi thêm.",
            number=new.number,
            year=year,
            codes=codes,
        )
        return JSONResponse(duplicate.model_dump(mode="json"), status_code=409)
    try:
        with calendar_bounds():
            (directive,) = intake.issue_directives(
                api.db,
                [new],
                actor=api.caller.actor,
                clock=api.rt.clock,
                source="api",
                mail=MailSettings.from_settings(api.rt.settings),
            )
        api.db.flush()
    except ImportFileError as exc:
        return _invalid(exc)  # checked before anything is written: nothing to undo
    except IntegrityError:  # the same directive, stored by a concurrent request just now
        raise Conflict(
            f"văn bản số {new.number} năm {year} vừa được ghi; gửi lại để lấy mã"
        ) from None
    codes = [t.code for t in sorted(directive.tasks, key=lambda t: t.position)]
    api.audit(
        "issue_directive",
        target=f"{new.number} ({year})",
        number=new.number,
        year=year,
        codes=codes,
        source_ref=new.source_ref,
    )
    return CreatedOut(number=new.number, year=year, codes=codes)
