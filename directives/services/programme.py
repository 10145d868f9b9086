"""The monthly work programme: entering items, recording submissions, postponing, removing,
the status of a month as of a date, and the snapshots that freeze it.

Items belong to the office: only the secretariat (or an import run by the system) changes them.
A month's status is computed from the items' dates (``directives.programme.state_as_of``); the
status compiled on the 25th and the final one compiled on the first working day of the next month
are stored as snapshots, and the final one is what the month's report shows from then on, whatever
is recorded later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from directives._tabular import fold
from directives.calendar import WorkingCalendar
from directives.clock import Clock, today
from directives.db.tables import (
    Agency,
    Leader,
    ProgrammeEvent,
    ProgrammeItem,
    ProgrammeSnapshot,
)
from directives.domain import LeaderRole
from directives.errors import (
    Conflict,
    ImportFileError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RowError,
)
from directives.importing import ProgrammeRow, read_programme_rows
from directives.programme import (
    ITEM_KIND_LABELS,
    ITEM_STATE_LABELS,
    ItemDates,
    ItemKind,
    ItemState,
    due_date,
    interim_day,
    last_working_day,
    month_end,
    month_label,
    state_as_of,
    summarize,
)
from directives.services import outbox
from directives.services.calendar import load_calendar
from directives.services.codes import take_numbers
from directives.services.mailing import MailSettings
from directives.workflow import Actor, Role

MAX_TITLE = 2000
STAGES = ("interim", "final")


@dataclass(frozen=True)
class NewItem:
    """An item to enter: agency and leader by code or by name, as a user writes them."""

    title: str
    kind: ItemKind
    agency: str
    leader: str | None = None
    planned_on: date | None = None  # None: the last working day of the month
    note: str | None = None
    row: int = 0  # the file row, for error messages; 0 when entered by hand
    submitted_on: date | None = None  # already submitted, with its document number
    document_number: str | None = None


def _check_actor(actor: Actor) -> None:
    if actor.role not in (Role.SECRETARIAT, Role.SYSTEM):
        raise PermissionDenied("chỉ Văn phòng UBND tỉnh được cập nhật Chương trình công tác")


class _Lookup:
    """Agencies and leaders by code and by folded name."""

    def __init__(self, session: Session) -> None:
        self.agencies: dict[str, Agency] = {}
        for a in session.scalars(select(Agency)):
            self.agencies[a.code] = a
            self.agencies.setdefault(fold(a.name), a)
        self.leaders: dict[str, Leader] = {}
        for ld in session.scalars(select(Leader)):
            self.leaders[ld.code] = ld
            self.leaders.setdefault(fold(ld.name), ld)

    def agency(self, text: str) -> Agency | None:
        return self.agencies.get(text.strip().upper()) or self.agencies.get(fold(text))

    def leader(self, text: str) -> Leader | None:
        return self.leaders.get(text.strip().upper()) or self.leaders.get(fold(text))


def _allocate_codes(session: Session, month: date, n: int) -> list[str]:
    """``n`` item codes of the month's series, e.g. ``CT2611-007``."""
    scope = f"CT{month.year % 100:02d}{month.month:02d}"
    return [f"{scope}-{i:03d}" for i in take_numbers(session, scope, n)]


def _record(
    session: Session,
    item: ProgrammeItem,
    kind: str,
    *,
    on: date,
    actor: Actor,
    clock: Clock,
    note: str | None = None,
    **data: Any,
) -> None:
    session.add(
        ProgrammeEvent(
            item=item,
            kind=kind,
            on=on,
            recorded_at=clock.now(),
            actor=actor.describe(),
            note=note,
            data={k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()},
        )
    )


