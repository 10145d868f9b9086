"""The plain data of one outgoing email, and its JSON form for the outbox."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS: tuple[str, ...] = (
    "assigned",
    "assigned_again",
    "due_soon",
    "due_today",
    "overdue",
    "escalate_head",
    "escalate_leader",
    "extension_decided",
    "report_returned",
    "report_confirmed",
    "standing_nudge",
    "weekly_digest",
    "programme_status",
)


@dataclass(frozen=True)
class Person:
    """A display name and an address."""

    name: str
    email: str


@dataclass(frozen=True)
class InlineImage:
    """A chart referenced from the HTML as ``cid:<cid>``."""

    cid: str
    data: bytes
    filename: str
    subtype: str = "png"


@dataclass(frozen=True)
class Outgoing:
    """Everything needed to build one email; storable as JSON except the images."""

    kind: str
    to: tuple[Person, ...]
    cc: tuple[Person, ...]
    reply_to: Person | None
    sender: Person
    message_id: str
    notice_ids: tuple[int, ...]
    context: Mapping[str, Any] = field(hash=False)
    images: tuple[InlineImage, ...] = ()


def _person_to_json(p: Person) -> dict[str, str]:
    return {"name": p.name, "email": p.email}


def _person_from_json(d: Mapping[str, Any]) -> Person:
    return Person(name=str(d["name"]), email=str(d["email"]))


def outgoing_to_json(o: Outgoing) -> dict[str, Any]:
    """The JSON-able form of ``o``; images are left out (charts are redrawn from the context)."""
    return {
        "kind": o.kind,
        "to": [_person_to_json(p) for p in o.to],
        "cc": [_person_to_json(p) for p in o.cc],
        "reply_to": _person_to_json(o.reply_to) if o.reply_to is not None else None,
        "sender": _person_to_json(o.sender),
        "message_id": o.message_id,
        "notice_ids": list(o.notice_ids),
        "context": dict(o.context),
    }


def outgoing_from_json(d: Mapping[str, Any]) -> Outgoing:
    """The ``Outgoing`` stored by ``outgoing_to_json``, its charts drawn from ``context.charts``."""
    kind = str(d["kind"])
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    reply_to = d["reply_to"]
    context = dict(d["context"])
    return Outgoing(
        kind=kind,
        to=tuple(_person_from_json(p) for p in d["to"]),
        cc=tuple(_person_from_json(p) for p in d["cc"]),
        reply_to=_person_from_json(reply_to) if reply_to is not None else None,
        sender=_person_from_json(d["sender"]),
        message_id=str(d["message_id"]),
        notice_ids=tuple(int(i) for i in d["notice_ids"]),
        context=context,
        images=_chart_images(context),
    )


def _chart_images(context: Mapping[str, Any]) -> tuple[InlineImage, ...]:
    """The charts a context describes as data (see ``notifications.charts``), as inline PNGs.

    A spec without ``values`` names an image the caller attaches itself, and is skipped.
    """
    specs = [c for c in context.get("charts") or () if isinstance(c, Mapping) and "values" in c]
    if not specs:
        return ()
    from notifications.charts import images  # here: only messages with charts load matplotlib

    return images(specs)
