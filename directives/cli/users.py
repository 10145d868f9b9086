"""Web app accounts from the command line: add, list, change a password, lock or unlock."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from directives.cli._common import Format, runtime, unit_of_work
from directives.cli._output import emit
from directives.services import audit, users
from directives.workflow import Role

users_app = typer.Typer(help="Tài khoản đăng nhập ứng dụng web.", no_args_is_help=True)

UserArg = Annotated[str, typer.Argument(metavar="TÊN_ĐĂNG_NHẬP", help="Ví dụ: sxd, vanphong.")]
StdinOpt = Annotated[
    bool,
    typer.Option("--password-stdin", help="Đọc mật khẩu từ dòng đầu của đầu vào chuẩn."),
]
CLI_USER = "cli"  # the audit trail's name for whoever runs the command line


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("Mật khẩu", hide_input=True, confirmation_prompt=True)
    return value


@users_app.command("add")
def users_add(
    username: UserArg,
    role: Annotated[
        str, typer.Option("--role", help="secretariat (văn phòng), agency (đơn vị), leader.")
    ],
    name: Annotated[str, typer.Option("--name", help="Họ tên hoặc chức danh hiển thị.")] = "",
    agency: Annotated[
        str | None, typer.Option("--agency", help="Mã đơn vị (vai trò agency).")
    ] = None,
    leader: Annotated[
        str | None, typer.Option("--leader", help="Mã lãnh đạo (vai trò leader).")
    ] = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Thêm tài khoản; mật khẩu được hỏi (không hiện) hoặc đọc từ đầu vào chuẩn.

    Ví dụ: directives users add sxd --role agency --agency SXD --name "Văn thư Sở Xây dựng"
    """
    password = _password(password_stdin)
    rt = runtime()
    with unit_of_work() as s:
        user = users.create_user(
            s,
            username=username,
            display_name=name,
            role=role,
            password=password,
            agency=agency,
            leader=leader,
            clock=rt.clock,
        )
        audit.record(
            s,
            username=CLI_USER,
            role=Role.SYSTEM.value,
            action="user_added",
            target=user.username,
            detail={"role": user.role, "agency": agency, "leader": leader},
            clock=rt.clock,
        )
    typer.echo(f"Đã thêm tài khoản {user.username} ({user.display_name}).")


@users_app.command("list")
def users_list(
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table, json hoặc csv.")] = (
        Format.TABLE
    ),
) -> None:
    """Liệt kê tài khoản.

    Ví dụ: directives users list --format json
    """
    with unit_of_work() as s:
        rows = [
            {
                "username": u.username,
                "name": u.display_name,
                "role": u.role,
                "unit": (u.agency.code if u.agency else None)
                or (u.leader.code if u.leader else ""),
                "active": "có" if u.active else "khóa",
                "last_login_at": u.last_login_at.isoformat(timespec="minutes")
                if u.last_login_at
                else None,
            }
            for u in users.list_users(s)
        ]
    emit(
        rows,
        fmt,
        columns=[
            ("username", "Tên đăng nhập"),
            ("name", "Tên"),
            ("role", "Vai trò"),
            ("unit", "Đơn vị/LĐ"),
            ("active", "Hoạt động"),
        ],
        title=f"{len(rows)} tài khoản",
        wide="name",
    )


@users_app.command("passwd")
def users_passwd(username: UserArg, password_stdin: StdinOpt = False) -> None:
    """Đặt mật khẩu mới (các phiên đăng nhập cũ của tài khoản này hết hiệu lực).

    Ví dụ: directives users passwd sxd
    """
    password = _password(password_stdin)
    rt = runtime()
    with unit_of_work() as s:
        user = users.set_password(s, username, password)
        audit.record(
            s,
            username=CLI_USER,
            role=Role.SYSTEM.value,
            action="password_changed",
            target=user.username,
            clock=rt.clock,
        )
    typer.echo(f"Đã đặt mật khẩu mới cho {user.username}.")


@users_app.command("lock")
def users_lock(
    username: UserArg,
    unlock: Annotated[bool, typer.Option("--unlock", help="Mở khóa thay vì khóa.")] = False,
) -> None:
    """Khóa (hoặc mở khóa) một tài khoản.

    Ví dụ: directives users lock sxd
    """
    rt = runtime()
    with unit_of_work() as s:
        user = users.set_active(s, username, unlock)
        audit.record(
            s,
            username=CLI_USER,
            role=Role.SYSTEM.value,
            action="user_unlocked" if unlock else "user_locked",
            target=user.username,
            clock=rt.clock,
        )
    typer.echo(f"Đã {'mở khóa' if unlock else 'khóa'} tài khoản {user.username}.")
