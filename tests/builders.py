"""Test builders: a small registry, and directives entered through the services."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from directives.clock import Clock
from directives.domain import AgencyKind, DeadlineSpec, DirectiveKind, LeaderRole
from directives.importing import AgencyRow, LeaderRow, OfficerRow
from directives.services import intake, registry
from directives.workflow import Actor, Role

OFFICE = Actor(Role.SECRETARIAT, "Văn thư")
AGENCIES = ("SKHDT", "STC", "SXD", "UBNDTP")


def seed_registry(session: Session) -> None:
    """Four agencies, a chairman (CT) and a vice-chairman (PCT1), one officer (CV01)."""
    names = {
        "SKHDT": "Sở Kế hoạch và Đầu tư",
        "STC": "Sở Tài chính",
        "SXD": "Sở Xây dựng",
        "UBNDTP": "UBND thành phố Bình An",
    }
    registry.upsert_agencies(
        session,
        [
            AgencyRow(
                row=i + 2,
                code=code,
                name=names[code],
                kind=AgencyKind.DISTRICT if code.startswith("UBND") else AgencyKind.DEPARTMENT,
                focal_emails=(f"vanthu.{code.lower()}@binhan.gov.vn",),
                head_name="Nguyễn Văn An",
                head_email=f"giamdoc.{code.lower()}@binhan.gov.vn",
                active=True,
            )
            for i, code in enumerate(AGENCIES)
        ],
    )
    registry.upsert_leaders(
        session,
        [
            LeaderRow(
                row=2,
                code="CT",
                name="Trần Quốc Bảo",
                title="Chủ tịch UBND tỉnh",
                role=LeaderRole.CHAIRMAN,
                email="chutich@binhan.gov.vn",
                sectors=("Nội vụ",),
            ),
            LeaderRow(
                row=3,
                code="PCT1",
                name="Lê Thị Hồng",
                title="Phó Chủ tịch UBND tỉnh",
                role=LeaderRole.VICE_CHAIRMAN,
                email="pct1@binhan.gov.vn",
                sectors=("Kinh tế tổng hợp", "Tài chính"),
            ),
        ],
    )
    registry.upsert_officers(
        session,
        [
            OfficerRow(row=2, code="CV01", name="Phạm Minh Châu", email="cv01.vp@binhan.gov.vn"),
        ],
    )


def issue(
    session: Session,
    clock: Clock,
    *,
    number: str,
    issued_on: date,
    tasks: list[tuple[str, DeadlineSpec]],
    leader: str = "PCT1",
) -> list[str]:
    """Issue one directive with (lead agency, deadline) tasks; returns the task codes."""
    (directive,) = intake.issue_directives(
        session,
        [
            intake.NewDirective(
                number=number,
                issued_on=issued_on,
                kind=DirectiveKind.CONCLUSION_NOTICE,
                signer=leader,
                summary="Thông báo kết luận của Chủ tịch UBND tỉnh tại buổi làm việc",
                tasks=tuple(
                    intake.NewTask(
                        content=f"Nhiệm vụ số {i}", lead_agency=agency, deadline=dl, officer="CV01"
                    )
                    for i, (agency, dl) in enumerate(tasks, start=1)
                ),
            )
        ],
        actor=OFFICE,
        clock=clock,
    )
    session.flush()
    return [t.code for t in sorted(directive.tasks, key=lambda t: t.position)]
