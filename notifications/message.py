"""Building the MIME message of an ``Outgoing`` and its SMTP envelope.

Policy: ``email.policy.SMTP`` (CRLF line ends, 78-column lines) with ``cte_type="7bit"``, so every
non-ASCII body is quoted-printable or base64 and passes relays without 8BITMIME, and with
``refold_source="none"``, so the hand-encoded headers are written as they are. ``bytes(msg)`` is
ready for ``DATA`` as it stands. Addresses are ``headerregistry.Address`` objects, checked, but
the Subject and address headers are encoded by ``notifications.headers``, not by the standard
folder, which loses spaces in long Vietnamese subjects. The MIME boundaries are drawn from the
content, not at random: the same message, built at the same date, is the same bytes.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from notifications.addresses import address, check_message_id, unique_emails
from notifications.filters import one_line
from notifications.headers import address_list, unstructured
from notifications.model import Outgoing
from notifications.render import render

POLICY = SMTP.clone(cte_type="7bit", refold_source="none")
_CID = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+(?:@[A-Za-z0-9.-]+)?")
_SUBTYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*")


def _boundary(o: Outgoing, text: str, html: str, part: str) -> str:
    """A boundary that only this content makes (it cannot occur in it: it hashes it)."""
    digest = hashlib.sha256()
    for piece in (o.message_id, part, text, html, *(i.cid for i in o.images)):
        digest.update(piece.encode("utf-8", "surrogatepass") + b"\0")
    for image in o.images:
        digest.update(image.data)
    return "=_" + digest.hexdigest()[:40]


def build(o: Outgoing, *, date: datetime | None = None) -> EmailMessage:
    """The multipart/alternative message of ``o``, dated ``date`` (an aware datetime) or now."""
    if not o.to:
        raise ValueError(f"message {o.message_id!r} ({o.kind}) has no recipient")
    if date is None:
        date = datetime.now(UTC)
    elif date.tzinfo is None:
        raise ValueError(f"message date must carry a time zone, got {date.isoformat()!r}")
    rendered = render(o.kind, o.context, reply_to=o.reply_to)

    msg = EmailMessage(policy=POLICY)
    # Set raw: see notifications.headers for why the standard folder is not trusted here.
    msg.set_raw("From", address_list("From", [address(o.sender)]))
    msg.set_raw("To", address_list("To", [address(p) for p in o.to]))
    if o.cc:
        msg.set_raw("Cc", address_list("Cc", [address(p) for p in o.cc]))
    if o.reply_to is not None:
        msg.set_raw("Reply-To", address_list("Reply-To", [address(o.reply_to)]))
    msg.set_raw("Subject", unstructured("Subject", rendered.subject))
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = check_message_id(o.message_id)
    if o.notice_ids:
        msg["X-Directives-Notices"] = ",".join(str(int(i)) for i in o.notice_ids)
    msg["X-Directives-Kind"] = o.kind
    msg["Auto-Submitted"] = "auto-generated"
    # Keeps Exchange/Outlook from answering with out-of-office notes to the officer.
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"

    msg.set_content(rendered.text, charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    msg.set_boundary(_boundary(o, rendered.text, rendered.html, "alternative"))
    msg["Content-Language"] = "vi"  # after the body: set_content would move it into a part
    html_part = msg.get_body(("html",))
    assert html_part is not None  # just added
    for image in o.images:
        if not _CID.fullmatch(image.cid):
            raise ValueError(f"invalid image Content-ID {image.cid!r} in {o.message_id!r}")
        if not _SUBTYPE.fullmatch(image.subtype):
            raise ValueError(f"invalid image subtype {image.subtype!r} in {o.message_id!r}")
        if f"cid:{image.cid}" not in rendered.html:
            raise ValueError(f"image {image.cid!r} is not referenced by the {o.kind} HTML")
        html_part.add_related(
            image.data,
            maintype="image",
            subtype=image.subtype,
            cid=f"<{image.cid}>",
            filename=one_line(image.filename) or f"{image.cid}.{image.subtype}",
            disposition="inline",
        )
    if o.images:
        html_part.set_boundary(_boundary(o, rendered.text, rendered.html, "related"))
    return msg


def envelope(o: Outgoing) -> tuple[str, list[str]]:
    """The SMTP envelope of ``o``: the sender's address and every To/Cc address once."""
    return address(o.sender).addr_spec, unique_emails((*o.to, *o.cc))
