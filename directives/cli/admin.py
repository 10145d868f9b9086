"""Set-up commands: the database, the working calendar, agencies, leaders and officers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select

from directives.cli._common import Format, day, fail, runtime, unit_of_work
from directives.cli._output import emit
from directives.db.tables import Agency, Leader, Officer
from directives.domain import AgencyKind, LeaderRole
from directives.importing import read_agency_rows, read_leader_rows, read_officer_rows
from directives.services import calendar as cal_service
from directives.services import registry

db_app = typer.Typer(help="Cơ sở dữ liệu.", no_args_is_help=True)
calendar_app = typer.Typer(help="Lịch làm việc: ngày nghỉ, ngày làm bù.", no_args_is_help=True)
agencies_app = typer.Typer(help="Đơn vị (sở, ban, ngành, UBND cấp huyện).", no_args_is_help=True)
leaders_app = typer.Typer(help="Lãnh đạo UBND tỉnh.", no_args_is_help=True)
officers_app = typer.Typer(help="Chuyên viên theo dõi của Văn phòng.", no_args_is_help=True)

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table, json hoặc csv.")]


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Nâng cấp cơ sở dữ liệu lên phiên bản mới nhất.

    Ví dụ: directives db upgrade
    """
    from directives.db import migrate  # alembic is only needed here; keep other commands quick

    rt = runtime()
    migrate.upgrade(rt.engine)
    with unit_of_work() as s:
        cal_service.ensure_index(s)
    typer.echo(f"Cơ sở dữ liệu ở phiên bản {migrate.current_revision(rt.engine)}.")


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="Tệp sao lưu sẽ tạo (chưa có).")],
) -> None:
    """Sao lưu toàn bộ cơ sở dữ liệu vào một tệp, kể cả khi ứng dụng đang chạy.

    SQLite: bản sao bằng backup API; PostgreSQL: pg_dump --format=custom.
    Ví dụ: directives db backup sao-luu/2026-11-26.bak
    """
    from directives.db.backup import backup

    written = backup(runtime().engine, path)
    typer.echo(f"Đã sao lưu vào {written} ({written.stat().st_size:,} byte).".replace(",", "."))


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="Tệp sao lưu (do directives db backup tạo).")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Xác nhận: toàn bộ dữ liệu hiện có sẽ bị thay thế.")
    ] = False,
) -> None:
    """Khôi phục cơ sở dữ liệu từ tệp sao lưu; mọi dữ liệu hiện có được thay thế.

    Dừng ứng dụng web và bộ lập lịch trước khi khôi phục.
    Ví dụ: directives db restore sao-luu/2026-11-26.bak --yes
    """
    from directives.db.backup import restore

    if not yes:
        fail("khôi phục sẽ thay thế toàn bộ dữ liệu hiện có: thêm --yes để xác nhận", 2)
    revision = restore(runtime().engine, path)
    typer.echo(f"Đã khôi phục từ {path}; cơ sở dữ liệu ở phiên bản {revision}.")


