"""The template filters' text handling, against its definition over every code point."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from notifications.filters import one_line


def _by_definition(text: str) -> str:
    spaced = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    return " ".join(spaced.split())


def test_one_line_turns_exactly_the_control_and_separator_characters_into_spaces() -> None:
    every = [chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF]
    for start in range(0, len(every), 4096):
        chunk = every[start : start + 4096]
        text = "a".join(chunk)
        assert one_line(text) == _by_definition(text)


def test_one_line_keeps_vietnamese_text_and_joins_its_lines() -> None:
    text = "Báo cáo\r\ntiến độ\u2028dự án\x85 đường\u2029vành đai\t3\x00 "
    assert one_line(text) == "Báo cáo tiến độ dự án đường vành đai 3"
    assert one_line(12) == "12"


def test_a_dicts_keys_read_in_a_template_as_jinja_reads_them() -> None:
    from jinja2 import Environment, StrictUndefined, UndefinedError

    from notifications.render import environment

    shown = "{{ row.code }} {{ row.values is callable }} {{ row.get('code') }}"
    row = {"code": "NV-1", "values": [1, 2]}
    jinja = Environment(undefined=StrictUndefined)
    for env in (environment(), jinja):
        assert env.from_string(shown).render(row=row) == "NV-1 True NV-1"
        with pytest.raises(UndefinedError, match="missing"):
            env.from_string("{{ row.missing }}").render(row=row)
