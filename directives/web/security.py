"""The web app's defences: CSRF tokens, login throttling, security headers.

The session secret is ``directives.links.secret_key``: it signs emailed links too.
"""

from __future__ import annotations

import hmac
import json
import math
import secrets
import threading
from collections import deque
from datetime import datetime, timedelta

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

# 'self' only: no inline script or style, no CDN; e-mail HTML is served apart (see routes.mail).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-src 'self'; "
    "frame-ancestors 'none'"
)


class CsrfRefused(Exception):
    """A state-changing request without the session's CSRF token."""


class TooManyAttempts(Exception):
    """Too many failed logins for this name or address; ``retry_after`` in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def new_csrf_token(request: Request) -> str:
    """Replace the session's token (after login, so a token seen before it is worthless)."""
    request.session["csrf"] = secrets.token_urlsafe(32)
    return str(request.session["csrf"])


def uses_bearer_token(request: Request) -> bool:
    """An API request that authenticates with ``Authorization: Bearer``, not the session cookie.

    CSRF cannot forge one: a browser never adds a Bearer header on its own (only Basic and the
    like), and a page of another site cannot set it without a CORS preflight, which this app
    never grants. The API authenticates such a request by its token alone, never by the cookie
    (``web.api.auth``), so exempting it from the CSRF check lends the cookie to no one.
    """
    scheme = request.headers.get("authorization", "")[:7]
    return request.url.path.startswith("/api/") and scheme.lower() == "bearer "


def _without_cookie_authority(request: Request) -> bool:
    """An API request that no signed-in session stands behind: a token's, or nobody's (→ 401)."""
    if not request.url.path.startswith("/api/"):
        return False
    return uses_bearer_token(request) or "uid" not in request.session


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe method unless it carries the session's token (form field or header).

    CSRF protects what a session cookie may do, so API requests that carry no signed-in
    session's authority are left to the API's own authentication.
    """
    if request.method in SAFE_METHODS or _without_cookie_authority(request):
        return
    expected = request.session.get("csrf")
    supplied: object = request.headers.get(CSRF_HEADER)
    if supplied is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            supplied = (await request.form()).get(CSRF_FIELD)
    if not (
        isinstance(expected, str)
        and expected
        and isinstance(supplied, str)
        and hmac.compare_digest(expected.encode(), supplied.encode())
    ):
        raise CsrfRefused()


class LoginLimiter:
    """Failed logins counted per (user name, address) and per address, in a sliding window.

    In memory: one process serves the app (the embedded default); a restart forgets, which only
    ever lets someone try again sooner. Time comes from the caller, so tests move a clock.
    """

    def __init__(
        self,
        *,
        per_user: int = 5,
        per_address: int = 20,
        window: timedelta = timedelta(minutes=15),
        max_keys: int = 10_000,
    ) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.window = window
        self.max_keys = max_keys
        self._failures: dict[tuple[str, str], deque[datetime]] = {}
        self._lock = threading.Lock()

    def _keys(self, username: str, ip: str) -> list[tuple[tuple[str, str], int]]:
        return [((username.strip().lower(), ip), self.per_user), (("", ip), self.per_address)]

    def _recent(self, key: tuple[str, str], now: datetime) -> deque[datetime]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def check(self, username: str, ip: str, now: datetime) -> None:
        """Raise TooManyAttempts while either count is at its limit."""
        with self._lock:
            for key, limit in self._keys(username, ip):
                times = self._recent(key, now)
                if len(times) >= limit:
                    wait = times[0] + self.window - now
                    raise TooManyAttempts(max(1, math.ceil(wait.total_seconds())))

    def failed(self, username: str, ip: str, now: datetime) -> None:
        """Count one failure."""
        with self._lock:
            if len(self._failures) >= self.max_keys:
                self._prune(now)
            for key, _ in self._keys(username, ip):
                times = self._recent(key, now)
                times.append(now)
                self._failures[key] = times

    def succeeded(self, username: str, ip: str) -> None:
        """Forget this name's failures from this address (the address count stays)."""
        with self._lock:
            self._failures.pop((username.strip().lower(), ip), None)

    def _prune(self, now: datetime) -> None:
        for key in list(self._failures):
            if not self._recent(key, now):
                del self._failures[key]


class SecurityHeaders:
    """Adds CSP, nosniff, a referrer policy, framing rules and no-store to every response.

    A response that sets one of these itself (the e-mail HTML viewer does) keeps its own.
    """

    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        self.app = app
        self.defaults = [
            ("Content-Security-Policy", CSP),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"),
            ("X-Frame-Options", "DENY"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
            ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
        ]
        if https:
            self.defaults.append(("Strict-Transport-Security", "max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.defaults:
                    headers.setdefault(name, value)
                # Pages may hold one agency's data: never cached. Static files carry ?v=digest.
                cache = "public, max-age=86400" if static else "no-store"
                headers.setdefault("Cache-Control", cache)
            await send(message)

        await self.app(scope, receive, send_with_headers)


MAX_BODY_BYTES = 32 * 1024 * 1024  # an import file or an attachment, with room to spare


def _too_large_text(limit: int) -> str:
    return f"Nội dung gửi lên quá lớn: tối đa {limit // (1024 * 1024)} MB."


class _BodyTooLarge(HTTPException):
    """Raised while the body is read; an HTTPException, so that FastAPI's form parsing lets it
    through (it turns any other error into a 400) and the app's error page answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large_text(limit))


class BodyLimit:
    """Refuses a request body over ``limit`` bytes with 413, before anything reads it.

    A declared Content-Length over the limit is refused at once; a body sent in chunks is
    counted as it arrives, and refused when it passes the limit (unless the app has already
    begun its answer, which no route does before reading its form). So the CSRF check, which
    parses the form, never spools an attacker's gigabytes to disk.
    """

    def __init__(self, app: ASGIApp, *, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLarge(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        text = _too_large_text(self.limit)
        if str(scope.get("path", "")).startswith("/api/"):
            body = json.dumps({"detail": text}, ensure_ascii=False).encode()
            kind = b"application/json"
        else:
            body = f"<!doctype html><meta charset=utf-8><title>413</title><p>{text}</p>".encode()
            kind = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
