"""Benchmark of the register page served over HTTP: 100,000 tasks, uvicorn on loopback (issue 6).

Run ``.venv/bin/python -m bench.web_register --backend sqlite|postgres|both --tasks 100000``.
The aim is a p95 under 150 ms for the office's register filtered by one agency. See
bench/README.md for what is loaded, which pages are fetched and how each answer is checked.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import re
import secrets
import shlex
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bench import register as br
from directives.clock import VN, FixedClock
from directives.db.tables import Agency, Task, User
from directives.errors import NotFound
from directives.runtime import Runtime
from directives.services import queries, users
from directives.workflow import Role

RESULTS = Path(__file__).with_name("results")
RESULT_FILE = RESULTS / "web_register.json"
AIM_P95_MS = 150.0
PASSWORD = "bench-web-2026"  # the two bench accounts only; they live in the bench database
OFFICE_USER = "bench.vanphong"
REGISTER_PAGE_SIZE = 50  # directives.web.routes.tasks.PAGE_SIZE
INBOX_PAGE_SIZE = 200  # what directives.web.routes.inbox.inbox asks for

ROW = re.compile(
    r'<tr class="row grid-([a-z_]+)">\s*<td data-label="Mã"><a href="/(?:tasks|inbox)/'
    r'([A-Za-z0-9-]+)">'
)
TOTAL = re.compile(r"<strong>([\d.]+)</strong> nhiệm vụ")
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


# ------------------------------------------------------------------------------------------------
# The database: a fresh one, or one kept between runs (loaded the first time)


def backend_of(url: str) -> str:
    """``sqlite`` or ``postgres``, from a database URL."""
    name = make_url(url).get_backend_name()
    if name == "postgresql":
        return "postgres"
    if name == "sqlite":
        return "sqlite"
    raise SystemExit(f"{url}: only SQLite and PostgreSQL URLs are supported")


def ensure_database(url: str) -> None:
    """Create the database of ``url`` if it does not exist (PostgreSQL), then migrate it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        name = parsed.database
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                exists = conn.scalar(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                )
                if not exists:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
    br._migrate(url)


def task_count(url: str) -> int:
    """How many tasks the database at ``url`` holds (0 if it has no tables yet)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(Task)) or 0)
    except OperationalError:
        return 0
    finally:
        engine.dispose()


def fill(url: str, backend: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Load ``args.tasks`` tasks with their history, as ``bench.register`` does."""
    print(f"[{backend}] loading {args.tasks:,} tasks (bench.register.load) …", flush=True)
    rt = br.runtime_on(url, br.END, work / "load-var", hour=17)
    try:
        ld = br.load(
            rt,
            n_tasks=args.tasks,
            seed=args.seed,
            batch=500,
            mode=args.history,
            sample=args.sample,
            budget=args.budget,
        )
        if backend == "postgres":
            with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))  # what autovacuum does after a load
    finally:
        rt.close()
    return {
        "seconds": {k: round(v, 1) for k, v in ld.seconds.items()},
        "history_path": ld.history.get("path"),
        "verified": ld.verified,
        "notes": br.notes(),
    }


@contextmanager
def database_for(
    backend: str, args: argparse.Namespace, work: Path
) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """(URL, what the load did or None if reused): ``--keep-db`` for this backend, else fresh."""
    kept = [u for u in args.keep_db if backend_of(u) == backend]
    if kept:
        url = kept[0]
        ensure_database(url)
        found = task_count(url)
        loaded = None
        if found == 0:
            loaded = fill(url, backend, args, work)
        else:
            print(f"[{backend}] reusing {safe(url)} ({found:,} tasks)", flush=True)
            if found != args.tasks:
                print(f"  note: it holds {found:,} tasks, not --tasks {args.tasks:,}")
        yield url, loaded
        print(f"  kept {safe(url)}")
        return
    print(f"[{backend}] creating a fresh database …", flush=True)
    with br.fresh_database(backend, pg_admin_url=args.pg_url, keep=False) as url:
        yield url, fill(url, backend, args, work)