def add_items(
    session: Session,
    month: date,
    items: Sequence[NewItem],
    *,
    actor: Actor,
    clock: Clock,
    source: str = "form",
    on: date | None = None,
) -> list[ProgrammeItem]:
    """Enter items into ``month``'s programme, all or none: every bad item is reported.

    ``on`` is the day the programme took them in (default today); a month entered after the
    fact can be dated back so that its status as of earlier days is complete.
    """
    _check_actor(actor)
    month = month.replace(day=1)
    cal = load_calendar(session)
    lookup = _Lookup(session)
    existing = {
        (agency_id, fold(title))
        for agency_id, title in session.execute(
            select(ProgrammeItem.agency_id, ProgrammeItem.title).where(ProgrammeItem.month == month)
        )
    }
    errors: list[RowError] = []
    resolved: list[tuple[NewItem, Agency, Leader | None, date]] = []
    for n, item in enumerate(items, start=1):
        row = item.row or n
        bad = False
        title = " ".join(item.title.split())
        if not title:
            errors.append(RowError(row, "title", item.title, "thiếu nội dung"))
            bad = True
        elif len(title) > MAX_TITLE:
            errors.append(
                RowError(row, "title", title[:60], "nội dung quá dài (tối đa 2.000 ký tự)")
            )
            bad = True
        agency = lookup.agency(item.agency)
        if agency is None:
            errors.append(
                RowError(row, "agency", item.agency, "không có cơ quan với mã hoặc tên này")
            )
            bad = True
        leader = None
        if item.leader:
            leader = lookup.leader(item.leader)
            if leader is None:
                errors.append(
                    RowError(row, "leader", item.leader, "không có lãnh đạo với mã hoặc tên này")
                )
                bad = True
        planned = item.planned_on or last_working_day(month, cal)
        if not (month <= planned <= month_end(month)):
            reason = f"ngày trình không thuộc tháng {month_label(month)}"
            errors.append(RowError(row, "planned", planned.strftime("%d/%m/%Y"), reason))
            bad = True
        if item.submitted_on is not None:
            shown = item.submitted_on.strftime("%d/%m/%Y")
            if item.submitted_on > today(clock):
                errors.append(RowError(row, "submitted_on", shown, "ngày đã trình ở tương lai"))
                bad = True
            if not (item.document_number or "").strip():
                reason = "đã trình thì cần số văn bản trình"
                errors.append(RowError(row, "document_number", "", reason))
                bad = True
        elif item.document_number:
            reason = "có số văn bản trình nhưng thiếu ngày đã trình"
            errors.append(RowError(row, "submitted_on", "", reason))
            bad = True
        if agency is not None and title:
            key = (agency.id, fold(title))
            if key in existing:
                reason = f"nội dung đã có trong chương trình tháng {month_label(month)}"
                errors.append(RowError(row, "title", title[:60], reason))
                bad = True
            existing.add(key)
        if not bad:
            assert agency is not None
            resolved.append((item, agency, leader, planned))
    if errors:
        raise ImportFileError(source, errors)
    position = session.scalar(
        select(func.coalesce(func.max(ProgrammeItem.position), 0)).where(
            ProgrammeItem.month == month
        )
    )
    codes = _allocate_codes(session, month, len(resolved))
    entered_on = on or today(clock)
    if entered_on > today(clock):
        raise InvalidInput(f"ngày {entered_on:%d/%m/%Y} ở tương lai")
    stored = []
    for code, (item, agency, leader, planned) in zip(codes, resolved, strict=True):
        position = (position or 0) + 1
        new = ProgrammeItem(
            code=code,
            month=month,
            position=position,
            title=" ".join(item.title.split()),
            kind=item.kind.value,
            agency=agency,
            leader=leader,
            planned_on=planned,
            entered_on=entered_on,
            note=item.note,
        )
        session.add(new)
        _record(session, new, "entered", on=entered_on, actor=actor, clock=clock, source=source)
        if item.submitted_on is not None:
            number = " ".join((item.document_number or "").split())
            new.submitted_on, new.document_number = item.submitted_on, number
            _record(
                session, new, "submitted", on=item.submitted_on, actor=actor, clock=clock,
                document=number, source=source,
            )  # fmt: skip
        stored.append(new)
    session.flush()
    return stored


