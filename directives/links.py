"""Links in emails: signed, expiring, single-purpose tokens bound to one task and one recipient.

A token carries ``{"t": task code, "a": agency code, "e": recipient email or "", "p": purpose}``,
signed with the installation's secret and a salt per purpose, and stamped with the time it was
issued. Opening it (``GET /l/{token}``, in ``directives.web``) only routes: the signed-in user
must be a user of that agency, and the task page then checks, as always, that the agency leads
or coordinates the task. A token never grants anything the user does not already have.

Signing is left to delivery: at enqueue a message records once, in its context, whom its links
are for (``LinkSpec``); the dispatcher signs each task row with ``Linker`` just before building
the message, stamped with the spec's issue time, so every retry builds the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from directives.settings import Settings

SECRET_FILE = "secret_key"
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


def secret_key(settings: Settings) -> str:
    """DIRECTIVES_SECRET_KEY, else a key generated once and kept in ``var_dir`` (mode 0600)."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.var_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if len(key) < 32:
            raise ValueError(f"{path}: khóa bí mật quá ngắn; xóa tệp để tạo lại") from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key


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


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}; use one of {', '.join(PURPOSES)}")


def _serializer(key: str, purpose: str, at: datetime | None) -> URLSafeTimedSerializer:
    stamp = int(at.timestamp()) if at is not None else None

    class _Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return stamp if stamp is not None else int(time.time())

    return URLSafeTimedSerializer(
        key,
        salt=_SALT + purpose,
        signer=_Signer,
        signer_kwargs={"digest_method": hashlib.sha256},
    )


@dataclass(frozen=True)
class LinkSpec:
    """Whom a message's links are for, recorded once per message when it is enqueued.

    ``lead_agency`` (a name), when set, limits the links to the rows of the tasks that agency
    leads; unset, every row is the recipient's (a coordinating agency's copy).
    """

    agency: str
    email: str
    purpose: str
    issued_at: datetime
    lead_agency: str | None = None

    def to_json(self) -> dict[str, str]:
        """The spec as stored in a message's context (``context["links"]``)."""
        data = {
            "agency": self.agency,
            "email": self.email,
            "purpose": self.purpose,
            "issued_at": self.issued_at.isoformat(),
        }
        return data | ({"lead_agency": self.lead_agency} if self.lead_agency else {})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LinkSpec:
        """The spec ``to_json`` stored; raises ValueError or KeyError for anything else."""
        purpose = str(data["purpose"])
        _check_purpose(purpose)
        issued_at = datetime.fromisoformat(str(data["issued_at"]))
        if issued_at.tzinfo is None:
            raise ValueError(f"link issue time without a time zone: {data['issued_at']!r}")
        lead = data.get("lead_agency")
        return cls(
            str(data["agency"]),
            str(data.get("email") or ""),
            purpose,
            issued_at,
            str(lead) if lead else None,
        )

    def covers(self, row: Mapping[str, Any]) -> bool:
        """Whether the task row ``row`` is the recipient agency's, so gets its link."""
        return self.lead_agency is None or row.get("lead_agency") == self.lead_agency


class Linker:
    """Signs the links of one message: one key, recipient, purpose and issue time for all rows."""

    def __init__(self, key: str, app_url: str, spec: LinkSpec) -> None:
        self.base = app_url.rstrip("/") + "/l/"
        self.spec = spec
        self._payload = {"a": spec.agency.upper(), "e": spec.email, "p": spec.purpose}
        self._serializer = _serializer(key, spec.purpose, spec.issued_at)

    def token(self, task_code: str) -> str:
        """The token of ``task_code`` for this message's recipient."""
        return str(self._serializer.dumps({"t": task_code.upper(), **self._payload}))

    def link(self, task_code: str) -> str:
        """The full link of ``task_code``."""
        return self.base + self.token(task_code)


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
    _check_purpose(purpose)
    payload = {"t": task_code.upper(), "a": agency_code.upper(), "e": email, "p": purpose}
    return str(_serializer(secret_key(settings), purpose, now).dumps(payload))


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
    key = secret_key(settings)
    for purpose in PURPOSES:
        serializer = _serializer(key, purpose, now)
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
