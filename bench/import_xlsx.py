"""Import benchmark: a 100,000-row XLSX of directives and tasks into a seeded database.

The file is in the import format (``directives.importing.TASK_COLUMNS``, one task a row, the
columns of ``examples/directives.csv``), written with openpyxl in write-only mode from the
``bench.national`` generator: directives of 1 to 12 tasks issued in 2026, with their lead and
coordinating agencies, deadlines (a date, N working days, or none), leaders, officers, sectors and
priorities. The database is new, migrated, and holds ``bench.national``'s 2,500 agencies, 40
leaders and 120 officers, and no task.

Ours: what ``directives import FILE`` does: ``read_task_rows`` (python-calamine, every cell
validated), ``intake.directives_from_rows`` and ``intake.issue_directives``, in one transaction;
without the assignment messages unless ``--with-mail``. ``read_seconds`` is the reading and
grouping; ``store_seconds`` the call to ``issue_directives`` and the commit (every row checked
against the registry and the stored directives, then the bulk inserts of
``services/bulk_insert.py``); ``store_rows_per_second`` the figure for the store path alone and
``rows_per_second`` the one for both. With ``--with-mail`` the store includes
``mailing.notify_assigned`` (the notices and one message per agency, in the same transaction),
which then takes most of the time.

Baseline: what a hand-written script does: openpyxl (read-only) row by row, a lookup of the
references in dictionaries, ORM objects added to the session and flushed row by row (to get the
task's id for its event), one commit at the end; no assignment message, so it does less. It runs
on the first ``--baseline-rows`` rows (default 20,000) of the same file, and the figure compared
is rows per second.

    .venv/bin/python -m bench.import_xlsx --backend sqlite --side both
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench import national
from directives.db.engine import make_engine, make_session_factory
from directives.db.tables import Agency, Directive, Leader, Officer, Task, TaskEvent
from directives.domain import DirectiveKind, Priority
from directives.importing import read_task_rows
from directives.services import intake
from directives.services.calendar import _build
from directives.services.mailing import MailSettings
from directives.workflow import Actor, Role

HEADER = (
    "Số ký hiệu", "Ngày ban hành", "Loại văn bản", "Người ký", "Trích yếu", "Nội dung nhiệm vụ",
    "Đơn vị chủ trì", "Đơn vị phối hợp", "Thời hạn", "Lãnh đạo phụ trách", "Chuyên viên theo dõi",
    "Lĩnh vực", "Độ khẩn", "Nguồn",
)  # fmt: skip
OFFICE = Actor(Role.SECRETARIAT, "Văn phòng UBND tỉnh")
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=national.NOW.tzinfo)


def write_xlsx(path: Path, rows: int, seed: int) -> float:
    """Write the file; its seconds."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    started = time.perf_counter()
    ref = national.reference(seed)
    rng = random.Random(seed + 7)
    cal = _build(())
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Nhiệm vụ")
    ws.append(HEADER)
    plans = national.directives(rng, ref, cal, rows, date(2026, 1, 2), date(2026, 11, 25))
    for d in plans:
        for i, t in enumerate(d.tasks, start=1):
            spec = t["spec"]
            ws.append(
                (
                    d.number,
                    d.issued_on.strftime("%d/%m/%Y"),
                    d.kind.label,
                    ref.leaders[d.signer]["code"],
                    d.summary,
                    t["content"],
                    ref.agencies[t["lead"]]["code"],
                    "; ".join(ref.agencies[c]["code"] for c in t["coordinators"]),
                    spec.text() if (spec.on or spec.working_days) else "",
                    ref.leaders[t["leader"]]["code"],
                    ref.officers[t["officer"]]["code"],
                    t["sector"],
                    t["priority"].label,
                    f"Mục {i}",
                )
            )
    wb.save(path)
    return time.perf_counter() - started


def seeded_database(backend: str, folder: Path, seed: int) -> str:
    """A new database with the reference data and no task."""
    url, _ = national.create_database(backend, folder)
    national.build(url, 0, seed)
    return url