def import_file(
    session: Session,
    path: Path,
    month: date,
    *,
    actor: Actor,
    clock: Clock,
    on: date | None = None,
) -> list[ProgrammeItem]:
    """Import a month's programme from the office's CSV or XLSX; nothing is stored on any error."""
    rows: list[ProgrammeRow] = read_programme_rows(path)
    if not rows:
        raise InvalidInput(f"{path.name}: tệp không có nội dung nào")
    items = [
        NewItem(
            title=r.title,
            kind=r.kind,
            agency=r.agency,
            leader=r.leader,
            planned_on=r.planned_on,
            note=r.note,
            row=r.row,
            submitted_on=r.submitted_on,
            document_number=r.document_number,
        )
        for r in rows
    ]
    return add_items(session, month, items, actor=actor, clock=clock, source=path.name, on=on)


def load_item(session: Session, code: str, *, lock: bool = False) -> ProgrammeItem:
    """The item with ``code`` (row-locked on PostgreSQL when ``lock``)."""
    stmt = select(ProgrammeItem).where(ProgrammeItem.code == code.strip().upper())
    if lock:
        stmt = stmt.with_for_update()
    item = session.scalar(stmt)
    if item is None:
        raise NotFound(f"không có nội dung chương trình công tác mã {code!r}")
    return item


def _closed(item: ProgrammeItem) -> str | None:
    if item.removed_on is not None:
        return f"đã đưa ra khỏi chương trình ngày {item.removed_on:%d/%m/%Y}"
    if item.postponed_on is not None:
        return f"đã lùi sang tháng sau ngày {item.postponed_on:%d/%m/%Y}"
    if item.submitted_on is not None:
        return f"đã trình ngày {item.submitted_on:%d/%m/%Y}"
    return None


def _check_day(item: ProgrammeItem, on: date, clock: Clock) -> None:
    if on > today(clock):
        raise InvalidInput(f"ngày {on:%d/%m/%Y} ở tương lai")
    if on < item.entered_on:
        raise InvalidInput(
            f"ngày {on:%d/%m/%Y} trước ngày nội dung {item.code} được đưa vào chương trình "
            f"({item.entered_on:%d/%m/%Y})"
        )


def submit(
    session: Session,
    code: str,
    *,
    on: date,
    document_number: str,
    actor: Actor,
    clock: Clock,
) -> ProgrammeItem:
    """Record that the item was submitted to the Committee on ``on`` with ``document_number``."""
    _check_actor(actor)
    item = load_item(session, code, lock=True)
    number = " ".join(document_number.split())
    if not number:
        raise InvalidInput(f"thiếu số văn bản trình của nội dung {item.code}")
    if len(number) > 60:
        raise InvalidInput(f"số văn bản {number[:60]!r}… quá dài (tối đa 60 ký tự)")
    closed = _closed(item)
    if closed:
        raise Conflict(f"nội dung {item.code} {closed}")
    _check_day(item, on, clock)
    item.submitted_on, item.document_number = on, number
    _record(session, item, "submitted", on=on, actor=actor, clock=clock, document=number)
    return item