@calendar_app.command("show")
def calendar_show(
    year: Annotated[int, typer.Option(help="Năm cần xem.")] = 0,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Liệt kê ngày nghỉ lễ, nghỉ bù, làm bù của một năm.

    Ví dụ: directives calendar show --year 2026
    """
    if not 0 <= year <= 9999:
        fail(f"năm {year} không hợp lệ: từ 1 đến 9999", 2)
    year = year or day(None).year
    with unit_of_work() as s:
        cal = cal_service.load_calendar(s)
        office = cal_service.overrides(s)
        rows: list[dict[str, Any]] = []
        for d, name in sorted(cal_service.public_holidays(year).items()):
            rows.append({"day": d, "working": False, "source": "quốc gia", "note": name})
        for d in sorted(cal.worked):
            if d.year == year and d.weekday() >= 5 and d not in office:
                rows.append({"day": d, "working": True, "source": "quốc gia", "note": "làm bù"})
        for d, o in office.items():
            if d.year == year:
                rows.append({"day": d, "working": o.working, "source": "văn phòng", "note": o.note})
        rows.sort(key=lambda r: r["day"])
        for r in rows:
            r["kind"] = "làm việc" if r["working"] else "nghỉ"
        total = len(
            cal.working_days(
                cal.first.replace(year=year), cal.first.replace(year=year, month=12, day=31)
            )
        )
    emit(
        rows,
        fmt,
        columns=[("day", "Ngày"), ("kind", "Loại"), ("source", "Nguồn"), ("note", "Ghi chú")],
        title=f"Lịch làm việc năm {year}: {total} ngày làm việc",
        meta={"year": year, "working_days": total},
    )


@calendar_app.command("add-day-off")
def calendar_add_day_off(
    date_: Annotated[str, typer.Argument(metavar="NGÀY", help="DD/MM/YYYY hoặc YYYY-MM-DD.")],
    note: Annotated[str, typer.Option(help="Lý do, ví dụ số quyết định.")] = "",
) -> None:
    """Khai báo một ngày nghỉ của cơ quan.

    Ví dụ: directives calendar add-day-off 02/01/2026 --note "QĐ 12/QĐ-UBND"
    """
    d = day(date_, option="NGÀY")
    with unit_of_work() as s:
        changed = cal_service.set_day(s, d, working=False, note=note)
    typer.echo(f"Đã khai báo {d:%d/%m/%Y} là ngày nghỉ; {changed} nhiệm vụ đổi thời hạn.")


@calendar_app.command("add-working-day")
def calendar_add_working_day(
    date_: Annotated[str, typer.Argument(metavar="NGÀY", help="DD/MM/YYYY hoặc YYYY-MM-DD.")],
    note: Annotated[str, typer.Option(help="Lý do, ví dụ làm bù cho ngày nào.")] = "",
) -> None:
    """Khai báo một ngày làm việc (làm bù thứ Bảy).

    Ví dụ: directives calendar add-working-day 10/01/2026
    """
    d = day(date_, option="NGÀY")
    with unit_of_work() as s:
        changed = cal_service.set_day(s, d, working=True, note=note)
    typer.echo(f"Đã khai báo {d:%d/%m/%Y} là ngày làm việc; {changed} nhiệm vụ đổi thời hạn.")


@calendar_app.command("remove")
def calendar_remove(
    date_: Annotated[str, typer.Argument(metavar="NGÀY", help="DD/MM/YYYY hoặc YYYY-MM-DD.")],
) -> None:
    """Bỏ khai báo của văn phòng cho một ngày.

    Ví dụ: directives calendar remove 02/01/2026
    """
    d = day(date_, option="NGÀY")
    with unit_of_work() as s:
        changed = cal_service.remove_day(s, d)
    typer.echo(f"Đã bỏ khai báo ngày {d:%d/%m/%Y}; {changed} nhiệm vụ đổi thời hạn.")


PathArg = Annotated[
    Path, typer.Argument(metavar="TỆP", help="Tệp CSV hoặc XLSX.", exists=True, dir_okay=False)
]


@agencies_app.command("import")
def agencies_import(path: PathArg) -> None:
    """Nạp danh sách đơn vị (thêm mới, cập nhật theo mã).

    Ví dụ: directives agencies import examples/agencies.csv
    """
    rows = read_agency_rows(path)
    with unit_of_work() as s:
        added, updated = registry.upsert_agencies(s, rows)
    typer.echo(f"Đơn vị: {added} thêm mới, {updated} cập nhật.")


@agencies_app.command("list")
def agencies_list(fmt: FormatOpt = Format.TABLE) -> None:
    """Liệt kê các đơn vị.

    Ví dụ: directives agencies list --format csv
    """
    with unit_of_work() as s:
        rows = [
            {
                "code": a.code,
                "name": a.name,
                "kind": AgencyKind(a.kind).label,
                "focal_emails": a.focal_emails,
                "head_email": a.head_email,
                "active": a.active,
            }
            for a in s.scalars(select(Agency).order_by(Agency.code))
        ]
    emit(
        rows,
        fmt,
        columns=[
            ("code", "Mã"),
            ("name", "Tên đơn vị"),
            ("kind", "Loại"),
            ("focal_emails", "Email đầu mối"),
        ],
    )


@leaders_app.command("import")
def leaders_import(path: PathArg) -> None:
    """Nạp danh sách lãnh đạo.

    Ví dụ: directives leaders import examples/leaders.csv
    """
    rows = read_leader_rows(path)
    with unit_of_work() as s:
        added, updated = registry.upsert_leaders(s, rows)
    typer.echo(f"Lãnh đạo: {added} thêm mới, {updated} cập nhật.")


@leaders_app.command("list")
def leaders_list(fmt: FormatOpt = Format.TABLE) -> None:
    """Liệt kê lãnh đạo và lĩnh vực phụ trách.

    Ví dụ: directives leaders list
    """
    with unit_of_work() as s:
        rows = [
            {
                "code": x.code,
                "name": x.name,
                "title": x.title,
                "role": "Chủ tịch" if x.role == LeaderRole.CHAIRMAN else "Phó Chủ tịch",
                "email": x.email,
                "sectors": x.sectors,
            }
            for x in s.scalars(select(Leader).order_by(Leader.code))
        ]
    emit(
        rows,
        fmt,
        columns=[
            ("code", "Mã"),
            ("name", "Họ tên"),
            ("role", "Vai trò"),
            ("sectors", "Lĩnh vực phụ trách"),
        ],
    )


@officers_app.command("import")
def officers_import(path: PathArg) -> None:
    """Nạp danh sách chuyên viên theo dõi.

    Ví dụ: directives officers import examples/officers.csv
    """
    rows = read_officer_rows(path)
    with unit_of_work() as s:
        added, updated = registry.upsert_officers(s, rows)
    typer.echo(f"Chuyên viên: {added} thêm mới, {updated} cập nhật.")


@officers_app.command("list")
def officers_list(fmt: FormatOpt = Format.TABLE) -> None:
    """Liệt kê chuyên viên theo dõi.

    Ví dụ: directives officers list
    """
    with unit_of_work() as s:
        rows = [
            {"code": o.code, "name": o.name, "email": o.email}
            for o in s.scalars(select(Officer).order_by(Officer.code))
        ]
    emit(rows, fmt, columns=[("code", "Mã"), ("name", "Họ tên"), ("email", "Email")])