def ours(url: str, path: Path, with_mail: bool) -> dict[str, Any]:
    """``directives import``: read and validate, then issue (with the assignment messages only
    when ``with_mail``: see the module's note)."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    mail = MailSettings("Văn phòng UBND tỉnh <vanphong@binhan.gov.vn>", "Văn phòng UBND tỉnh")
    from directives.clock import FixedClock

    started = time.perf_counter()
    rows = read_task_rows(path)
    batch = intake.directives_from_rows(rows)
    read = time.perf_counter() - started
    cpu = time.process_time()
    with sessions() as s:
        stored = intake.issue_directives(
            s,
            batch,
            actor=OFFICE,
            clock=FixedClock(NOW),
            source=path.name,
            mail=mail if with_mail else None,
        )
        s.commit()
    seconds = time.perf_counter() - started
    store_cpu = time.process_time() - cpu
    engine.dispose()
    store = seconds - read
    return {
        "rows": len(rows),
        "directives": len(stored),
        "read_seconds": round(read, 2),
        "store_seconds": round(store, 2),
        "store_cpu_seconds": round(store_cpu, 2),  # this process only: the machine is shared
        "seconds": round(seconds, 2),
        "store_rows_per_second": round(len(rows) / store),
        "rows_per_second": round(len(rows) / seconds),
        "assignment_messages": with_mail,
    }


def baseline(url: str, path: Path, limit: int) -> dict[str, Any]:
    """openpyxl and the ORM, row by row."""
    from openpyxl import load_workbook

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    cal = _build(())
    kinds = {k.label: k.value for k in DirectiveKind}
    priorities = {p.label: p.value for p in Priority}
    started = time.perf_counter()
    n = 0
    with sessions() as s:
        agencies = {a.code: a for a in s.scalars(select(Agency))}
        leaders = {x.code: x for x in s.scalars(select(Leader))}
        officers = {x.code: x for x in s.scalars(select(Officer))}
        wb = load_workbook(path, read_only=True)
        it = wb.active.iter_rows(values_only=True)
        col = {h: i for i, h in enumerate(next(it))}
        seen: dict[tuple[str, int], tuple[Directive, list[int]]] = {}
        for counter, row in enumerate(it, start=1):
            if n >= limit:
                break
            n += 1
            issued = datetime.strptime(str(row[col["Ngày ban hành"]]), "%d/%m/%Y").date()
            key = (str(row[col["Số ký hiệu"]]), issued.year)
            if key not in seen:
                directive = Directive(
                    number=key[0],
                    year=issued.year,
                    issued_on=issued,
                    kind=kinds[str(row[col["Loại văn bản"]])],
                    signer=leaders[str(row[col["Người ký"]])],
                    summary=str(row[col["Trích yếu"]]),
                    created_at=NOW,
                )
                s.add(directive)
                seen[key] = (directive, [0])
            directive, position = seen[key]
            position[0] += 1
            term = str(row[col["Thời hạn"]] or "")
            stated, working, deadline = None, None, None
            if "ngày làm việc" in term:
                working = int(term.split()[0])
                deadline = cal.add(issued, working)
            elif term:
                stated = datetime.strptime(term, "%d/%m/%Y").date()
                deadline = cal.roll_forward(stated)
            task = Task(
                code=f"NV{issued.year % 100:02d}-{counter:04d}",
                directive=directive,
                position=position[0],
                content=str(row[col["Nội dung nhiệm vụ"]]),
                lead_agency=agencies[str(row[col["Đơn vị chủ trì"]])],
                leader=leaders[str(row[col["Lãnh đạo phụ trách"]])],
                officer=officers[str(row[col["Chuyên viên theo dõi"]])],
                sector=row[col["Lĩnh vực"]],
                priority=priorities[str(row[col["Độ khẩn"]])],
                source_ref=row[col["Nguồn"]],
                stated_deadline=stated,
                deadline_working_days=working,
                original_deadline=deadline,
                deadline=deadline,
                state="assigned",
                assigned_on=issued,
                has_extensions=False,
                has_pauses=False,
                created_at=NOW,
            )
            for code in str(row[col["Đơn vị phối hợp"]] or "").split(";"):
                if code.strip():
                    task.coordinators.append(agencies[code.strip()])
            s.add(task)
            s.flush()
            s.add(
                TaskEvent(
                    task_id=task.id,
                    kind="assigned",
                    on=issued,
                    recorded_at=NOW,
                    actor=OFFICE.describe(),
                    data={"deadline": deadline.isoformat() if deadline else None},
                )
            )
        s.commit()
        wb.close()
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"rows": n, "seconds": round(seconds, 2), "rows_per_second": round(n / seconds)}


def main(argv: Sequence[str] | None = None) -> None:
    """Write the file (or reuse it), then measure the side(s) asked for; print JSON."""
    p = argparse.ArgumentParser(
        prog="python -m bench.import_xlsx",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--side", choices=("ours", "baseline", "both"), default="both")
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--baseline-rows", type=int, default=20_000)
    p.add_argument("--xlsx", type=Path, help="reuse this file (written there when missing)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument(
        "--with-mail",
        action="store_true",
        help="ours also enqueues the assignment messages, as the CLI does",
    )
    args = p.parse_args(argv)
    out: dict[str, Any] = {"backend": args.backend}
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = Path(tmp)
        path = args.xlsx or folder / "directives.xlsx"
        if not path.exists():
            out["write_xlsx_seconds"] = round(write_xlsx(path, args.rows, args.seed), 1)
        out["xlsx_bytes"] = path.stat().st_size
        for side in ("ours", "baseline") if args.side == "both" else (args.side,):
            url = seeded_database(args.backend, folder, args.seed)
            try:
                if side == "ours":
                    out["ours"] = ours(url, path, args.with_mail)
                else:
                    out["baseline"] = baseline(url, path, args.baseline_rows)
            finally:
                national.drop_database(url)
    if "ours" in out and "baseline" in out:
        out["ratio"] = round(out["ours"]["rows_per_second"] / out["baseline"]["rows_per_second"], 1)
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
