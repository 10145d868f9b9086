"""One error family for the whole engine; messages name the id and the bad value."""

from __future__ import annotations


class DirectivesError(Exception):
    """Base of every error the engine raises on purpose."""

    exit_code = 1


class NotFound(DirectivesError):
    """A referenced record (task code, agency code, …) does not exist."""

    exit_code = 3


class Conflict(DirectivesError):
    """The request clashes with stored state (duplicate code, disallowed transition)."""

    exit_code = 4


class InvalidInput(DirectivesError):
    """A value given by a user is malformed or out of range."""

    exit_code = 2


class TransitionNotAllowed(Conflict):
    """The task's workflow state does not allow this action."""


class PermissionDenied(DirectivesError):
    """The actor's role may not perform this action on this task."""

    exit_code = 5


class RowError(InvalidInput):
    """One bad cell of an import file: row number, column, value and reason."""

    def __init__(self, row: int, column: str, value: object, reason: str) -> None:
        self.row = row
        self.column = column
        self.value = value
        self.reason = reason
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "…"
        super().__init__(f"dòng {row}, cột {column!r}, giá trị {shown}: {reason}")


class ImportFileError(InvalidInput):
    """An import file was refused; ``errors`` lists every bad row (nothing was stored)."""

    def __init__(self, source: str, errors: list[RowError]) -> None:
        self.source = source
        self.errors = errors
        first = errors[0] if errors else None
        more = f" (và {len(errors) - 1} lỗi khác)" if len(errors) > 1 else ""
        super().__init__(f"{source}: {first}{more}; không có dữ liệu nào được ghi")
