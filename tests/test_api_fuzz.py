"""Schemathesis against the API's own OpenAPI schema: no request gets a 5xx or an off-schema answer.

The schema is the app's ``/api/openapi.json``. Each operation gets its explicit examples and
``MAX_EXAMPLES`` generated cases (valid and invalid), seeded and derandomized, sent in-process
(ASGI) with a valid office token to an app over the seeded world of ``test_web``, on SQLite and
on PostgreSQL. Path codes, agencies and leaders are mostly drawn from that world, so most cases
reach a real task rather than stopping at 404.

(``schemathesis.pytest.from_fixture`` would load the schema from a fixture's app directly, but
it reads ``Node._nodeid``, which pytest 9.2 no longer has; so the schema is read once from an
app over a database-less runtime, and each case is sent to the fixture's app.)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from tempfile import gettempdir

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.openapi import from_asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from directives.clock import FixedClock
from directives.db.engine import make_engine, make_session_factory
from directives.runtime import Runtime
from directives.settings import Settings
from directives.web import create_app
from tests.builders import AGENCIES
from tests.conftest import SAMPLE_DAY
from tests.conftest import _truncate_all as truncate_all
from tests.test_api import make_token
from tests.test_web import seed

# DIRECTIVES_FUZZ_DEEP=1 adds the coverage phase (the boundary and invalid values of every
# parameter) and ten times the cases: minutes, not seconds; worth a run after changing the API.
DEEP = os.environ.get("DIRECTIVES_FUZZ_DEEP", "") == "1"
MAX_EXAMPLES = 200 if DEEP else 15
SEED = 2026
WORLD = {
    "tasks": [f"NV26-{i:04d}" for i in range(1, 9)],  # the seeded four, and directives pushed
    "extensions": [1, 2, 3],
    "agencies": list(AGENCIES),
    "leaders": ["CT", "PCT1"],
}
DRAWN_FROM_WORLD = {
    "path.code": "tasks",
    "path.extension_id": "extensions",
    "query.agency": "agencies",
    "query.leader": "leaders",
    "body.signer": "leaders",
    "body.tasks[*].lead_agency": "agencies",
    "body.tasks[*].coordinating_agencies[*]": "agencies",
}


def _schema() -> schemathesis.BaseSchema:
    settings = Settings(
        database_url="sqlite://",  # never connected: the schema needs no database
        secret_key="s" * 40,
        var_dir=Path(gettempdir()) / "directives-fuzz-schema",
    )
    engine = make_engine(settings.database_url)
    app = create_app(Runtime(settings, engine, make_session_factory(engine)))
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "phases": {"coverage": {"enabled": DEEP, "unexpected-methods": []}},
            "dictionaries": {name: {"values": values} for name, values in WORLD.items()},
            "parameters": {
                key: {"dictionary": name, "probability": 0.8}
                for key, name in DRAWN_FROM_WORLD.items()
            },
        }
    )
    return from_asgi("/api/openapi.json", app, config=config)


schema = _schema()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    """One seeded world per backend for all the operations, and an office token's header.

    Module-scoped (unlike ``rt``): seeding a world per operation cost more than the fuzzing.
    The operations share it, so a case may find a task an earlier operation changed.
    """
    folder = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), folder / "fuzz.sqlite3")
        url = f"sqlite:///{folder / 'fuzz.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
        truncate_all(url)
    engine = make_engine(url)
    rt = Runtime(Settings(database_url=url, var_dir=folder / "var"), engine,
                 make_session_factory(engine), FixedClock.on(SAMPLE_DAY))  # fmt: skip
    seed(rt)
    yield create_app(rt), make_token(rt, "secretariat", "fuzz")
    rt.close()


# Beyond "never a 5xx": every answer is one the schema documents, in the documented shape; bad
# data is refused; a missing or wrong token is refused. (Not checked: that every schema-valid
# request is accepted, since a valid-looking code may name no agency, a date may be out of the
# calendar's range, and the workflow refuses what the state does not allow.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]


@schema.parametrize()
def test_no_request_makes_the_api_answer_5xx_or_off_schema(
    case: schemathesis.Case, target: tuple[FastAPI, dict[str, str]]
) -> None:
    app, headers = target
    case.call_and_validate(app=app, headers=headers, checks=CHECKS)
