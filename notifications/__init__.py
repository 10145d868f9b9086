"""Vietnamese notification emails rendered from plain data; imports nothing from ``directives``."""

from notifications.message import POLICY, build, envelope
from notifications.model import (
    KINDS,
    InlineImage,
    Outgoing,
    Person,
    outgoing_from_json,
    outgoing_to_json,
)
from notifications.render import Rendered, render

__all__ = [
    "KINDS",
    "POLICY",
    "InlineImage",
    "Outgoing",
    "Person",
    "Rendered",
    "build",
    "envelope",
    "outgoing_from_json",
    "outgoing_to_json",
    "render",
]
