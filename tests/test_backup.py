"""``directives db backup`` / ``restore``: a restored database gives the same figures.

SQLite through its online backup API, PostgreSQL through pg_dump / pg_restore, each on a
database of its own (a restore replaces every table).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from directives.cli._common import set_runtime
from directives.clock import FixedClock
from directives.db import migrate
from directives.db.engine import make_engine, make_session_factory
from directives.runtime import Runtime
from directives.services.calendar import ensure_index
from directives.settings import Settings
from tests.test_cli import EXAMPLES, run, snapshot
from tests.test_migrations import empty_url  # noqa: F401  (the fixture)

DAY = "26/11/2026"


@pytest.fixture
def own(empty_url: str, clock: FixedClock, tmp_path: Path) -> Iterator[Runtime]:  # noqa: F811
    """A runtime on a database of its own, migrated, with the sample province loaded."""
    engine = make_engine(empty_url)
    migrate.upgrade(engine)
    settings = Settings(database_url=empty_url, var_dir=tmp_path / "var")
    rt = Runtime(settings, engine, make_session_factory(engine), clock)
    with rt.unit_of_work() as s:
        ensure_index(s)
    set_runtime(rt)
    yield rt
    set_runtime(None)
    rt.close()


def figures(capsys: pytest.CaptureFixture[str]) -> tuple[object, ...]:
    """What a reader would compare: the period's figures and the open register."""
    code, stats, err = run(capsys, "stats", "--from", "01/07/2026", "--to", DAY, "--format", "json")
    assert code == 0, err
    code, listing, err = run(
        capsys, "tasks", "list", "--as-of", DAY, "--status", "open", "--format", "json"
    )
    assert code == 0, err
    return json.loads(stats), json.loads(listing)


def test_a_restored_database_gives_the_same_figures(
    own: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "sample", "load", str(EXAMPLES))[0] == 0
    assert run(capsys, "run", "chase", "--as-of", DAY)[0] == 0
    before, rows_before = figures(capsys), snapshot(own)
    target = tmp_path / "sao-luu" / "ban-sao.bak"

    code, out, err = run(capsys, "db", "backup", str(target))
    assert code == 0, err
    assert f"Đã sao lưu vào {target}" in out
    assert not list(target.parent.glob("*.partial"))
    code, _, err = run(capsys, "db", "backup", str(target))  # never overwrites a backup
    assert code != 0
    assert "tệp đã có" in err

    # Work goes on after the backup: escalations, deliveries, a confirmed report.
    assert run(capsys, "run", "escalate", "--as-of", DAY)[0] == 0
    assert run(capsys, "run", "dispatch", "--as-of", DAY)[0] == 0
    with own.unit_of_work() as s:
        s.execute(
            text("UPDATE tasks SET state = 'confirmed', confirmed_on = :d"), {"d": "2026-11-26"}
        )
    assert figures(capsys) != before

    code, _, err = run(capsys, "db", "restore", str(target))  # destructive: asks for --yes
    assert code == 2
    assert "--yes" in err
    assert figures(capsys) != before

    code, out, err = run(capsys, "db", "restore", str(target), "--yes")
    assert code == 0, err
    assert f"phiên bản {migrate.head_revision()}" in out
    assert figures(capsys) == before
    assert snapshot(own) == rows_before


def test_restore_refuses_what_is_not_a_backup_and_changes_nothing(
    own: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "sample", "load", str(EXAMPLES))[0] == 0
    rows_before = snapshot(own)
    for path, reason in [
        (EXAMPLES / "directives.csv", "không phải bản sao lưu"),
        (tmp_path / "khong-co.bak", "không có tệp sao lưu này"),
    ]:
        code, _, err = run(capsys, "db", "restore", str(path), "--yes")
        assert code != 0
        assert reason in err
        assert "Traceback" not in err
    assert snapshot(own) == rows_before


def test_a_backup_from_a_newer_version_is_refused(
    own: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "sample", "load", str(EXAMPLES))[0] == 0
    target = tmp_path / "moi.bak"
    with own.unit_of_work() as s:
        s.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    assert run(capsys, "db", "backup", str(target))[0] == 0
    with own.unit_of_work() as s:
        s.execute(
            text("UPDATE alembic_version SET version_num = :v"), {"v": migrate.head_revision()}
        )
    rows_before = snapshot(own)
    code, _, err = run(capsys, "db", "restore", str(target), "--yes")
    assert code != 0
    assert "9999" in err
    assert snapshot(own) == rows_before