def postpone(
    session: Session,
    code: str,
    *,
    to_month: date,
    on: date,
    reason: str,
    actor: Actor,
    clock: Clock,
    planned_on: date | None = None,
) -> ProgrammeItem:
    """Carry the item over to ``to_month``; returns the new item there, which points back."""
    _check_actor(actor)
    item = load_item(session, code, lock=True)
    to_month = to_month.replace(day=1)
    if to_month <= item.month:
        raise InvalidInput(
            f"tháng {month_label(to_month)} không sau tháng {month_label(item.month)} "
            f"của nội dung {item.code}"
        )
    if not reason.strip():
        raise InvalidInput(f"thiếu lý do lùi thời gian trình nội dung {item.code}")
    closed = _closed(item)
    if closed:
        raise Conflict(f"nội dung {item.code} {closed}")
    _check_day(item, on, clock)
    cal = load_calendar(session)
    planned = planned_on or last_working_day(to_month, cal)
    if not (to_month <= planned <= month_end(to_month)):
        raise InvalidInput(
            f"ngày trình {planned:%d/%m/%Y} không thuộc tháng {month_label(to_month)}"
        )
    (new_code,) = _allocate_codes(session, to_month, 1)
    position = session.scalar(
        select(func.coalesce(func.max(ProgrammeItem.position), 0)).where(
            ProgrammeItem.month == to_month
        )
    )
    new = ProgrammeItem(
        code=new_code,
        month=to_month,
        position=(position or 0) + 1,
        title=item.title,
        kind=item.kind,
        agency_id=item.agency_id,
        leader_id=item.leader_id,
        planned_on=planned,
        entered_on=on,
        carried_from_id=item.id,
        note=item.note,
    )
    session.add(new)
    item.postponed_on = on
    note = " ".join(reason.split())
    _record(session, item, "postponed", on=on, actor=actor, clock=clock, note=note, to=new_code)
    _record(
        session, new, "carried_in", on=on, actor=actor, clock=clock, note=note, source=item.code
    )
    session.flush()
    return new


def remove(
    session: Session, code: str, *, on: date, reason: str, actor: Actor, clock: Clock
) -> ProgrammeItem:
    """Take the item out of its month's programme (it stays listed, as removed)."""
    _check_actor(actor)
    item = load_item(session, code, lock=True)
    if not reason.strip():
        raise InvalidInput(f"thiếu lý do đưa nội dung {item.code} ra khỏi chương trình")
    closed = _closed(item)
    if closed:
        raise Conflict(f"nội dung {item.code} {closed}")
    _check_day(item, on, clock)
    item.removed_on = on
    _record(
        session, item, "removed", on=on, actor=actor, clock=clock, note=" ".join(reason.split())
    )
    return item


# --- status -----------------------------------------------------------------------------------


def _item_dict(
    item: ProgrammeItem,
    day: date,
    cal: WorkingCalendar,
    source: ProgrammeItem | None,
    following: ProgrammeItem | None,
) -> dict[str, Any]:
    state = state_as_of(
        ItemDates(item.planned_on, item.submitted_on, item.postponed_on, item.removed_on), day, cal
    )
    submitted = item.submitted_on if item.submitted_on and item.submitted_on <= day else None
    return {
        "code": item.code,
        "title": item.title,
        "kind": ITEM_KIND_LABELS[ItemKind(item.kind)],
        "agency_code": item.agency.code,
        "agency": item.agency.name,
        "leader_code": item.leader.code if item.leader else None,
        "leader": item.leader.name if item.leader else "",
        "planned": item.planned_on.isoformat(),
        "due": due_date(item.planned_on, cal).isoformat(),
        "state": state.value,
        "state_label": ITEM_STATE_LABELS[state],
        "submitted_on": submitted.isoformat() if submitted else None,
        "document_number": item.document_number if submitted else None,
        "carried_from": (
            {"code": source.code, "month": month_label(source.month)} if source else None
        ),
        "postponed_to": (
            {"code": following.code, "month": month_label(following.month)}
            if following is not None and state is ItemState.POSTPONED
            else None
        ),
        "note": item.note,
    }


def month_status(
    session: Session, month: date, *, as_of: date, leader: str | None = None
) -> dict[str, Any]:
    """The live status of ``month``'s programme as of ``as_of`` (items and totals), optionally
    only the items one leader is in charge of."""
    month = month.replace(day=1)
    cal = load_calendar(session)
    items = session.scalars(
        select(ProgrammeItem)
        .where(ProgrammeItem.month == month, ProgrammeItem.entered_on <= as_of)
        .options(selectinload(ProgrammeItem.agency), selectinload(ProgrammeItem.leader))
        .order_by(ProgrammeItem.position)
    ).all()
    source_ids = [i.carried_from_id for i in items if i.carried_from_id is not None]
    sources = {
        s.id: s
        for s in session.scalars(select(ProgrammeItem).where(ProgrammeItem.id.in_(source_ids)))
    }
    successors = {
        s.carried_from_id: s
        for s in session.scalars(
            select(ProgrammeItem).where(
                ProgrammeItem.carried_from_id.in_([i.id for i in items]),
                ProgrammeItem.entered_on <= as_of,
            )
        )
    }
    rows = [
        _item_dict(
            item,
            as_of,
            cal,
            sources.get(item.carried_from_id) if item.carried_from_id else None,
            successors.get(item.id),
        )
        for item in items
    ]
    return _status_payload(month, as_of, rows, leader=leader)


