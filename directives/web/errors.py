"""Errors to responses, in one place: the engine's error family, refusals, unknown pages.

Pages get a Vietnamese error page; paths under ``/api/`` get JSON ``{"detail": …}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from directives.errors import (
    Conflict,
    DirectivesError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from directives.web.deps import Forbidden, LoginRequired
from directives.web.security import CsrfRefused, TooManyAttempts
from directives.web.templating import render

_STATUS_TITLES = {
    400: "Yêu cầu không hợp lệ",
    401: "Cần đăng nhập",
    403: "Không có quyền truy cập",
    404: "Không tìm thấy",
    405: "Thao tác không được hỗ trợ",
    409: "Không thực hiện được",
    422: "Dữ liệu không hợp lệ",
    429: "Thử quá nhiều lần",
    500: "Lỗi hệ thống",
}


def is_api(request: Request) -> bool:
    """True for the JSON API's paths."""
    return request.url.path.startswith("/api/")


def error_response(
    request: Request,
    status: int,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The error page (or JSON under /api) with ``status`` and a Vietnamese message."""
    if is_api(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    title = _STATUS_TITLES.get(status, "Lỗi")
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message},
        status_code=status,
        headers=headers,
    )


def _status_of(exc: DirectivesError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InvalidInput):
        return 422
    return 400


async def _directives_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DirectivesError)
    message = str(exc)
    return error_response(request, _status_of(exc), message[:1].upper() + message[1:] + ".")


async def _login_required(request: Request, exc: Exception) -> Response:
    if is_api(request):
        return JSONResponse({"detail": "Cần đăng nhập."}, status_code=401)
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    location = "/login" if request.method != "GET" else f"/login?next={quote(target, safe='')}"
    return RedirectResponse(location, status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    return error_response(request, 403, "Tài khoản của bạn không được mở trang này.")


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    return error_response(
        request,
        403,
        "Biểu mẫu đã hết hạn hoặc không hợp lệ (thiếu mã chống giả mạo). "
        "Hãy tải lại trang rồi thử lại.",
    )


async def _too_many(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TooManyAttempts)
    minutes = max(1, -(-exc.retry_after // 60))
    return error_response(
        request,
        429,
        f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau khoảng {minutes} phút.",
        headers={"Retry-After": str(exc.retry_after)},
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    messages = {
        400: "Không đọc được nội dung yêu cầu (cần JSON, mã hóa UTF-8).",  # FastAPI's body parser
        404: "Không có trang này.",
        405: "Trang này không nhận thao tác đó.",
    }
    message = messages.get(exc.status_code) or str(exc.detail)
    return error_response(request, exc.status_code, message, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors()})
    shown = ", ".join(f for f in fields if f) or "yêu cầu"
    return error_response(request, 422, f"Giá trị không hợp lệ: {shown}.")


def install(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.add_exception_handler(DirectivesError, _directives_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_exception_handler(TooManyAttempts, _too_many)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
