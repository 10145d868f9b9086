"""Many rows in a few statements: every value comes back as it went in, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import DataError

from directives.db.tables import Agency
from directives.runtime import Runtime
from directives.services.bulk_insert import insert_rows, reused_key_checks

AWKWARD = [
    'Sở "Xây dựng"',
    "C:\\thư mục\\tệp",
    "NULL",
    "{a,b}",
    " dấu cách hai đầu ",
    "dòng một\ndòng hai",
    "",
    "Ủy ban, nhân dân; tỉnh",
]


def agency(i: int, name: str, head: str | None) -> dict[str, object]:
    return {
        "code": f"DV{i:02d}",
        "name": name,
        "kind": "department",
        "focal_emails": [f"vt{i}@x.vn", 'a"b\\c'],
        "head_name": head,
        "head_email": None,
        "active": i % 2 == 0,
    }


def test_awkward_text_nulls_json_and_flags_round_trip(rt: Runtime) -> None:
    rows = [agency(i, name, None if i % 3 else name) for i, name in enumerate(AWKWARD)]
    with rt.unit_of_work() as s:
        conn = s.connection()
        with reused_key_checks(conn):
            returned = insert_rows(conn, Agency, rows, returning=("code", "id"))
        ids: dict[str, int] = dict(returned)
    with rt.unit_of_work() as s:
        stored = {a.code: a for a in s.scalars(select(Agency))}
    assert sorted(ids) == sorted(stored) == [r["code"] for r in rows]
    for r in rows:
        a = stored[str(r["code"])]
        assert a.id == ids[a.code]
        got = (a.name, a.focal_emails, a.head_name, a.head_email, a.active)
        assert got == (r["name"], r["focal_emails"], r["head_name"], None, r["active"])


def test_rows_without_returning_and_all_columns_constant(rt: Runtime) -> None:
    rows = [agency(i, "Sở Tài chính", None) for i in range(3)]
    for r in rows:
        r["active"] = True
    with rt.unit_of_work() as s:
        assert insert_rows(s.connection(), Agency, rows) == []
        assert insert_rows(s.connection(), Agency, []) == []
        names = list(s.scalars(select(Agency.name)))
    assert names == ["Sở Tài chính"] * 3


def test_a_json_none_is_stored_as_sqlalchemy_stores_it(rt: Runtime) -> None:
    with rt.unit_of_work() as s:
        s.execute(insert(Agency), [{**agency(1, "Qua SQLAlchemy", None), "focal_emails": None}])
        for rows in ([agency(2, "Một", None)], [agency(3, "Hai", None), agency(4, "Ba", None)]):
            for r in rows:
                r["focal_emails"] = None
            insert_rows(s.connection(), Agency, rows)
        null = select(Agency.code, Agency.focal_emails.is_(None), Agency.focal_emails)
        stored = {code: (is_null, value) for code, is_null, value in s.execute(null)}
    assert set(stored.values()) == {stored["DV01"]}
    assert stored["DV01"][1] is None


def test_rows_must_give_the_columns_with_python_side_defaults(rt: Runtime) -> None:
    row = agency(1, "Sở Tài chính", None)
    del row["active"]
    with pytest.raises(ValueError, match="agencies: rows without active"), rt.unit_of_work() as s:
        insert_rows(s.connection(), Agency, [row])


# PostgreSQL only: SQLite does not enforce VARCHAR lengths.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_an_overlong_value_is_refused_not_cut_on_postgresql(rt: Runtime) -> None:
    rows = [agency(1, "x" * 301, None), agency(2, "ngắn", None)]
    with pytest.raises(DataError), rt.unit_of_work() as s:
        insert_rows(s.connection(), Agency, rows)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # a PostgreSQL setting
def test_the_plan_cache_setting_is_put_back(rt: Runtime) -> None:
    with rt.unit_of_work() as s:
        conn = s.connection()
        show = "SELECT current_setting('plan_cache_mode')"
        before = conn.exec_driver_sql(show).scalar_one()
        with reused_key_checks(conn):
            assert conn.exec_driver_sql(show).scalar_one() == "auto"
        assert conn.exec_driver_sql(show).scalar_one() == before
