"""One check in front of every route: a NUL character in a request's text is refused with 422.

PostgreSQL cannot hold U+0000 in a text column, so a NUL that reached a query would be a server
error there (and stored on SQLite, to trip up every later export). Rather than each route
remembering, the app refuses it for every query parameter, form field and uploaded file name,
naming the field. JSON bodies are the API's value types' job (``api.fields.Clean``).
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request

from directives.errors import InvalidInput
from directives.web.security import SAFE_METHODS

NUL = "\x00"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_REASON = "có ký tự NUL (\\x00), không lưu được; hãy xóa ký tự đó rồi gửi lại"


def _named(name: str) -> str:
    return repr(name if len(name) <= 40 else name[:40] + "…")


async def refuse_nul(request: Request) -> None:
    """Raise InvalidInput (→ 422) for the first parameter or form field holding a NUL."""
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            raise InvalidInput(f"tham số {_named(name)} {_REASON}")
    content_type = request.headers.get("content-type", "")
    if request.method in SAFE_METHODS or not content_type.startswith(_FORM_TYPES):
        return
    # Parsed once: the CSRF check, or FastAPI for a route's Form(...) parameters, has read it.
    for name, field in (await request.form()).multi_items():
        if NUL in name:
            raise InvalidInput(f"trường {_named(name)} {_REASON}")
        if isinstance(field, UploadFile):
            if NUL in (field.filename or ""):
                raise InvalidInput(f"tên tệp ở trường {_named(name)} {_REASON}")
        elif NUL in field:
            raise InvalidInput(f"trường {_named(name)} {_REASON}")
