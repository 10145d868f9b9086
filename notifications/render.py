"""Rendering one kind of message from its template triplet: subject, plain text and HTML."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifications.filters import FILTERS, one_line
from notifications.model import KINDS, Person

TEMPLATES = Path(__file__).parent / "templates"
RESERVED = ("reply_to",)
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")


@dataclass(frozen=True)
class Rendered:
    """A message's subject (one line), plain-text body and HTML body."""

    subject: str
    text: str
    html: str


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(Environment):
    """Jinja's environment, with ``row.key`` on a plain dict looked up as an item at once.

    Jinja tries the attribute first and the item after its AttributeError: the same answer,
    but a digest reads a hundred thousand keys this way and the exceptions cost a fifth of its
    rendering. A name that is an attribute of every dict (``values``, ``items``) still means
    the attribute, as in Jinja.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``obj.attribute`` in a template."""
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


@functools.cache
def environment() -> Environment:
    """The shared Jinja environment: strict about missing keys, escaping only ``.html``."""
    env = _Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(
            enabled_extensions=("html",), default_for_string=False, default=False
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.filters.update(FILTERS)
    return env


def render(kind: str, context: Mapping[str, Any], *, reply_to: Person | None = None) -> Rendered:
    """Render ``kind`` with ``context``; ``reply_to`` names the officer in the footer."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}; expected one of {', '.join(KINDS)}")
    clash = [key for key in RESERVED if key in context]
    if clash:
        raise ValueError(f"context key {clash[0]!r} is reserved for the renderer ({kind})")
    data = dict(context)
    data["reply_to"] = (
        {"name": one_line(reply_to.name), "email": reply_to.email} if reply_to else None
    )
    env = environment()
    subject = env.get_template(f"{kind}-subject").render(data)
    text = env.get_template(f"{kind}-body.txt").render(data)
    html = env.get_template(f"{kind}-body.html").render(data)
    # Macros leave runs of blank lines behind; a plain-text reader wants at most one.
    text = _BLANK_LINES.sub("\n\n", text).strip() + "\n"
    return Rendered(subject=one_line(subject), text=text, html=html.strip() + "\n")
