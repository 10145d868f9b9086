"""The leader's dashboard: the grid of their scope, charts, critical tasks, extension decisions."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

import httpx
import pytest

from directives.domain import DeadlineSpec, DirectiveKind
from directives.programme import ItemKind
from directives.runtime import Runtime
from directives.services import intake, lifecycle, programme
from directives.workflow import Actor, Role
from tests.builders import OFFICE
from tests.test_web import (
    ACCOUNTS,
    MATRIX_ROLES,
    World,
    audit_actions,
    client,
    csrf_of,
    seed,
    signed_in,
)

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

STC = Actor(Role.AGENCY, "stc", agency="STC")


def _post(browser: TestClient, path: str, data: dict[str, str]) -> httpx.Response:
    return browser.post(path, data={**data, "csrf_token": csrf_of(browser, "/tasks")})


def tiles(html: str) -> dict[str, int]:
    """The dashboard's totals, by grid class."""
    found = re.findall(r'<div class="tile grid-([a-z_]+)"><span class="tile-n">(\d+)</span>', html)
    return {grid: int(n) for grid, n in found}


def _chairmans_tasks(rt: Runtime) -> str:
    """Two tasks the chairman signed: one in a vice-chairman's sector (its code), one outside."""
    with rt.unit_of_work() as s:
        (directive,) = intake.issue_directives(
            s,
            [
                intake.NewDirective(
                    number="150/TB-UBND",
                    issued_on=date(2026, 11, 2),
                    kind=DirectiveKind.CONCLUSION_NOTICE,
                    signer="CT",
                    summary="Kết luận của Chủ tịch UBND tỉnh",
                    tasks=(
                        intake.NewTask(
                            "Quyết toán ngân sách",
                            "STC",
                            sector="Tài chính",
                            deadline=DeadlineSpec(on=date(2026, 12, 20)),
                        ),
                        intake.NewTask(
                            "Tinh gọn bộ máy",
                            "UBNDTP",
                            sector="Nội vụ",
                            deadline=DeadlineSpec(on=date(2026, 12, 21)),
                        ),
                    ),
                )
            ],
            actor=OFFICE,
            clock=rt.clock,
        )
        programme.add_items(
            s,
            date(2026, 11, 1),
            [
                programme.NewItem(
                    "Đề án phát triển đô thị",
                    ItemKind.PROJECT,
                    "SXD",
                    leader="PCT1",
                    planned_on=date(2026, 11, 16),
                )
            ],
            actor=OFFICE,
            clock=rt.clock,
            on=date(2026, 11, 2),
        )
        return min(t.code for t in directive.tasks)


def test_the_chairman_sees_every_task_with_charts_critical_tasks_digest_and_programme(
    rt: Runtime,
) -> None:
    w = seed(rt)
    _chairmans_tasks(rt)
    page = signed_in(rt, "ct").get("/dashboard")
    assert page.status_code == 200
    assert tiles(page.text) == {
        "done_on_the_day": 0,
        "done_late": 0,
        "within_term": 3,
        "due_soon": 1,
        "overdue": 1,
        "standing": 1,
        "paused": 0,
    }
    assert 'class="num cell-overdue">1</td>' in page.text  # the grid is coloured
    critical = page.text.split("Nhiệm vụ quá hạn nghiêm trọng")[1].split("<h2")[0]
    assert f'href="/tasks/{w.overdue}"' in critical
    assert "quá 11 ngày" in critical
    assert "Báo cáo tuần gần nhất (23/11/2026)" in page.text
    assert "Sở Xây dựng</strong>: 1 nhiệm vụ quá hạn" in page.text
    assert "Chương trình công tác tháng 11/2026" in page.text
    assert "quá hạn chưa trình 1" in page.text
    assert "Đề án phát triển đô thị" in page.text
    charts = re.findall(r'<img src="(/dashboard/chart/[a-z-]+\.png)"', page.text)
    assert charts == [
        "/dashboard/chart/overdue-by-agency.png",
        "/dashboard/chart/overdue-weekly.png",
    ]
    png = signed_in(rt, "ct").get(charts[0])
    assert (png.headers["content-type"], png.content[:8]) == ("image/png", b"\x89PNG\r\n\x1a\n")
    assert signed_in(rt, "ct").get("/dashboard/chart/khong-co.png").status_code == 404


def test_a_vice_chairman_sees_the_tasks_in_charge_or_in_their_sectors(rt: Runtime) -> None:
    seed(rt)
    _chairmans_tasks(rt)
    mine = tiles(signed_in(rt, "pct1").get("/dashboard").text)
    assert mine["within_term"] == 2  # the PCT1 task and the chairman's one on Tài chính
    office = signed_in(rt, "vanphong")
    assert tiles(office.get("/dashboard?leader=PCT1").text) == mine
    assert tiles(office.get("/dashboard").text)["within_term"] == 3  # the chairman's, by default
    assert tiles(signed_in(rt, "pct1").get("/dashboard?leader=CT").text) == mine  # own, always
    assert "Thư đã gửi" not in signed_in(rt, "pct1").get("/dashboard").text
    assert office.get("/dashboard?leader=KHONGCO").status_code == 404


