"""The reminder letter command: a .docx to an agency about its critically overdue tasks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from directives.cli._common import day, runtime, unit_of_work
from directives.errors import InvalidInput
from directives.letter_docx import render_letter
from directives.policy import Policy, load_policy
from directives.services import letters


def letter(
    agency: Annotated[str, typer.Argument(metavar="ĐƠN_VỊ", help="Mã đơn vị chủ trì.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Tệp .docx sẽ ghi.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Tính đến ngày (mặc định: hôm nay).")
    ] = None,
    respond_within: Annotated[
        int, typer.Option("--respond-within", help="Số ngày làm việc để đơn vị báo cáo.")
    ] = letters.RESPOND_WITHIN,
    deputy: Annotated[
        str | None,
        typer.Option("--deputy", help="Họ tên Phó Chánh Văn phòng ký thay (KT.)."),
    ] = None,
) -> None:
    """Lập công văn đôn đốc nhiệm vụ quá hạn từ 10 ngày làm việc trở lên (tệp .docx).

    Ví dụ: directives letter SXD --as-of 26/11/2026 --out cv-don-doc-SXD.docx
    """
    if out.suffix.lower() != ".docx":
        raise InvalidInput(f"--out {str(out)!r}: tệp phải có đuôi .docx")
    if not out.parent.is_dir():
        raise InvalidInput(f"--out {str(out)!r}: thư mục {str(out.parent)!r} không tồn tại")
    on = day(as_of, option="--as-of")
    settings = runtime().settings
    sender = letters.Sender.from_settings(settings, deputy=deputy)
    with unit_of_work() as s:
        content = letters.reminder_letter(
            s, agency, as_of=on, sender=sender, respond_within=respond_within, policy=_policy()
        )
    _write_atomically(out, render_letter(content))
    typer.echo(
        f"Đã lập công văn đôn đốc gửi {content.agency_name}: {len(content.tasks)} nhiệm vụ "
        f"quá hạn, hạn báo cáo {content.respond_by:%d/%m/%Y}; tệp {out}"
    )
    if not sender.signatory.name:
        typer.secho(
            "Lưu ý: chưa có họ tên người ký; đặt DIRECTIVES_OFFICE_CHIEF='Họ tên <địa chỉ>' "
            "hoặc dùng --deputy.",
            err=True,
        )


def _policy() -> Policy:
    path = runtime().settings.policy_file
    try:
        return load_policy(path)
    except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise InvalidInput(f"DIRECTIVES_POLICY_FILE {str(path)!r}: {exc}") from None


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` next to ``path`` then rename, so a failure never leaves half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
