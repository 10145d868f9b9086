"""The figures of a period, and the agencies and leaders a directive may name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from directives.db.tables import Agency, Leader
from directives.errors import InvalidInput
from directives.services import registry, stats
from directives.web.api.auth import ApiDep
from directives.web.api.fields import Code, Day, calendar_bounds
from directives.web.api.outputs import AgencyOut, LeaderOut, StatsOut, errors
from directives.workflow import Role

router = APIRouter(tags=["Số liệu và danh mục"])

MAX_PERIOD_DAYS = 10 * 366  # the previous period of the same length must fit the calendar


@router.get(
    "/stats", responses=errors(401, 422), summary="Số liệu một kỳ", operation_id="get_stats"
)
def get_stats(
    api: ApiDep,
    from_: Annotated[Day, Query(alias="from", description="Từ ngày.", examples=["2026-01-01"])],
    to: Annotated[Day, Query(description="Đến ngày.", examples=["2026-06-30"])],
    agency: Annotated[Code | None, Query(description="Chỉ một đơn vị chủ trì.")] = None,
    leader: Annotated[Code | None, Query(description="Chỉ một lãnh đạo phụ trách.")] = None,
) -> StatsOut:
    """Số liệu theo biểu mẫu (đúng hạn, quá hạn, trong hạn…) và thay đổi so với kỳ trước.

    Tài khoản hoặc token của đơn vị chỉ nhận số liệu của đơn vị mình.
    """
    if to < from_:
        raise InvalidInput(f"kỳ từ {from_:%d/%m/%Y} đến {to:%d/%m/%Y}: ngày cuối trước ngày đầu")
    if (to - from_).days > MAX_PERIOD_DAYS:
        raise InvalidInput(f"kỳ từ {from_:%d/%m/%Y} đến {to:%d/%m/%Y} dài quá 10 năm")
    if api.caller.role is Role.AGENCY:
        agency = api.caller.agency
    with calendar_bounds():
        figures = stats.stats_dict(api.db, from_, to, agency=agency, leader=leader)
    return StatsOut.model_validate(figures)


@router.get(
    "/agencies", responses=errors(401), summary="Danh mục đơn vị", operation_id="list_agencies"
)
def list_agencies(api: ApiDep) -> list[AgencyOut]:
    """Các đơn vị (sở, ban, ngành, UBND cấp huyện), theo mã."""
    agencies = sorted(registry.codes(api.db, Agency).values(), key=lambda a: a.code)
    return [AgencyOut(code=a.code, name=a.name, kind=a.kind, active=a.active) for a in agencies]


@router.get(
    "/leaders", responses=errors(401), summary="Danh mục lãnh đạo", operation_id="list_leaders"
)
def list_leaders(api: ApiDep) -> list[LeaderOut]:
    """Chủ tịch và các Phó Chủ tịch, theo mã."""
    leaders = sorted(registry.codes(api.db, Leader).values(), key=lambda x: x.code)
    return [
        LeaderOut(code=x.code, name=x.name, title=x.title, role=x.role, sectors=list(x.sectors))
        for x in leaders
    ]
