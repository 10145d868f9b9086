"""Links in emails: signed, expiring, single-purpose tokens bound to one task and one recipient.

A token carries ``{"t": task code, "a": agency code, "e": recipient email or "", "p": purpose}``,
signed with the app's secret and a salt per purpose, and stamped with the time it was issued.
Opening it (``GET /l/{token}``) only routes: the signed-in user must be a user of that agency,
and the task page then checks, as always, that the agency leads or coordinates the task. A token
never grants anything the user does not already have.

The mail builder calls ``task_link(settings, code, agency, purpose, email=…, now=clock.now())``.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from directives.settings import Settings
from directives.web.security import secret_key

LINK_MAX_AGE = timedelta(days=30)
MAX_TOKEN_CHARS = 600
# What a link is for → the part of the task page it opens.
PURPOSES: dict[str, str] = {
    "open": "",
    "acknowledge": "xac-nhan",
    "report": "bao-cao",
    "extension": "gia-han",
}
_SALT = "directives.task-link."


class LinkRefused(Exception):
    """A token that opens nothing: ``status`` 403 (bad, tampered, misused) or 410 (expired)."""

    def __init__(self, status: int, reason: str, claim: LinkClaim | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.claim = claim


@dataclass(frozen=True)
class LinkClaim:
    """What a valid token says: this task, for this agency (and address), for this purpose."""

    task: str
    agency: str
    email: str
    purpose: str

    @property
    def path(self) -> str:
        """The agency's page of the task, at the part the purpose names."""
        anchor = PURPOSES[self.purpose]
        return f"/inbox/{self.task}" + (f"#{anchor}" if anchor else "")


def _serializer(settings: Settings, purpose: str, at: datetime | None) -> URLSafeTimedSerializer:
    stamp = int(at.timestamp()) if at is not None else None

    class _Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return stamp if stamp is not None else int(time.time())

    return URLSafeTimedSerializer(
        secret_key(settings),
        salt=_SALT + purpose,
        signer=_Signer,
        signer_kwargs={"digest_method": hashlib.sha256},
    )


def task_token(
    settings: Settings,
    task_code: str,
    agency_code: str,
    purpose: str = "open",
    *,
    email: str = "",
    now: datetime | None = None,
) -> str:
    """A token for ``agency_code``'s recipient to open ``task_code`` for ``purpose``."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}; use one of {', '.join(PURPOSES)}")
    payload = {"t": task_code.upper(), "a": agency_code.upper(), "e": email, "p": purpose}
    return str(_serializer(settings, purpose, now).dumps(payload))


def task_path(
    settings: Settings,
    task_code: str,
    agency_code: str,
    purpose: str = "open",
    *,
    email: str = "",
    now: datetime | None = None,
) -> str:
    """``/l/<token>``: the link's path on the web app."""
    return "/l/" + task_token(settings, task_code, agency_code, purpose, email=email, now=now)


def task_link(
    settings: Settings,
    task_code: str,
    agency_code: str,
    purpose: str = "open",
    *,
    email: str = "",
    now: datetime | None = None,
) -> str:
    """The full link for an email (empty when no ``DIRECTIVES_APP_URL`` is set: no links)."""
    if not settings.app_url:
        return ""
    path = task_path(settings, task_code, agency_code, purpose, email=email, now=now)
    return settings.app_url.rstrip("/") + path


def _claim(payload: Any, purpose: str) -> LinkClaim:
    if not isinstance(payload, dict):
        raise LinkRefused(403, "nội dung liên kết không hợp lệ")
    values = [payload.get(k) for k in ("t", "a", "e", "p")]
    if not all(isinstance(v, str) for v in values):
        raise LinkRefused(403, "nội dung liên kết không hợp lệ")
    task, agency, email, said = (str(v) for v in values)
    if said != purpose:  # cannot happen without the key, but the salt and payload must agree
        raise LinkRefused(403, "liên kết dùng sai mục đích")
    return LinkClaim(task, agency, email, purpose)


def _expired_claim(
    serializer: URLSafeTimedSerializer, exc: SignatureExpired, purpose: str
) -> LinkClaim | None:
    """What an expired token said (its signature was good), for the audit trail."""
    if not isinstance(exc.payload, bytes):
        return None
    try:
        return _claim(serializer.load_payload(exc.payload), purpose)
    except (BadSignature, LinkRefused):
        return None


def read_token(
    settings: Settings, token: str, *, now: datetime, max_age: timedelta = LINK_MAX_AGE
) -> LinkClaim:
    """The claim of a valid token; raises LinkRefused for anything else."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise LinkRefused(403, "liên kết không hợp lệ")
    for purpose in PURPOSES:
        serializer = _serializer(settings, purpose, now)
        try:
            payload = serializer.loads(token, max_age=int(max_age.total_seconds()))
        except SignatureExpired as exc:
            expired = _expired_claim(serializer, exc, purpose)
            if exc.date_signed is not None and exc.date_signed > now:
                raise LinkRefused(403, "liên kết có thời điểm cấp không hợp lệ", expired) from None
            raise LinkRefused(410, "liên kết đã hết hạn", expired) from None
        except BadSignature:
            continue
        return _claim(payload, purpose)
    raise LinkRefused(403, "liên kết không hợp lệ hoặc đã bị sửa")
