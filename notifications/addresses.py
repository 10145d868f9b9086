"""Checked addresses: display names on one line, addresses of a plain ``local@domain`` shape."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.headerregistry import Address

from notifications.filters import one_line
from notifications.model import Person

# Deliberately simple: ASCII only, no spaces, quotes, brackets or separators, one "@".
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_MESSAGE_ID = re.compile(r"<[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+>")


def check_email(email: str) -> str:
    """``email`` when it is a plain ``local@domain`` address, else ValueError naming it."""
    if not isinstance(email, str) or not _EMAIL.fullmatch(email) or ".." in email:
        raise ValueError(f"invalid email address {email!r}")
    return email


def check_message_id(message_id: str) -> str:
    """``message_id`` when it has the ``<left@right>`` shape, else ValueError naming it."""
    if not isinstance(message_id, str) or not _MESSAGE_ID.fullmatch(message_id):
        raise ValueError(f"invalid Message-ID {message_id!r}")
    return message_id


def address(person: Person) -> Address:
    """A header address for ``person``: the name on one line, the address checked."""
    return Address(display_name=one_line(person.name), addr_spec=check_email(person.email))


def unique_emails(people: Iterable[Person]) -> list[str]:
    """The checked addresses of ``people``, first spelling kept, case-insensitive duplicates out."""
    seen: set[str] = set()
    out: list[str] = []
    for person in people:
        email = check_email(person.email)
        if email.lower() not in seen:
            seen.add(email.lower())
            out.append(email)
    return out