def safe(url: str) -> str:
    """A URL without its password."""
    return make_url(url).render_as_string(hide_password=True)


# ------------------------------------------------------------------------------------------------
# The users and the pages they open, with what each page must show


def busiest_agency(url: str) -> str:
    """The agency that leads the most tasks."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                select(Agency.code)
                .join(Task, Task.lead_agency_id == Agency.id)
                .group_by(Agency.code)
                .order_by(func.count().desc(), Agency.code)
                .limit(1)
            ).one()
    finally:
        engine.dispose()
    return str(row[0])


def clerk_username(agency: str) -> str:
    """The bench's clerk of ``agency``."""
    return f"bench.{agency.lower()}"


def ensure_users(rt: Runtime, agency: str) -> None:
    """The office user and the agency's clerk, with ``PASSWORD`` (argon2, as the app hashes it)."""
    wanted = [
        (OFFICE_USER, "Chuyên viên Văn phòng (bench)", Role.SECRETARIAT, None),
        (clerk_username(agency), f"Văn thư {agency} (bench)", Role.AGENCY, agency),
    ]
    with rt.unit_of_work() as s:
        for username, display, role, code in wanted:
            try:
                user = users.get_user(s, username)
            except NotFound:
                users.create_user(
                    s,
                    username=username,
                    display_name=display,
                    role=role,
                    clock=rt.clock,
                    password=PASSWORD,
                    agency=code,
                )
                continue
            if role is Role.AGENCY and (user.agency is None or user.agency.code != code):
                raise SystemExit(f"{username} exists for another agency; drop it or use a new db")
            user.active = True
            users.set_password(s, username, PASSWORD)


@dataclass
class Expected:
    """What a page must list: the total, and the codes and grid values of its rows, in order."""

    total: int
    rows: list[tuple[str, str]]  # (code, grid value)


@dataclass
class PageCase:
    """One page the bench fetches: who asks, the path, and what it must show."""

    name: str
    who: str  # "office" or "clerk"
    path: str
    expected: Expected


def expected_page(
    rt: Runtime, as_of: date, agency: str, status: str, page: int, page_size: int
) -> Expected:
    """The page as ``queries.list_tasks`` computes it in this process."""
    with rt.unit_of_work() as s:
        result = queries.list_tasks(
            s,
            as_of=as_of,
            agency=agency,
            statuses=[] if status == "all" else [status],
            page=page,
            page_size=page_size,
        )
    return Expected(result.total, [(x.code, x.standing.grid.value) for x in result.lines])


