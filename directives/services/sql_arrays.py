"""Many ids in one parameter: a PostgreSQL array literal, cast to ``bigint[]`` in the SQL."""

from __future__ import annotations

import re
from collections.abc import Sequence

_UNQUOTABLE = re.compile(r'["\\,{} ]')


def pg_array(values: Sequence[int]) -> str:
    """Integers as one PostgreSQL array literal (``{1,2,3}``).

    One text parameter instead of an expanded IN list of thousands, and far cheaper for the
    driver than a Python list, which it adapts element by element.
    """
    return "{" + ",".join(map(str, values)) + "}"


def pg_optional_array(values: Sequence[int | None]) -> str:
    """Integers or NULLs as one PostgreSQL array literal (``{1,NULL,3}``)."""
    return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"


def pg_token_array(values: Sequence[str]) -> str:
    """Short tokens (rule names, ISO dates, '') as one PostgreSQL ``text[]`` literal.

    Each element is quoted, so '' stays an empty string; a token holding a quote, a backslash,
    a comma, a brace or a space is refused rather than escaped: none of ours ever does.
    """
    if _UNQUOTABLE.search("".join(values)):
        bad = next(v for v in values if _UNQUOTABLE.search(v))
        raise ValueError(f"not a token: {bad!r}")
    return '{"' + '","'.join(values) + '"}' if values else "{}"
