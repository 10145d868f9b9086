"""The JSON API: tokens, pushing directives, transitions, who sees what, figures, the audit trail.

Every test runs on SQLite and on PostgreSQL (the ``rt`` fixture), over the seeded world of
``test_web`` (four tasks of 101/TB-UBND, the sample day 26/11/2026).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from directives.cli._common import set_runtime
from directives.db.tables import ApiToken, AuditEntry, Task, TaskEvent
from directives.runtime import Runtime
from directives.services import api_tokens, stats
from directives.web import create_app
from tests.test_cli import run
from tests.test_web import TestClient, World, csrf_of, seed, signed_in

TWO_TASKS: dict[str, Any] = {
    "number": "245/TB-UBND",
    "issued_on": "2026-11-20",
    "kind": "conclusion_notice",
    "signer": "PCT1",
    "summary": "Kết luận của Phó Chủ tịch UBND tỉnh về hạ tầng giao thông",
    "source_ref": "QLVB-2026-011245",
    "tasks": [
        {"content": "Rà soát quy hoạch giao thông", "lead_agency": "sxd",
         "coordinating_agencies": ["STC"], "deadline": "2026-12-15", "officer": "CV01"},
        {"content": "Báo cáo nhu cầu vốn", "lead_agency": "STC", "working_days": 10},
    ],
}  # fmt: skip


def make_token(rt: Runtime, scope: str, name: str | None = None) -> dict[str, str]:
    """The Authorization header of a new token acting as ``scope``."""
    with rt.unit_of_work() as s:
        _, text = api_tokens.create_token(
            s,
            name=name or scope.replace(":", "-").lower(),
            scope=api_tokens.Scope.parse(scope),
            clock=rt.clock,
        )
    return {"Authorization": f"Bearer {text}"}


@pytest.fixture
def world(rt: Runtime) -> World:
    return seed(rt)


@pytest.fixture
def api(rt: Runtime, world: World) -> TestClient:
    """A client with no credentials of its own (a server error would raise, not answer 500)."""
    return TestClient(create_app(rt), follow_redirects=False)


@pytest.fixture
def office(rt: Runtime, world: World) -> dict[str, str]:
    return make_token(rt, "secretariat", "qlvb")


def audit_rows(rt: Runtime) -> list[tuple[str, str, str, str, dict[str, Any]]]:
    """(user name, role, action, target, detail) of every audit entry, oldest first."""
    e = AuditEntry
    with rt.unit_of_work() as s:
        rows = s.execute(select(e.username, e.role, e.action, e.target, e.detail).order_by(e.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def events_of(rt: Runtime, code: str) -> list[str]:
    with rt.unit_of_work() as s:
        task_id = select(Task.id).where(Task.code == code).scalar_subquery()
        return list(s.scalars(select(TaskEvent.kind).where(TaskEvent.task_id == task_id)))


def post(api: TestClient, path: str, auth: dict[str, str], body: Any = None) -> httpx.Response:
    return api.post(f"/api{path}", json=body, headers=auth)


@pytest.fixture
def cli(rt: Runtime) -> Iterator[None]:
    set_runtime(rt)
    yield
    set_runtime(None)


def test_token_is_shown_once_works_until_revoked_then_401(
    rt: Runtime, api: TestClient, cli: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "tokens", "add", "QLVB", "--role", "secretariat")
    assert code == 0, err
    text = out.strip().splitlines()[-1]
    assert text.startswith("dtk_")
    with rt.unit_of_work() as s:
        stored = s.scalars(select(ApiToken)).one()
        assert stored.name == "qlvb"
        assert stored.token_hash == api_tokens.digest(text) != text
        assert stored.last_used_at is None
    auth = {"Authorization": f"Bearer {text}"}
    assert api.get("/api/agencies", headers=auth).status_code == 200
    code, out, _ = run(capsys, "tokens", "list", "--format", "json")
    (listed,) = json.loads(out)
    assert text not in out
    assert (listed["scope"], listed["status"]) == ("secretariat", "đang dùng")
    assert listed["last_used_at"].startswith("2026-11-26")
    assert run(capsys, "tokens", "revoke", "qlvb")[0] == 0
    refused = api.get("/api/agencies", headers=auth)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.json() == {"detail": "Token không hợp lệ hoặc đã bị thu hồi."}
    assert run(capsys, "tokens", "revoke", "qlvb")[0] == 4  # already revoked
    assert run(capsys, "tokens", "add", "dms", "--role", "agency")[0] == 2  # no agency code
    assert run(capsys, "tokens", "add", "dms", "--role", "agency:KHONGCO")[0] == 3
    actions = [(u, a, t) for u, _, a, t, _ in audit_rows(rt)]
    assert actions == [("cli", "api_token_added", "qlvb"), ("cli", "api_token_revoked", "qlvb")]


def test_no_credentials_or_a_bad_header_is_401_and_never_falls_back_to_the_cookie(
    rt: Runtime, api: TestClient, office: dict[str, str], world: World
) -> None:
    for headers in ({}, {"Authorization": "Bearer dtk_sai"}, {"Authorization": "Basic eDp5"}):
        r = api.get("/api/tasks", headers=headers)
        assert r.status_code == 401, headers
        assert set(r.json()) == {"detail"}
    nobody = api.post(f"/api/tasks/{world.overdue}/acknowledge")
    assert (nobody.status_code, nobody.json()["detail"][:13]) == (401, "Cần đăng nhập")
    browser = signed_in(rt, "vanphong")
    assert browser.get("/api/tasks").status_code == 200  # the session may read
    forged = {"Authorization": "Bearer dtk_" + "x" * 43}  # CSRF-exempt, so the cookie is ignored
    assert browser.get("/api/tasks", headers=forged).status_code == 401
    ack = f"/api/tasks/{world.overdue}/acknowledge"
    assert browser.post(ack, headers=forged).status_code == 401
    assert browser.post(ack).status_code == 403  # a session changes nothing without CSRF
    token = csrf_of(browser, "/tasks")
    assert browser.post(ack, headers={"X-CSRF-Token": token}).json()["state"] == "acknowledged"
    assert audit_rows(rt)[-1][:3] == ("vanphong", "secretariat", "acknowledge")
    assert post(api, f"/tasks/{world.due_soon}/acknowledge", office).status_code == 200


def test_pushing_a_directive_assigns_its_tasks_with_their_deadlines(
    rt: Runtime, api: TestClient, office: dict[str, str]
) -> None:
    r = post(api, "/directives", office, TWO_TASKS)
    assert r.status_code == 201, r.text
    assert r.json() == {"number": "245/TB-UBND", "year": 2026, "codes": ["NV26-0005", "NV26-0006"]}
    first = api.get("/api/tasks/nv26-0005", headers=office).json()
    assert (first["lead_agency"], first["coordinating_agencies"]) == ("SXD", ["STC"])
    assert [first[k] for k in ("deadline", "grid", "officer")] == [
        "2026-12-15",
        "within_term",
        "CV01",
    ]
    assert first["directive"]["source_ref"] == "QLVB-2026-011245"
    assert first["events"][0]["actor"] == "secretariat:api:qlvb"
    second = api.get("/api/tasks/NV26-0006", headers=office).json()
    assert second["deadline"] == "2026-12-07"  # 10 working days after 20/11; 24/11 is a holiday
    assert second["leader"] == "PCT1"  # the signer
    (entry,) = audit_rows(rt)
    assert entry[:4] == ("api:qlvb", "secretariat", "issue_directive", "245/TB-UBND (2026)")
    assert entry[4]["codes"] == ["NV26-0005", "NV26-0006"]
    assert entry[4]["via"] == "token"


def test_the_same_directive_again_is_409_with_the_first_codes_and_stores_nothing(
    rt: Runtime, api: TestClient, office: dict[str, str]
) -> None:
    assert post(api, "/directives", office, TWO_TASKS).status_code == 201
    again = post(api, "/directives", office, {**TWO_TASKS, "summary": "Gửi lại"})
    assert again.status_code == 409
    body = again.json()
    assert body == {
        "detail": "Văn bản số 245/TB-UBND năm 2026 đã có; không ghi thêm.",
        "number": "245/TB-UBND",
        "year": 2026,
        "codes": ["NV26-0005", "NV26-0006"],
    }
    assert api.get("/api/tasks", headers=office).json()["total"] == 6  # fmt: skip
    next_year = {**TWO_TASKS, "issued_on": "2027-01-04", "tasks": TWO_TASKS["tasks"][1:]}
    assert post(api, "/directives", office, next_year).json()["codes"] == ["NV27-0001"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tasks": []}, "tasks"),
        ({"issued_on": "26/11/2026"}, "issued_on"),
        ({"issued_on": "1500-01-01"}, "issued_on"),
        ({"kind": "thong_bao"}, "kind"),
        ({"number": "  "}, "number"),
        ({"signer": "KHONG CO"}, "signer"),
        ({"extra": 1}, "extra"),
        ({"tasks": [{"content": "x\x00y", "lead_agency": "SXD"}]}, "tasks.0.content"),
        ({"tasks": [{"content": "x", "lead_agency": "SXD", "working_days": 0}]},
         "tasks.0.working_days"),
        ({"tasks": [{"content": "x", "lead_agency": "SXD", "working_days": 3,
                     "deadline": "2026-12-01"}]}, "tasks.0"),
    ],
)  # fmt: skip
def test_a_malformed_directive_is_422_naming_the_field(
    api: TestClient, office: dict[str, str], change: dict[str, Any], field: str
) -> None:
    r = post(api, "/directives", office, {**TWO_TASKS, **change})
    assert r.status_code == 422
    assert field in r.json()["detail"]


def test_unknown_codes_and_impossible_dates_are_422_with_every_field(
    rt: Runtime, api: TestClient, office: dict[str, str]
) -> None:
    tasks = [
        {"content": "Một", "lead_agency": "SXD", "deadline": "2026-11-01"},
        {"content": "Hai", "lead_agency": "SOKHONGCO", "coordinating_agencies": ["SXD"],
         "leader": "PCT9"},
    ]  # fmt: skip
    r = post(api, "/directives", office, {**TWO_TASKS, "signer": "CT9", "tasks": tasks})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"signer", "tasks.0.deadline", "tasks.1.lead_agency", "tasks.1.leader"}
    assert "không có lãnh đạo với mã này" in r.json()["detail"]
    assert post(api, "/directives", office, "không phải JSON").status_code == 422
    assert api.get("/api/tasks", headers=office).json()["total"] == 4  # nothing stored
    assert audit_rows(rt) == []


def test_only_the_office_may_push_directives(rt: Runtime, api: TestClient) -> None:
    for scope in ("agency:SXD", "leader:CT"):
        r = post(api, "/directives", make_token(rt, scope), TWO_TASKS)
        assert r.status_code == 403, scope
        assert "không được nhập văn bản chỉ đạo" in r.json()["detail"]


def test_an_agency_never_reads_or_changes_another_agencys_task(
    rt: Runtime, api: TestClient, world: World
) -> None:
    sxd = make_token(rt, "agency:SXD")
    listed = api.get("/api/tasks?agency=SKHDT", headers=sxd).json()
    assert {t["code"] for t in listed["items"]} == {world.overdue, world.due_soon}
    theirs = api.get(f"/api/tasks/{world.standing}", headers=sxd)
    nothing = api.get("/api/tasks/NV99-9999", headers=sxd)
    assert theirs.status_code == nothing.status_code == 404
    assert theirs.text.replace(world.standing, "X") == nothing.text.replace("NV99-9999", "X")
    bodies = {
        "acknowledge": None, "reports": {"text": "Xong", "final": True}, "confirm": None,
        "return": {"reason": "Thiếu"}, "pause": None, "resume": None, "cancel": {"reason": "Bỏ"},
        "extensions": {"new_deadline": "2027-01-01", "reason": "Chậm"},
        "extensions/1/approve": None, "extensions/1/reject": None,
    }  # fmt: skip
    for action, body in bodies.items():
        r = post(api, f"/tasks/{world.standing}/{action}", sxd, body)
        assert r.status_code == 404, action
    assert events_of(rt, world.standing) == ["assigned"]
    assert signed_in(rt, "sxd").get(f"/api/tasks/{world.standing}").status_code == 404
    # A coordinating agency sees the task and may report on it, but not act as the lead.
    assert post(api, f"/tasks/{world.due_soon}/acknowledge", sxd).status_code == 403
    report = post(api, f"/tasks/{world.due_soon}/reports", sxd, {"text": "Đã góp ý"})
    assert report.status_code == 201
    figures = api.get("/api/stats?from=2026-11-01&to=2026-11-30&agency=SKHDT", headers=sxd).json()
    assert set(figures["by_agency"]) <= {"SXD"}


def test_a_task_moves_through_its_life_over_the_api(
    rt: Runtime, api: TestClient, office: dict[str, str], world: World
) -> None:
    sxd, leader = make_token(rt, "agency:SXD"), make_token(rt, "leader:PCT1")
    code, standing = world.overdue, world.standing

    def act(auth: dict[str, str], action: str, body: Any = None, on: str = code) -> Any:
        r = post(api, f"/tasks/{on}/{action}", auth, body)
        return r.json() if r.status_code in (200, 201) else r.status_code

    assert act(sxd, "acknowledge", {"on": "2026-10-02"})["state"] == "acknowledged"
    assert act(sxd, "acknowledge") == 409
    progress = act(sxd, "reports", {"text": "Đã rà soát 50%", "percent": 50})
    assert (progress["outcome"], progress["percent"]) == ("progress", 50)
    ext = act(sxd, "extensions", {"new_deadline": "2026-12-15", "reason": "Chờ số liệu"})
    assert (ext["status"], ext["after_deadline"]) == ("pending", True)
    assert act(sxd, f"extensions/{ext['id']}/approve") == 403
    assert act(leader, f"extensions/{ext['id'] + 99}/approve") == 404
    granted = act(leader, f"extensions/{ext['id']}/approve", {"note": "Đồng ý"})
    assert (granted["status"], granted["granted_deadline"]) == ("approved", "2026-12-15")
    assert act(leader, f"extensions/{ext['id']}/reject") == 409
    task = api.get(f"/api/tasks/{code}", headers=sxd).json()
    assert [task[k] for k in ("original_deadline", "deadline", "grid")] == [
        "2026-11-10", "2026-12-15", "within_term"]  # fmt: skip
    final = {"text": "Đã hoàn thành", "final": True, "document_ref": "123/SXD-QH"}
    assert act(sxd, "reports", final)["outcome"] == "pending"
    assert act(sxd, "confirm") == 403
    assert act(office, "return", {"reason": ""}) == 422
    assert act(office, "return", {"reason": "Thiếu phụ lục"})["state"] == "returned"
    assert act(sxd, "reports", final)["final"] is True
    done = act(office, "confirm", {"note": "Đạt"})
    assert (done["state"], done["grid"]) == ("confirmed", "done_early")
    assert [e["kind"] for e in done["events"]][-2:] == ["submitted", "confirmed"]
    assert act(leader, "pause", {"reason": "Chờ Bộ"}, standing)["state"] == "paused"
    assert act(office, "resume", None, standing)["state"] == "assigned"
    assert act(office, "cancel", {"on": "2026-11-27", "reason": "Thay thế"}, standing) == 422
    assert act(office, "cancel", {"reason": "Thay thế"}, standing)["state"] == "cancelled"
    assert act(office, "resume", None, standing) == 409
    sxd_, pct1 = "api:agency-sxd", "api:leader-pct1"
    assert [(u, a, t, d["via"]) for u, _, a, t, d in audit_rows(rt)] == [
        (sxd_, "acknowledge", code, "token"), (sxd_, "report", code, "token"),
        (sxd_, "request_extension", code, "token"), (pct1, "approve_extension", code, "token"),
        (sxd_, "submit", code, "token"), ("api:qlvb", "return", code, "token"),
        (sxd_, "submit", code, "token"), ("api:qlvb", "confirm", code, "token"),
        (pct1, "pause", standing, "token"), ("api:qlvb", "resume", standing, "token"),
        ("api:qlvb", "cancel", standing, "token"),
    ]  # fmt: skip
    assert audit_rows(rt)[0][4] == {"on": "2026-10-02", "via": "token"}


def test_register_filters_pages_and_bounds(
    api: TestClient, office: dict[str, str], world: World
) -> None:
    def codes(query: str) -> list[str]:
        r = api.get(f"/api/tasks?{query}", headers=office)
        assert r.status_code == 200, r.text
        return [t["code"] for t in r.json()["items"]]

    assert codes("status=overdue") == [world.overdue]
    assert set(codes("status=due_soon&status=standing")) == {world.due_soon, world.standing}
    assert codes("agency=stc") == [world.due_soon]
    assert codes("as_of=2026-09-30") == []
    assert len(codes("page_size=1&page=2")) == 1
    assert codes("q=giải ngân") == [world.due_soon]
    for bad in ("status=tre", "page_size=1000", "page=0", "as_of=2026-13-01", "as_of=1800-01-01",
                "agency=S%20X", "q=%00", "stauts=overdue", "=x"):  # fmt: skip
        assert api.get(f"/api/tasks?{bad}", headers=office).status_code == 422, bad
    assert api.get("/api/tasks/..%2F..", headers=office).status_code in (404, 422)


def test_stats_are_the_services_figures_and_reference_lists(
    rt: Runtime, api: TestClient, office: dict[str, str]
) -> None:
    r = api.get("/api/stats?from=2026-11-01&to=2026-11-30", headers=office)
    assert r.status_code == 200
    with rt.unit_of_work() as s:
        expected = stats.stats_dict(s, date(2026, 11, 1), date(2026, 11, 30))
    assert r.json() == json.loads(json.dumps(expected))
    assert (r.json()["open_overdue"], r.json()["from"]) == (1, "2026-11-01")
    for bad in ("from=2026-12-01&to=2026-11-01", "from=2000-01-01&to=2098-01-01", "to=2026-11-30"):
        assert api.get(f"/api/stats?{bad}", headers=office).status_code == 422, bad
    agencies = api.get("/api/agencies", headers=office).json()
    assert [a["code"] for a in agencies] == ["SKHDT", "STC", "SXD", "UBNDTP"]
    leaders = api.get("/api/leaders", headers=office).json()
    assert [(x["code"], x["role"]) for x in leaders] == [
        ("CT", "chairman"),
        ("PCT1", "vice_chairman"),
    ]