def cases(rt: Runtime, as_of: date, agency: str) -> list[PageCase]:
    """The office's register filtered by ``agency`` (first, second and last page, overdue only),
    the clerk's inbox and the clerk's own register."""

    def register(params: dict[str, str]) -> str:
        return "/tasks?" + urlencode(params)

    def exp(status: str, page: int = 1, size: int = REGISTER_PAGE_SIZE) -> Expected:
        return expected_page(rt, as_of, agency, status, page, size)

    first = exp("open")
    last = max(1, -(-first.total // REGISTER_PAGE_SIZE))
    out = [
        PageCase(
            f"office: register, agency={agency}, open, page 1",
            "office",
            register({"status": "open", "agency": agency}),
            first,
        ),
        PageCase(
            f"office: register, agency={agency}, overdue, page 1",
            "office",
            register({"status": "overdue", "agency": agency}),
            exp("overdue"),
        ),
    ]
    if last >= 2:
        out.append(
            PageCase(
                f"office: register, agency={agency}, open, page 2",
                "office",
                register({"status": "open", "agency": agency, "page": "2"}),
                exp("open", 2),
            )
        )
    if last >= 3:
        out.append(
            PageCase(
                f"office: register, agency={agency}, open, page {last} (last)",
                "office",
                register({"status": "open", "agency": agency, "page": str(last)}),
                exp("open", last),
            )
        )
    out += [
        PageCase(f"clerk {agency}: inbox", "clerk", "/inbox", exp("open", 1, INBOX_PAGE_SIZE)),
        PageCase(f"clerk {agency}: register, open, page 1", "clerk", "/tasks", first),
    ]
    return out


def check(body: str, expected: Expected) -> str | None:
    """None if the page lists exactly the expected rows and total, else what differs."""
    totals = TOTAL.findall(body)
    if not totals:
        return "no total on the page"
    total = int(totals[0].replace(".", ""))
    if total != expected.total:
        return f"total {total} != {expected.total}"
    rows = [(code, grid) for grid, code in ROW.findall(body)]
    if rows != expected.rows:
        return f"{len(rows)} rows {rows[:2]}… != {len(expected.rows)} rows {expected.rows[:2]}…"
    return None


# ------------------------------------------------------------------------------------------------
# The server: the real ``directives serve`` in its own process


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clock_of(as_of: date) -> datetime:
    """09:00 in Hanoi on ``as_of``: the instant the server's clock is stopped at."""
    return datetime(as_of.year, as_of.month, as_of.day, 9, tzinfo=VN)


@dataclass
class Server:
    """A running ``directives serve``."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path
    argv: list[str]

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (all its threads)."""
        return process_cpu(self.process.pid) or 0.0


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far, or None if it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DatabaseCpu:
    """CPU of the PostgreSQL backends serving the bench database (a local server only)."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.database = parsed.database
        local = parsed.host in (None, "", "127.0.0.1", "localhost", "::1")
        self.engine = (
            create_engine(url) if parsed.get_backend_name() == "postgresql" and local else None
        )

    def snapshot(self) -> dict[int, float] | None:
        """CPU seconds by backend pid, without this monitor's own connection."""
        if self.engine is None:
            return None
        with self.engine.connect() as conn:
            pids = conn.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": self.database},
            ).all()
        found = {pid: process_cpu(pid) for pid in pids}
        readable = {pid: cpu for pid, cpu in found.items() if cpu is not None}
        return readable if readable or not found else None

    @staticmethod
    def spent(before: dict[int, float] | None, after: dict[int, float] | None) -> float | None:
        """CPU seconds spent between two snapshots (backends started since count from zero)."""
        if before is None or after is None:
            return None
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())

    def close(self) -> None:
        """Release the monitor's connection."""
        if self.engine is not None:
            self.engine.dispose()