def _status_payload(
    month: date, as_of: date, rows: list[dict[str, Any]], *, leader: str | None
) -> dict[str, Any]:
    if leader:
        rows = [r for r in rows if r["leader_code"] == leader.upper()]
    summary = summarize(
        (ItemState(r["state"]), r["carried_from"] is not None) for r in rows
    ).as_dict()
    return {
        "month": month_label(month),
        "month_start": month.isoformat(),
        "as_of": as_of.isoformat(),
        "final": False,
        "items": rows,
        "summary": summary,
    }


def snapshot(
    session: Session, month: date, stage: str, *, as_of: date, compiled_on: date, now: datetime
) -> ProgrammeSnapshot | None:
    """Freeze ``month``'s status as of ``as_of``; None if that stage was already taken."""
    if stage not in STAGES:
        raise InvalidInput(f"giai đoạn {stage!r} không hợp lệ (interim, final)")
    month = month.replace(day=1)
    payload = month_status(session, month, as_of=as_of)
    payload["final"] = stage == "final"
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ProgrammeSnapshot)
    new_id = session.scalar(
        ins.values(
            month=month,
            stage=stage,
            as_of=as_of,
            compiled_on=compiled_on,
            taken_at=now,
            payload=payload,
        )
        .on_conflict_do_nothing(index_elements=["month", "stage"])
        .returning(ProgrammeSnapshot.id)
    )
    return session.get(ProgrammeSnapshot, new_id) if new_id is not None else None


def load_snapshot(session: Session, month: date, stage: str) -> ProgrammeSnapshot | None:
    """The stored ``stage`` snapshot of ``month``, if taken."""
    return session.scalar(
        select(ProgrammeSnapshot).where(
            ProgrammeSnapshot.month == month.replace(day=1), ProgrammeSnapshot.stage == stage
        )
    )


def monthly_report(
    session: Session,
    month: date,
    *,
    as_of: date,
    leader: str | None = None,
    live: bool = False,
) -> dict[str, Any]:
    """The month's status as the office reports it: the frozen final snapshot once it was
    compiled (on or before ``as_of``), else the live status as of ``as_of``."""
    final = None if live else load_snapshot(session, month, "final")
    if final is not None and final.compiled_on <= as_of:
        payload = dict(final.payload)
        out = _status_payload(
            month.replace(day=1), final.as_of, list(payload["items"]), leader=leader
        )
        out.update(final=True, compiled_on=final.compiled_on.isoformat())
        return out
    return month_status(session, month, as_of=as_of, leader=leader)


def leaders_in_scope(session: Session, payload: dict[str, Any]) -> list[tuple[Leader, str | None]]:
    """Who receives a status: the chairman (every item) and each leader with items in charge."""
    with_items = {r["leader_code"] for r in payload["items"] if r["leader_code"]}
    out: list[tuple[Leader, str | None]] = []
    for leader in session.scalars(select(Leader).order_by(Leader.code)):
        if leader.role == LeaderRole.CHAIRMAN.value:
            if payload["items"]:
                out.append((leader, None))
        elif leader.code in with_items:
            out.append((leader, leader.code))
    return out


