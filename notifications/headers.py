"""Header values written by hand, because the standard library's folding mangles Vietnamese.

Python's ``email`` folder (3.11–3.13) can move the space between two words outside the encoded
words when it folds a long non-ASCII Subject; RFC 2047 readers (Outlook, Gmail, Python itself)
then drop it ("ngày làmviệc"). Its parser also inserts a space between adjacent encoded words of
a display name (cpython#128110), so a name the folder split comes back as "Bình Đ ồng". Here:

- a Subject is encoded whole as base64 encoded words, every space inside a word, split only
  between characters (readers join adjacent encoded words, Python's parser included);
- a display name keeps its plain ASCII words as atoms and encodes each run of the other words as
  one encoded word, spaces inside, so that any reader sees it whole; only a run longer than an
  encoded word allows (about 40 Vietnamese characters) is split, which cpython#128110 then shows
  with an extra space, while RFC 2047 readers still read it right;
- every line stays within 78 columns, so no generator refolds it, whatever policy it uses.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from email.headerregistry import Address

MAX_LINE = 78
MAX_WORD = 75
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")


def encoded_word(text: str) -> str:
    """``text`` as one RFC 2047 base64 encoded word in UTF-8."""
    return "=?utf-8?b?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def encoded_words(text: str, first: int = MAX_WORD, limit: int = MAX_WORD) -> list[str]:
    """``text`` as encoded words of at most ``first`` then ``limit`` characters, split anywhere."""
    words: list[str] = []
    chunk = ""
    for ch in text:
        if chunk and len(encoded_word(chunk + ch)) > (limit if words else first):
            words.append(encoded_word(chunk))
            chunk = ""
        chunk += ch
    if chunk:
        words.append(encoded_word(chunk))
    return words


def fold(name: str, tokens: Iterable[str]) -> str:
    """``tokens`` joined by spaces, a line broken before any token that would pass 78 columns."""
    lines: list[str] = []
    line = f"{name}:"
    for token in tokens:
        if "\r" in token or "\n" in token:
            raise ValueError(f"line break inside {name} header token {token!r}")
        if len(line) + 1 + len(token) > MAX_LINE:
            # Folding right after the colon is allowed (FWS) and keeps the first line short.
            lines.append(line)
            line = ""
        line += " " + token
    lines.append(line)
    return "\r\n".join(lines)[len(name) + 2 :]


def unstructured(name: str, text: str) -> str:
    """The folded value of an unstructured header (Subject) holding ``text`` on one line."""
    if text.isascii() and "=?" not in text:
        return fold(name, text.split(" "))
    return fold(name, encoded_words(text, first=MAX_LINE - len(name) - 2))


def phrase(text: str) -> list[str]:
    """A display name as tokens: ASCII atoms as they are, each run of other words encoded."""
    tokens: list[str] = []
    run: list[str] = []
    for word in text.split(" "):
        if _ATOM.fullmatch(word) and "=?" not in word:
            if run:
                tokens.extend(encoded_words(" ".join(run)))
                run = []
            tokens.append(word)
        elif word:
            run.append(word)
    if run:
        tokens.extend(encoded_words(" ".join(run)))
    return tokens


def address_list(name: str, addresses: Iterable[Address]) -> str:
    """The folded value of an address header (From, To, Cc, Reply-To)."""
    tokens: list[str] = []
    for addr in addresses:
        if tokens:
            tokens[-1] += ","
        tokens.extend(phrase(addr.display_name) if addr.display_name else [])
        tokens.append(f"<{addr.addr_spec}>")
    return fold(name, tokens)
