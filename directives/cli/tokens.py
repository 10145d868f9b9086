"""API tokens from the command line: add (the token is printed once), list, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from directives.cli._common import Format, runtime, unit_of_work
from directives.cli._output import emit
from directives.services import api_tokens, audit
from directives.workflow import Role

tokens_app = typer.Typer(
    help="Token cho hệ thống gọi API (ví dụ hệ thống quản lý văn bản).", no_args_is_help=True
)

CLI_USER = "cli"  # the audit trail's name for whoever runs the command line


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="minutes") if value is not None else None


@tokens_app.command("add")
def tokens_add(
    name: Annotated[str, typer.Argument(metavar="TÊN", help="Ví dụ: qlvb (hệ thống QLVB).")],
    role: Annotated[
        str,
        typer.Option("--role", help="Phạm vi: secretariat, agency:MÃ hoặc leader:MÃ."),
    ],
) -> None:
    """Tạo token; token chỉ hiện một lần, hãy lưu lại ngay.

    Ví dụ: directives tokens add qlvb --role secretariat
    """
    rt = runtime()
    with unit_of_work() as s:
        token, text = api_tokens.create_token(
            s, name=name, scope=api_tokens.Scope.parse(role), clock=rt.clock
        )
        scope = str(api_tokens.scope_of(token))
        audit.record(
            s,
            username=CLI_USER,
            role=Role.SYSTEM.value,
            action="api_token_added",
            target=token.name,
            detail={"id": token.id, "scope": scope},
            clock=rt.clock,
        )
    typer.echo(f"Đã tạo token {token.name} (số {token.id}, phạm vi {scope}).")
    typer.echo("Token chỉ hiện một lần này; gửi kèm tiêu đề Authorization: Bearer <token>:")
    typer.echo(text)


@tokens_app.command("list")
def tokens_list(
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table, json hoặc csv.")] = (
        Format.TABLE
    ),
) -> None:
    """Liệt kê token (không bao giờ hiện lại token).

    Ví dụ: directives tokens list
    """
    with unit_of_work() as s:
        rows = [
            {
                "id": t.id,
                "name": t.name,
                "scope": str(api_tokens.scope_of(t)),
                "created_at": _when(t.created_at),
                "last_used_at": _when(t.last_used_at),
                "revoked_at": _when(t.revoked_at),
                "status": "đã thu hồi" if t.revoked_at else "đang dùng",
            }
            for t in api_tokens.list_tokens(s)
        ]
    emit(
        rows,
        fmt,
        columns=[
            ("id", "Số"),
            ("name", "Tên"),
            ("scope", "Phạm vi"),
            ("last_used_at", "Dùng lần cuối"),
            ("status", "Tình trạng"),
        ],
        title=f"{len(rows)} token",
        wide="name",
    )


@tokens_app.command("revoke")
def tokens_revoke(
    name: Annotated[str, typer.Argument(metavar="TÊN_HOẶC_SỐ", help="Tên hoặc số của token.")],
) -> None:
    """Thu hồi token: mọi yêu cầu dùng nó bị từ chối ngay.

    Ví dụ: directives tokens revoke qlvb
    """
    rt = runtime()
    with unit_of_work() as s:
        token = api_tokens.revoke_token(s, name, clock=rt.clock)
        audit.record(
            s,
            username=CLI_USER,
            role=Role.SYSTEM.value,
            action="api_token_revoked",
            target=token.name,
            detail={"id": token.id},
            clock=rt.clock,
        )
    typer.echo(f"Đã thu hồi token {token.name} (số {token.id}).")