@contextmanager
def serve(url: str, as_of: date, work: Path) -> Iterator[Server]:
    """``directives serve --no-scheduler --no-sample`` on a free loopback port, clock fixed."""
    exe = Path(sys.executable).with_name("directives")
    port = free_port()
    argv = [
        str(exe),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-scheduler",  # no background jobs competing with the requests measured
        "--no-sample",
    ]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DIRECTIVES_")},
        "DIRECTIVES_DATABASE_URL": url,
        "DIRECTIVES_VAR_DIR": str(work / "var"),
        "DIRECTIVES_NOW": clock_of(as_of).isoformat(),
        "DIRECTIVES_SECRET_KEY": secrets.token_urlsafe(48),
    }
    log = work / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, env=env, cwd=work, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, f"http://127.0.0.1:{port}", log, argv)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"directives serve exited {process.returncode}: {tail(log)}")
            try:
                if httpx.get(server.base_url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"directives serve did not answer /healthz: {tail(log)}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tail(path: Path, n: int = 2000) -> str:
    """The end of a log file."""
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"


def signed_in(base_url: str, username: str) -> httpx.Client:
    """A client with a session cookie, signed in through the login form (CSRF token and all)."""
    client = httpx.Client(base_url=base_url, timeout=60, follow_redirects=False)
    form = client.get("/login")
    token = CSRF.search(form.text)
    if form.status_code != 200 or token is None:
        raise RuntimeError(f"GET /login answered {form.status_code} without a CSRF token")
    r = client.post(
        "/login",
        data={
            "csrf_token": token.group(1),
            "username": username,
            "password": PASSWORD,
            "next": "/",
        },
    )
    if r.status_code != 303:
        raise RuntimeError(f"signing in as {username} answered {r.status_code}")
    return client


# ------------------------------------------------------------------------------------------------
# Measuring


def quantile(samples: Sequence[float], q: float) -> float:
    """The interpolated ``q`` quantile (0.5 median, 0.95 p95)."""
    s = sorted(samples)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def measure_page(
    client: httpx.Client,
    case: PageCase,
    *,
    requests: int,
    warmup: int,
    server: Server,
    db_cpu: DatabaseCpu,
) -> dict[str, Any]:
    """``warmup`` untimed GETs, then ``requests`` timed ones, one after the other."""
    for _ in range(warmup):
        client.get(case.path)
    samples: list[float] = []
    statuses: Counter[int] = Counter()
    sizes: set[int] = set()
    failures: list[str] = []
    cpu0 = server.cpu_seconds()
    db0 = db_cpu.snapshot()
    for _ in range(requests):
        t0 = time.perf_counter()
        r = client.get(case.path)
        samples.append((time.perf_counter() - t0) * 1000)
        statuses[r.status_code] += 1
        sizes.add(len(r.content))
        problem = (
            check(r.text, case.expected) if r.status_code == 200 else f"status {r.status_code}"
        )
        if problem and len(failures) < 5:
            failures.append(problem)
    cpu = server.cpu_seconds() - cpu0
    db = DatabaseCpu.spent(db0, db_cpu.snapshot())
    p95 = quantile(samples, 0.95)
    return {
        "path": case.path,
        "who": case.who,
        "requests": requests,
        "median_ms": round(quantile(samples, 0.5), 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(max(samples), 2),
        "server_cpu_ms_per_request": round(cpu * 1000 / requests, 2),
        "db_cpu_ms_per_request": None if db is None else round(db * 1000 / requests, 2),
        "bytes": sorted(sizes),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "rows": len(case.expected.rows),
        "total": case.expected.total,
        "checked": not failures,
        "failures": failures,
        "meets_aim": p95 < AIM_P95_MS and not failures,
        "samples_ms": [round(x, 2) for x in samples],
    }


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def machine(url: str) -> dict[str, Any]:
    """Where the figures were taken (``bench.register.machine`` plus the web libraries)."""
    info = br.machine(url)
    for lib in ("fastapi", "starlette", "uvicorn", "jinja2", "httpx", "argon2-cffi"):
        with suppress(metadata.PackageNotFoundError):
            info[lib] = metadata.version(lib)
    info["sqlite"] = sqlite3.sqlite_version
    return info


# ------------------------------------------------------------------------------------------------
# Profiling, in-process: where one request's time goes (SQL statements, templates, the rest)


def profile_pages(
    url: str, as_of: date, page_cases: Sequence[PageCase], agency: str, folder: Path, runs: int
) -> dict[str, Any]:
    """Each page ``runs`` times through the ASGI app in this process, under cProfile.

    FastAPI runs sync routes and dependencies in worker threads, which cProfile does not follow;
    here they run inline on the event loop's thread instead, so the profile holds all the work.
    """
    import anyio.to_thread

    from directives.db.engine import make_engine, make_session_factory
    from directives.settings import Settings
    from directives.web import create_app

    async def inline(func: Callable[..., Any], *args: Any, **_: Any) -> Any:
        return func(*args)

    engine = make_engine(url)
    settings = Settings(
        database_url=url, var_dir=folder / "var", secret_key=secrets.token_urlsafe(48)
    )
    rt = Runtime(settings, engine, make_session_factory(engine), FixedClock(clock_of(as_of)))
    folder.mkdir(parents=True, exist_ok=True)
    app = create_app(rt)
    loop = asyncio.new_event_loop()
    threaded = anyio.to_thread.run_sync
    anyio.to_thread.run_sync = inline  # type: ignore[assignment]
    out: dict[str, Any] = {}
    clients: dict[str, httpx.AsyncClient] = {}
    try:
        for who, username in (("office", OFFICE_USER), ("clerk", clerk_username(agency))):
            c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
            form = loop.run_until_complete(c.get("/login"))
            token = CSRF.search(form.text)
            assert token is not None
            data = {"csrf_token": token.group(1), "username": username, "password": PASSWORD}
            assert loop.run_until_complete(c.post("/login", data=data)).status_code == 303
            clients[who] = c
        for case in page_cases:

            def fetch(path: str = case.path, c: httpx.AsyncClient = clients[case.who]) -> Any:
                return loop.run_until_complete(c.get(path))

            out[case.name] = profile_one(engine, fetch, case, folder, runs)
    finally:
        anyio.to_thread.run_sync = threaded
        for c in clients.values():
            loop.run_until_complete(c.aclose())
        loop.close()
        engine.dispose()
    return out


def profile_one(
    engine: Engine, fetch: Callable[[], Any], case: PageCase, folder: Path, runs: int
) -> dict[str, Any]:
    """Time ``runs`` fetches with every SQL statement timed; cProfile; plans of the slowest."""
    fetch()  # warm
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    with br.timed_statements(engine) as statements:
        prof.enable()
        for _ in range(runs):
            r = fetch()
            assert r.status_code == 200, r.status_code
        prof.disable()
    total = (time.perf_counter() - t0) / runs
    sql = sum(d for d, _, _ in statements) / runs
    by_text: dict[str, list[float]] = {}
    for d, stmt, _ in statements:
        by_text.setdefault(stmt, []).append(d)
    slowest = sorted(statements, key=lambda x: -x[0])[:3]
    report = io.StringIO()
    report.write(f"## {case.name}\nGET {case.path}\n")
    report.write(
        f"per request, under cProfile: {total * 1000:.1f} ms; {len(statements) / runs:.0f} "
        f"statements, SQL {sql * 1000:.1f} ms; the rest (Python) {(total - sql) * 1000:.1f} ms\n\n"
    )
    report.write("statements, by total time:\n")
    for stmt, ds in sorted(by_text.items(), key=lambda kv: -sum(kv[1])):
        first = " ".join(stmt.split())[:140]
        report.write(f"  {sum(ds) / runs * 1000:8.2f} ms/request  x{len(ds) / runs:.0f}  {first}\n")
    report.write("\n")
    for d, stmt, params in slowest:
        report.write(f"-- {d * 1000:.1f} ms\n{stmt}\n-- params: {params!r}\n")
        report.write(br.explain(engine, stmt, params) + "\n\n")
    stats = pstats.Stats(prof, stream=report)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    path = folder / f"{br._slug(case.name)}.txt"
    path.write_text(report.getvalue(), encoding="utf-8")
    return {
        "file": str(path),
        "ms_per_request_profiled": round(total * 1000, 1),
        "sql_ms_per_request": round(sql * 1000, 1),
        "statements_per_request": round(len(statements) / runs, 1),
    }


# ------------------------------------------------------------------------------------------------
# One backend, the report, the command line


def run_backend(backend: str, args: argparse.Namespace, command: str) -> dict[str, Any]:
    """Load (or reuse), start the server, sign in, fetch every page; the figures."""
    with (
        tempfile.TemporaryDirectory(prefix="directives_webbench_") as tmp,
        database_for(backend, args, Path(tmp)) as (url, loaded),
    ):
        work = Path(tmp)
        agency = (args.agency or busiest_agency(url)).upper()
        rt = br.runtime_on(url, args.as_of, work / "var")
        try:
            ensure_users(rt, agency)
            page_cases = cases(rt, args.as_of, agency)
            with rt.unit_of_work() as s:
                tasks = s.scalar(select(func.count()).select_from(Task)) or 0
                accounts = s.scalar(select(func.count()).select_from(User)) or 0
        finally:
            rt.close()
        print(
            f"[{backend}] {tasks:,} tasks; agency {agency}; as of {args.as_of:%d/%m/%Y}; "
            f"{args.requests} requests per page after {args.warmup} warm-up",
            flush=True,
        )
        load_before = loadavg()
        measurements: dict[str, Any] = {}
        with serve(url, args.as_of, work) as server:
            logins = {
                "office": signed_in(server.base_url, OFFICE_USER),
                "clerk": signed_in(server.base_url, clerk_username(agency)),
            }
            db_cpu = DatabaseCpu(url)
            try:
                for case in page_cases:
                    measurements[case.name] = measure_page(
                        logins[case.who],
                        case,
                        requests=args.requests,
                        warmup=args.warmup,
                        server=server,
                        db_cpu=db_cpu,
                    )
                    m = measurements[case.name]
                    print(f"  {case.name}: median {m['median_ms']:.1f}, p95 {m['p95_ms']:.1f} ms")
            finally:
                db_cpu.close()
                for client in logins.values():
                    client.close()
            argv = [Path(server.argv[0]).name, *server.argv[1:]]
        load_after = loadavg()
        profiles = None
        if args.profile:
            print(f"[{backend}] profiling each page in-process …", flush=True)
            profiles = profile_pages(
                url,
                args.as_of,
                page_cases,
                agency,
                RESULTS / f"web_register-{backend}-profile",
                args.profile_runs,
            )
        return {
            "backend": backend,
            "command": command,
            "taken_at": datetime.now(VN).isoformat(timespec="seconds"),
            "machine": machine(url),
            "loadavg_before": load_before,
            "loadavg_after": load_after,
            "database": safe(url),
            "tasks": tasks,
            "user_accounts": accounts,
            "load": loaded,
            "server": {
                "argv": argv,
                "clock": clock_of(args.as_of).isoformat(),
                "client": "httpx.Client, keep-alive, one request at a time",
            },
            "agency": agency,
            "as_of": args.as_of.isoformat(),
            "aim_p95_ms": AIM_P95_MS,
            "pages": measurements,
            "profile": profiles,
        }


def table(result: dict[str, Any]) -> str:
    """The figures of one backend as plain text."""
    rows = [
        [
            "page",
            "GET",
            "n",
            "median",
            "p95",
            "max",
            "app cpu",
            "db cpu",
            "bytes",
            "status",
            "rows",
            "aim",
        ]
    ]
    for name, m in result["pages"].items():
        sizes = m["bytes"]
        rows.append(
            [
                name,
                m["path"],
                str(m["requests"]),
                f"{m['median_ms']:.1f}",
                f"{m['p95_ms']:.1f}",
                f"{m['max_ms']:.1f}",
                f"{m['server_cpu_ms_per_request']:.1f}",
                "—" if m["db_cpu_ms_per_request"] is None else f"{m['db_cpu_ms_per_request']:.1f}",
                f"{sizes[0]:,}" if len(sizes) == 1 else f"{sizes[0]:,}–{sizes[-1]:,}",
                " ".join(f"{k}×{v}" for k, v in m["statuses"].items()),
                f"{m['rows']}/{m['total']:,}" + ("" if m["checked"] else " BAD"),
                "ok" if m["meets_aim"] else "MISSED",
            ]
        )
    return br.table(rows)


def print_report(result: dict[str, Any]) -> None:
    """One backend's table and its context."""
    mach = result["machine"]
    db = f"PostgreSQL {mach['postgres']}" if "postgres" in mach else f"SQLite {mach['sqlite']}"
    print(
        f"\n=== {result['backend']}: {result['tasks']:,} tasks, {db}, Python {mach['python']}, "
        f"{mach['nproc']} CPUs; load average {result['loadavg_before']} → "
        f"{result['loadavg_after']} ==="
    )
    print(f"server: {' '.join(result['server']['argv'])} (clock {result['server']['clock']})")
    print(
        "times in ms: wall time at the client; app cpu: CPU of the server process per request "
        "(SQLite's work included), db cpu: CPU of the PostgreSQL backends per request"
    )
    print(table(result))
    for name, m in result["pages"].items():
        for failure in m["failures"]:
            print(f"  {name}: {failure}")
    if result["profile"]:
        for name, p in result["profile"].items():
            print(
                f"  profile {name}: {p['ms_per_request_profiled']} ms/request under cProfile, "
                f"SQL {p['sql_ms_per_request']} ms in {p['statements_per_request']} statements "
                f"→ {p['file']}"
            )


def write_results(results: Sequence[dict[str, Any]], path: Path) -> Path:
    """Merge into ``path`` (bench/results/web_register.json): per backend, the latest run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    merged: dict[str, Any] = {}
    if path.exists():
        try:
            merged = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            merged = {}
    backends = merged.setdefault("backends", {})
    for r in results:
        backends[r["backend"]] = r
    merged["aim"] = f"p95 under {AIM_P95_MS:.0f} ms for the register filtered by agency"
    path.write_text(
        json.dumps(merged, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    return path


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m bench.web_register", description=__doc__)
    p.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--tasks", type=int, default=100_000, help="tasks to load (default 100000)")
    p.add_argument("--requests", type=int, default=200, help="timed GETs per page (default 200)")
    p.add_argument("--warmup", type=int, default=10, help="untimed GETs per page first")
    p.add_argument(
        "--keep-db",
        "--url",
        dest="keep_db",
        metavar="URL",
        action="append",
        default=[],
        help="use this database and keep it: loaded first if it has no tasks, reused as it is "
        "otherwise (once per backend, e.g. sqlite:////tmp/web.sqlite3 and "
        "postgresql+psycopg://postgres@127.0.0.1:5432/directives_web)",
    )
    p.add_argument("--as-of", type=date.fromisoformat, default=date(br.YEAR, 11, 26))
    p.add_argument("--agency", help="the agency filtered on (default: the busiest lead agency)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--history", choices=("auto", "services", "bulk"), default="auto")
    p.add_argument("--sample", type=int, default=3000, help="tasks given a history via services")
    p.add_argument("--budget", type=float, default=300.0, help="seconds allowed for services")
    p.add_argument(
        "--profile",
        action="store_true",
        help="also profile each page in-process (bench/results/web_register-<backend>-profile/)",
    )
    p.add_argument("--profile-runs", type=int, default=20)
    p.add_argument(
        "--output",
        type=Path,
        default=RESULT_FILE,
        help="JSON file the results are merged into (default bench/results/web_register.json)",
    )
    p.add_argument(
        "--pg-url",
        default=os.environ.get("DIRECTIVES_BENCH_PG_URL", br.PG_ADMIN_URL),
        help="admin URL used to create and drop a fresh PostgreSQL database",
    )
    args = p.parse_args(argv)
    if args.requests < 1 or args.warmup < 0:
        p.error("--requests must be at least 1 and --warmup at least 0")
    for url in args.keep_db:
        backend_of(url)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw)
    command = shlex.join([".venv/bin/python", "-m", "bench.web_register", *raw])
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    results = []
    for backend in backends:
        result = run_backend(backend, args, command)
        print_report(result)
        results.append(result)
    print(f"\nwritten {write_results(results, args.output)}")
    bad = [
        f"{r['backend']}: {name}"
        for r in results
        for name, m in r["pages"].items()
        if not m["checked"] or set(m["statuses"]) != {"200"}
    ]
    if bad:
        print("pages that did not show what they must: " + "; ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