def item_history(session: Session, code: str) -> dict[str, Any]:
    """An item and the history of its whole chain (every month it was carried through)."""
    item = load_item(session, code)
    chain = [item]
    while chain[0].carried_from_id is not None:
        source = session.get(ProgrammeItem, chain[0].carried_from_id)
        assert source is not None  # a foreign key
        chain.insert(0, source)
    while True:
        nxt = session.scalar(
            select(ProgrammeItem).where(ProgrammeItem.carried_from_id == chain[-1].id)
        )
        if nxt is None:
            break
        chain.append(nxt)
    return {
        "code": item.code,
        "title": item.title,
        "kind": ITEM_KIND_LABELS[ItemKind(item.kind)],
        "agency": item.agency.name,
        "leader": item.leader.name if item.leader else "",
        "month": month_label(item.month),
        "planned": item.planned_on.isoformat(),
        "submitted_on": item.submitted_on.isoformat() if item.submitted_on else None,
        "document_number": item.document_number,
        "chain": [
            {
                "code": link.code,
                "month": month_label(link.month),
                "planned": link.planned_on.isoformat(),
                "events": [
                    {
                        "kind": e.kind,
                        "on": e.on.isoformat(),
                        "actor": e.actor,
                        "note": e.note,
                        **e.data,
                    }
                    for e in link.events
                ],
            }
            for link in chain
        ],
    }


# --- the monthly status job -------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRun:
    """One status compiled by the job: the month, its stage, and who it went to."""

    month: str
    stage: str
    as_of: date
    recipients: list[str]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the job summary."""
        return {
            "month": self.month,
            "stage": self.stage,
            "as_of": self.as_of.isoformat(),
            "recipients": self.recipients,
        }


def due_statuses(cal: WorkingCalendar, day: date) -> list[tuple[date, str, date]]:
    """(month, stage, as of) of the statuses due on or before working day ``day``: the previous
    month's final (as of its last day) and, from the 25th (or the next working day), the
    current month's interim (as of ``day``)."""
    if not cal.is_working(day):
        return []
    this_month = day.replace(day=1)
    previous = (this_month - timedelta(days=1)).replace(day=1)
    due = [(previous, "final", month_end(previous))]
    interim = interim_day(this_month, cal)
    if interim.month == this_month.month and day >= interim:
        due.append((this_month, "interim", day))
    return due


def enqueue_statuses(
    session: Session, day: date, *, now: datetime, mail: MailSettings, dry_run: bool = False
) -> list[StatusRun]:
    """Compile and send the statuses due on ``day`` that were not compiled yet (level-triggered:
    a run after an outage catches up), each frozen as a snapshot and sent once per leader."""
    cal = load_calendar(session)
    runs: list[StatusRun] = []
    for month, stage, as_of in due_statuses(cal, day):
        if load_snapshot(session, month, stage) is not None:
            continue
        has_items = session.scalar(
            select(func.count())
            .select_from(ProgrammeItem)
            .where(ProgrammeItem.month == month, ProgrammeItem.entered_on <= as_of)
        )
        if not has_items:
            continue
        if dry_run:
            payload = month_status(session, month, as_of=as_of)
        else:
            taken = snapshot(session, month, stage, as_of=as_of, compiled_on=day, now=now)
            if taken is None:  # another run took it first
                continue
            payload = taken.payload
        sent = []
        for leader, scope in leaders_in_scope(session, payload):
            view = _status_payload(month, as_of, list(payload["items"]), leader=scope)
            context = {
                "office": mail.office,
                "app_url": mail.app_url,
                "as_of": as_of.isoformat(),
                "recipient": f"{leader.title} {leader.name}",
                "month": view["month"],
                "final": stage == "final",
                "items": view["items"],
                "summary": view["summary"],
            }
            key = f"programme-{month:%Y%m}-{stage}-{leader.code.lower()}"
            if not dry_run:
                outbox.enqueue(
                    session,
                    [
                        outbox.Mail(
                            kind="programme_status",
                            to=[(leader.name, leader.email)],
                            context=context,
                            notice_ids=[],
                            key=key,
                        )
                    ],
                    sender=mail.sender,
                    now=now,
                )
            sent.append(leader.code)
        runs.append(StatusRun(month_label(month), stage, as_of, sent))
    return runs
