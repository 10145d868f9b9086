"""Reading the messages the file mailer wrote to ``var/mail/`` (the embedded default).

Names are validated strictly: a name is one file directly in the folder, never a path.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

MAX_BYTES = 10 * 1024 * 1024  # a larger file is not shown
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,250}\.eml")
_CID = re.compile(r"""(src\s*=\s*["'])cid:([^"']+)(["'])""", re.IGNORECASE)


def eml_name(message_id: str) -> str:
    """The file name the file mailer gives a Message-ID (kept in step with notifications)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", message_id.strip("<>")) + ".eml"


def mail_path(folder: Path, name: str) -> Path | None:
    """The file ``name`` directly inside ``folder``, or None for a bad name or a missing file."""
    if not _NAME.fullmatch(name) or ".." in name:
        return None
    base = folder.resolve()
    path = (base / name).resolve()
    if path.parent != base or not path.is_file():
        return None
    return path


@dataclass(frozen=True)
class MailSummary:
    """A line of the mail list."""

    name: str
    subject: str
    sender: str
    to: str
    date: datetime | None
    size: int


@dataclass(frozen=True)
class MailView:
    """A message ready to show: headers, the text part, the HTML part with inline images."""

    summary: MailSummary
    cc: str
    message_id: str
    text: str | None
    html: str | None
    attachments: list[tuple[str, str, int]] = field(default_factory=list)  # name, type, bytes


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _summary(path: Path, msg: EmailMessage) -> MailSummary:
    return MailSummary(
        name=path.name,
        subject=str(msg.get("Subject", "")),
        sender=str(msg.get("From", "")),
        to=str(msg.get("To", "")),
        date=_date(msg.get("Date")),
        size=path.stat().st_size,
    )


def _parse(path: Path, *, headers_only: bool = False) -> EmailMessage:
    with path.open("rb") as fh:
        msg = BytesParser(policy=policy.default).parse(fh, headersonly=headers_only)
    assert isinstance(msg, EmailMessage)
    return msg


def list_mail(folder: Path, *, offset: int = 0, limit: int = 50) -> tuple[list[MailSummary], int]:
    """The newest messages first (by file time), one page of them, and how many there are."""
    if not folder.is_dir():
        return [], 0
    files = sorted(
        (p for p in folder.iterdir() if p.suffix == ".eml" and p.is_file()),
        key=lambda p: (p.stat().st_mtime, p.name),
        reverse=True,
    )
    page = files[offset : offset + limit]
    return [_summary(p, _parse(p, headers_only=True)) for p in page], len(files)


def _inline_images(msg: EmailMessage, html: str) -> str:
    """Replace ``cid:`` references with data: URIs of the message's own image parts."""
    images: dict[str, str] = {}
    for part in msg.walk():
        cid = part.get("Content-ID")
        if cid and part.get_content_maintype() == "image":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                data = base64.b64encode(payload).decode("ascii")
                images[str(cid).strip("<>")] = f"data:{part.get_content_type()};base64,{data}"

    def swap(m: re.Match[str]) -> str:
        return m.group(1) + images.get(m.group(2), "") + m.group(3)

    return _CID.sub(swap, html)


def read_mail(path: Path) -> MailView:
    """The message in ``path``; a file over ``MAX_BYTES`` shows its headers only."""
    too_big = path.stat().st_size > MAX_BYTES
    msg = _parse(path, headers_only=too_big)
    text = html = None
    attachments = []
    if not too_big:
        text_part = msg.get_body(preferencelist=("plain",))
        html_part = msg.get_body(preferencelist=("html",))
        if text_part is not None:
            text = str(text_part.get_content())
        if html_part is not None:
            html = _inline_images(msg, str(html_part.get_content()))
        for part in msg.iter_attachments():
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else 0
            attachments.append((part.get_filename() or "", part.get_content_type(), size))
    return MailView(
        summary=_summary(path, msg),
        cc=str(msg.get("Cc", "")),
        message_id=str(msg.get("Message-ID", "")),
        text=text,
        html=html,
        attachments=attachments,
    )
