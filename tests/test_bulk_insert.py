"""Many rows in a few statements: every value comes back as it went in, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DataError, IntegrityError

from directives.db.tables import Agency
from directives.runtime import Runtime
from directives.services.bulk_insert import insert_rows, reused_key_checks, write_rows

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


# write_rows: COPY on PostgreSQL, executemany on SQLite, ids given.

COPY_AWKWARD = [
    *AWKWARD,
    "tab\there",
    "carriage\rreturn",
    "\\N",  # COPY's NULL marker, as text
    "\\.",  # COPY's end-of-data marker, as text
    "trailing backslash\\",
    "Nghị quyết số 12/2024/NQ-HĐND về “đầu tư công” — tỉnh Bình An",
]


def test_written_rows_read_back_as_written_awkward_text_nulls_json_and_flags(
    rt: Runtime,
) -> None:
    names = ("id", "code", "name", "kind", "focal_emails", "head_name", "head_email", "active")
    rows = [
        (
            100 + i,
            f"DV{i:02d}",
            name,
            "department",
            [f"vt{i}@x.vn", 'a"b\\c\td', name],
            None if i % 3 else name,
            None,
            i % 2 == 0,
        )
        for i, name in enumerate(COPY_AWKWARD)
    ]
    with rt.unit_of_work() as s:
        write_rows(s, Agency, names, rows)
        write_rows(s, Agency, names, [])
    with rt.unit_of_work() as s:
        stored = {a.id: a for a in s.scalars(select(Agency))}
    assert sorted(stored) == [r[0] for r in rows]
    for row in rows:
        a = stored[row[0]]
        got = (a.id, a.code, a.name, a.kind, a.focal_emails, a.head_name, a.head_email, a.active)
        assert got == row


def test_written_json_is_the_text_the_orm_writes(rt: Runtime) -> None:
    document = ["vt@x.vn", 'a"b\\c', "Sở Tài chính"]
    with rt.unit_of_work() as s:
        s.execute(insert(Agency), [{**agency(1, "Qua ORM", None), "focal_emails": document}])
        row = (2, "DV02", "Qua COPY", "department", document, None, None, False)
        names = ("id", "code", "name", "kind", "focal_emails", "head_name", "head_email", "active")
        write_rows(s, Agency, names, [row])
        texts = dict(s.execute(text("SELECT code, CAST(focal_emails AS TEXT) FROM agencies")).all())
    assert texts["DV01"] == texts["DV02"]


def test_a_refused_row_raises_the_sqlalchemy_error_and_leaves_nothing(rt: Runtime) -> None:
    names = ("id", "code", "name", "kind", "focal_emails", "head_name", "head_email", "active")
    good = [(i, f"DV{i:02d}", "Sở", "department", [], None, None, True) for i in range(1, 4)]
    twin = (9, "DV02", "Sở trùng mã", "department", [], None, None, True)
    with pytest.raises(IntegrityError), rt.unit_of_work() as s:
        write_rows(s, Agency, names, [*good, twin])
    with rt.unit_of_work() as s:
        assert list(s.scalars(select(Agency.code))) == []


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_an_overlong_written_value_is_refused_not_cut_on_postgresql(rt: Runtime) -> None:
    names = ("id", "code", "name", "kind", "focal_emails", "head_name", "head_email", "active")
    row = (1, "DV01", "x" * 301, "department", [], None, None, True)
    with pytest.raises(DataError, match="character varying"), rt.unit_of_work() as s:
        write_rows(s, Agency, names, [row])


def test_written_rows_must_give_the_columns_with_python_side_defaults(rt: Runtime) -> None:
    names = ("id", "code", "name", "kind", "head_name", "head_email", "active")
    row = (1, "DV01", "Sở", "department", None, None, True)
    missing = "agencies: rows without focal_emails"
    with pytest.raises(ValueError, match=missing), rt.unit_of_work() as s:
        write_rows(s, Agency, names, [row])