def _request(rt: Runtime, w: World) -> None:
    stc = signed_in(rt, "stc")
    data = {"new_deadline": "2026-12-10", "reason": "Chờ số liệu của Kho bạc Nhà nước"}
    assert _post(stc, f"/inbox/{w.due_soon}/extension", data).status_code == 303


def test_a_leader_approves_an_extension_on_the_dashboard_and_the_new_deadline_shows(
    rt: Runtime,
) -> None:
    w = seed(rt)
    _request(rt, w)
    office_view = signed_in(rt, "vanphong").get("/dashboard?leader=PCT1").text
    assert "Chờ số liệu của Kho bạc Nhà nước" in office_view
    assert f'action="/dashboard/extensions/{w.due_soon}"' not in office_view  # the leader decides
    assert f'href="/desk/tasks/{w.due_soon}#gia-han"' in office_view
    pct1 = signed_in(rt, "pct1")
    page = pct1.get("/dashboard").text
    assert f'action="/dashboard/extensions/{w.due_soon}"' in page
    early = {"decision": "approve", "deadline": "2026-11-27"}
    r = _post(pct1, f"/dashboard/extensions/{w.due_soon}", early)
    assert "Thời hạn mới phải sau 30/11/2026" in pct1.get(r.headers["location"]).text
    data = {"decision": "approve", "deadline": "2026-12-14", "note": "Đồng ý"}
    r = _post(pct1, f"/dashboard/extensions/{w.due_soon}", data)
    assert r.status_code == 303
    after = pct1.get(r.headers["location"]).text
    assert "đã đồng ý gia hạn đến 14/12/2026" in after
    assert "Không có đề nghị gia hạn nào đang chờ." in after
    inbox = signed_in(rt, "stc").get(f"/inbox/{w.due_soon}").text
    assert "14/12/2026" in inbox
    assert "(ban đầu 30/11/2026)" in inbox
    assert ("pct1", "extension_approved") in [(u, a) for u, a, _ in audit_actions(rt)]
    with rt.unit_of_work() as s:
        lifecycle.request_extension(
            s,
            w.due_soon,
            on=date(2026, 11, 26),
            reason="Thêm",
            new_deadline=date(2026, 12, 18),
            actor=STC,
            clock=rt.clock,
        )
    r = _post(signed_in(rt, "ct"), f"/dashboard/extensions/{w.due_soon}", {"decision": "reject"})
    assert r.status_code == 303  # the chairman decides on every task
    assert "14/12/2026" in signed_in(rt, "stc").get(f"/inbox/{w.due_soon}").text


def test_a_vice_chairman_cannot_decide_on_a_task_another_leader_is_in_charge_of(
    rt: Runtime,
) -> None:
    seed(rt)
    code = _chairmans_tasks(rt)  # led by STC, in PCT1's sector, the chairman in charge
    with rt.unit_of_work() as s:
        lifecycle.request_extension(
            s,
            code,
            on=date(2026, 11, 26),
            reason="Chờ Bộ Tài chính",
            new_deadline=date(2026, 12, 30),
            actor=STC,
            clock=rt.clock,
        )
    pct1 = signed_in(rt, "pct1")
    assert f'action="/dashboard/extensions/{code}"' not in pct1.get("/dashboard").text
    r = _post(pct1, f"/dashboard/extensions/{code}", {"decision": "approve"})
    assert r.status_code == 403
    assert f'action="/dashboard/extensions/{code}"' in signed_in(rt, "ct").get("/dashboard").text


@pytest.mark.parametrize("who", MATRIX_ROLES, ids=lambda w: w or "anonymous")
def test_authorization_matrix_of_the_dashboard(rt: Runtime, who: str | None) -> None:
    w = seed(rt)
    _request(rt, w)
    browser = signed_in(rt, who) if who else client(rt)
    role = ACCOUNTS[who][0] if who else None
    sees = 200 if role in (Role.SECRETARIAT, Role.LEADER) else 303 if who is None else 403
    for path in ["/dashboard", "/dashboard?leader=PCT1", "/dashboard/chart/overdue-by-agency.png"]:
        assert browser.get(path).status_code == sees, (path, who)
    decide = f"/dashboard/extensions/{w.due_soon}"
    assert browser.post(decide, data={"decision": "reject"}).status_code == 403  # no token
    if who is not None:
        r = _post(browser, decide, {"decision": "reject"})
        assert r.status_code == (303 if role is Role.LEADER else 403), who
    for path in ["/dashboard/extensions/NV99-9999"]:
        if role is Role.LEADER:
            assert _post(browser, path, {"decision": "reject"}).status_code == 404
