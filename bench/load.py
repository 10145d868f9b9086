"""Load: simulated users on the web desk while the chase runs, on PostgreSQL (issue 8, part 4).

    .venv/bin/python -m bench.load --users 200 --seconds 300 --scale national \
        [--json out.json] [--keep-db URL]

The register comes from ``bench.national`` (2,500 agencies, 40 leaders; ``--scale province`` is
50,000 tasks, ``national`` 1,000,000; ``--tasks`` overrides). ``--keep-db URL`` loads that
database once and keeps it: each run works on a copy (``CREATE DATABASE … TEMPLATE``), so every
attempt starts from the same state; without it a fresh database is loaded and dropped.

The real ``directives serve`` (``bench.web_register.serve``: uvicorn on loopback, no embedded
scheduler, its clock stopped at 09:00 on the day) answers the users of ``bench._load_users``:
three quarters agency clerks, a fifth office staff, the rest leaders, signing in through the
form and posting the real forms with their CSRF token. While they work, the jobs run as their
own processes, as a cron or the scheduler would start them: at a tenth of the run two
``directives run chase --as-of D`` at once (two schedulers), then ``run escalate`` and ``run
dispatch`` to a local SMTP sink (``bench.dispatch.Sink``); at 55 % the three again, which must
find nothing new. Afterwards the notices and the outbox are checked (``bench._load_check``).

Output: per page the requests, p50/p95/max in ms (also the p95 of the requests made while a job
ran), the errors (every status outside 2xx/3xx and every exception, with the tracebacks of the
server's log counted by what was raised), the requests per 30 s, the jobs, the check, and the
CPU of the server, PostgreSQL, the jobs, the users and the machine. With ``--json``, the
server's log is copied beside it (``….serve.log``). Exit status 1 on any error or failed check.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bench import _load_check, national
from bench import register as br
from bench import web_register as wr
from bench._load_users import Outcome, UserSpec, WorkerSpec, run_worker
from bench.dispatch import Sink
from directives.clock import VN
from directives.db.tables import Agency, Leader, Task, User
from directives.services import users
from directives.workflow import Role

PG_ADMIN = os.environ.get("DIRECTIVES_BENCH_PG_URL", national.PG_ADMIN)
CLERK_SHARE, LEADER_SHARE = 0.75, 0.05
JOB_ROUNDS = ((0.10, 2), (0.55, 1))  # (share of the run, chase processes at once)


@dataclass
class Config:
    """One load run."""

    users: int = 200
    seconds: float = 300.0
    scale: str = "national"
    tasks: int | None = None  # overrides the scale
    keep_db: str | None = None
    pg_admin: str = PG_ADMIN
    workers: int = 1  # one process of 200 users takes a few % of a core (measured)
    think: float = 10.0
    timeout: float = 120.0
    seed: int = 2026
    as_of: date = national.AS_OF
    sink_delay: float = 0.002
    command: str = ""
    server_log: Path | None = None  # where to copy the server's log

    @property
    def n_tasks(self) -> int:
        """Tasks in the register."""
        return self.tasks if self.tasks is not None else national.SCALES[self.scale]


@dataclass
class Plan:
    """Who signs in, and what the office filters by and searches for."""

    clerks: list[tuple[str, str]] = field(default_factory=list)  # (username, agency)
    office: list[str] = field(default_factory=list)
    leaders: list[tuple[str, str]] = field(default_factory=list)  # (username, leader)
    agencies: list[str] = field(default_factory=list)
    leader_codes: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)

    def specs(self) -> list[UserSpec]:
        """The users, clerks, office and leaders interleaved so that each worker gets a mix."""
        office = [
            UserSpec(name, "office", i, share=i, shares=len(self.office))
            for i, name in enumerate(self.office)
        ]
        clerks = [UserSpec(name, "clerk", 0) for name, _ in self.clerks]
        leaders = [UserSpec(name, "leader", 0) for name, _ in self.leaders]
        rng = random.Random(7)
        mixed = office + clerks + leaders
        rng.shuffle(mixed)
        return [
            UserSpec(u.username, u.role, 1000 + i, u.share, u.shares, relogin=i % 10 == 0)
            for i, u in enumerate(mixed)
        ]


# ------------------------------------------------------------------------------------------------
# The database: loaded once (kept) or fresh; the run works on a copy of a kept one


def _admin(url: str) -> Any:
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def drop_database(url: str) -> None:
    """Drop the PostgreSQL database of ``url``."""
    admin = _admin(url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def copy_database(source: str) -> tuple[str, float]:
    """A copy of ``source`` made by PostgreSQL from it as a template; (URL, seconds)."""
    name = f"directives_load_{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    admin = _admin(source)
    try:
        with admin.connect() as conn:
            version = int(conn.scalar(text("SHOW server_version_num")) or 0)
            strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""  # one file copy
            conn.execute(
                text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(source).database}"{strategy}')
            )
    finally:
        admin.dispose()
    url = make_url(source).set(database=name).render_as_string(hide_password=False)
    return url, time.perf_counter() - started


def fill(url: str, cfg: Config) -> dict[str, Any]:
    """Load the register with ``bench.national``."""
    print(f"loading {cfg.n_tasks:,} tasks into {wr.safe(url)} (bench.national) …", flush=True)
    figures = national.build(url, cfg.n_tasks, cfg.seed)
    print(f"  loaded in {figures['fill_seconds']} s", flush=True)
    return figures


@contextmanager
def work_database(cfg: Config) -> Iterator[tuple[str, Plan, dict[str, Any]]]:
    """(URL the run works on, the users' plan, what was done to get there)."""
    info: dict[str, Any] = {}
    if cfg.keep_db:
        source = cfg.keep_db
        wr.ensure_database(source)
        found = wr.task_count(source)
        if found == 0:
            info["fill"] = fill(source, cfg)
        else:
            print(f"reusing {wr.safe(source)} ({found:,} tasks)", flush=True)
        plan = ensure_accounts(source, cfg)
        url, seconds = copy_database(source)
        info.update(source=wr.safe(source), copy_seconds=round(seconds, 1))
        print(f"working on a copy, {wr.safe(url)}, made in {seconds:.1f} s", flush=True)
    else:
        url = (
            make_url(cfg.pg_admin)
            .set(database=f"directives_load_{uuid.uuid4().hex[:8]}")
            .render_as_string(hide_password=False)
        )
        wr.ensure_database(url)
        try:
            info["fill"] = fill(url, cfg)
            plan = ensure_accounts(url, cfg)
        except BaseException:
            drop_database(url)
            raise
    try:
        yield url, plan, info
    finally:
        drop_database(url)


# ------------------------------------------------------------------------------------------------
# The accounts


def split(n: int) -> tuple[int, int, int]:
    """(clerks, office, leaders) for ``n`` users."""
    leaders = max(1, round(n * LEADER_SHARE)) if n >= 3 else 0
    clerks = max(1, round(n * CLERK_SHARE))
    return clerks, max(1, n - clerks - leaders), leaders


def ensure_accounts(url: str, cfg: Config) -> Plan:
    """Choose the users (clerks of agencies with open tasks) and create the missing accounts,
    all with ``bench.web_register.PASSWORD`` (one argon2 hash, as the demo accounts share one)."""
    n_clerks, n_office, n_leaders = split(cfg.users)
    rng = random.Random(cfg.seed)
    rt = br.runtime_on(url, cfg.as_of, Path(tempfile.gettempdir()) / "directives_load_var")
    try:
        with rt.unit_of_work() as s:
            open_by_agency = s.execute(
                select(Agency.code, func.count())
                .join(Task, Task.lead_agency_id == Agency.id)
                .where(Task.state.not_in(("confirmed", "cancelled")))
                .group_by(Agency.code)
                .order_by(func.count().desc(), Agency.code)
            ).all()
            all_agencies = sorted(s.scalars(select(Agency.code)))
            leader_codes = sorted(s.scalars(select(Leader.code)))
            pool = [code for code, _ in open_by_agency[: max(3 * n_clerks, n_clerks)]]
            chosen = sorted(rng.sample(pool, min(n_clerks, len(pool))))
            plan = Plan(
                clerks=[(f"load.{code.lower()}", code) for code in chosen],
                office=[f"load.vp{i:03d}" for i in range(1, n_office + 1)],
                leaders=[(f"load.{c.lower()}", c) for c in leader_codes[:n_leaders]],
                agencies=all_agencies,
                leader_codes=leader_codes,
                words=search_words(rng),
            )
            taken = set(s.scalars(select(User.username)))
            shared: str | None = None
            wanted = (
                [(name, Role.AGENCY, code, None) for name, code in plan.clerks]
                + [(name, Role.SECRETARIAT, None, None) for name in plan.office]
                + [(name, Role.LEADER, None, code) for name, code in plan.leaders]
            )
            for name, role, agency, leader in wanted:
                if name in taken:
                    continue
                shared = shared or users.hash_password(wr.PASSWORD)
                users.create_user(
                    s,
                    username=name,
                    display_name=f"{name} (load)",
                    role=role,
                    clock=rt.clock,
                    password_hash=shared,
                    agency=agency,
                    leader=leader,
                )
    finally:
        rt.close()
    return plan


def search_words(rng: random.Random) -> list[str]:
    """Two or three consecutive words of the register's task contents (``bench.national``)."""
    words = []
    for phrase in national.OBJECTS:
        parts = phrase.split()
        for _ in range(3):
            n = rng.choice((2, 3))
            i = rng.randrange(max(1, len(parts) - n))
            words.append(" ".join(parts[i : i + n]))
    return words


# ------------------------------------------------------------------------------------------------
# The jobs, each in its own process, as a cron or the scheduler starts them


def job_env(url: str, as_of: date, work: Path, smtp_port: int) -> dict[str, str]:
    """The environment of ``directives run``: the database, the day's clock, the SMTP sink."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DIRECTIVES_")},
        "DIRECTIVES_DATABASE_URL": url,
        "DIRECTIVES_VAR_DIR": str(work / "jobs-var"),
        "DIRECTIVES_NOW": wr.clock_of(as_of).isoformat(),
        "DIRECTIVES_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "DIRECTIVES_SECRET_KEY": secrets.token_urlsafe(48),
    }


def run_job(job: str, as_of: date, env: dict[str, str], t0: float, round_: int) -> dict[str, Any]:
    """``directives run JOB --as-of D``; its summary, seconds and CPU (``wait4``)."""
    exe = Path(sys.executable).with_name("directives")
    argv = [str(exe), "run", job, "--as-of", as_of.isoformat()]
    started = time.time()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    ended = time.time()
    record: dict[str, Any] = {
        "job": job,
        "round": round_,
        "argv": ["directives", *argv[1:]],
        "started_s": round(started - t0, 1),
        "ended_s": round(ended - t0, 1),
        "seconds": round(ended - started, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "rc": proc.returncode,
    }
    try:
        record["summary"] = json.loads(stdout[stdout.find("{") :])
    except ValueError:
        record.update(stdout=stdout[-2000:], stderr=stderr[-2000:])
    if proc.returncode != 0:
        record["stderr"] = stderr[-2000:]
    return record


def job_rounds(
    as_of: date, env: dict[str, str], t0: float, seconds: float, out: list[dict[str, Any]]
) -> None:
    """Each round: the chase (two processes at once in the first), then escalate, dispatch."""
    for number, (share, twins) in enumerate(JOB_ROUNDS, start=1):
        time.sleep(max(0.0, t0 + max(2.0, share * seconds) - time.time()))
        threads = [
            threading.Thread(
                target=lambda n=number: out.append(run_job("chase", as_of, env, t0, n))
            )
            for _ in range(twins)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for job in ("escalate", "dispatch"):
            out.append(run_job(job, as_of, env, t0, number))
        print(f"  jobs, round {number}: done at {time.time() - t0:.0f} s", flush=True)


# ------------------------------------------------------------------------------------------------
# The run


def log_summary(path: Path) -> dict[str, Any]:
    """The server's tracebacks, counted by their last line (what was raised, and its message)."""
    raised: Counter[str] = Counter()
    lines = path.read_text(errors="replace").splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("Traceback (most recent call last):"):
            continue
        for later in lines[i + 1 :]:
            if later and not later.startswith((" ", "Traceback", "During handling", "The above")):
                raised[later[:240]] += 1
                break
    chained = sum(raised.values())
    return {"tracebacks": chained, "raised": dict(raised.most_common(10))}


def postmaster(url: str) -> int | None:
    """The pid of the local PostgreSQL server of ``url`` (its data directory's postmaster.pid)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            folder = Path(str(conn.scalar(text("SHOW data_directory"))))
        return int((folder / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError, SQLAlchemyError):
        return None
    finally:
        engine.dispose()


def postgres_cpu(root: int | None) -> float | None:
    """CPU seconds of the PostgreSQL server so far: the postmaster with the backends it has
    reaped, and those alive (all its databases; None when it cannot be read)."""
    if root is None:
        return None
    tick = os.sysconf("SC_CLK_TCK")

    def times(pid: int) -> tuple[int, list[int]]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), [int(x) for x in fields[11:15]]

    try:
        total = sum(times(root)[1])  # its own time and that of the backends it has reaped
    except OSError:
        return None
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid, t = times(int(entry.name))
            except OSError:
                continue
            if ppid == root:
                total += t[0] + t[1]
    return total / tick


def cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine so far (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return float(sum(fields) - idle), float(sum(fields))


def worker_specs(cfg: Config, plan: Plan, base_url: str, start_at: float) -> list[WorkerSpec]:
    """The users dealt round-robin to the worker processes."""
    n = max(1, min(cfg.workers, cfg.users))
    specs = plan.specs()
    return [
        WorkerSpec(
            base_url=base_url,
            password=wr.PASSWORD,
            users=specs[i::n],
            start_at=start_at,
            ramp=min(30.0, cfg.seconds / 10),
            stop_at=start_at + cfg.seconds,
            think=cfg.think,
            timeout=cfg.timeout,
            agencies=plan.agencies,
            leaders=plan.leader_codes,
            words=plan.words,
        )
        for i in range(n)
    ]


def run(cfg: Config) -> dict[str, Any]:
    """Load (or copy), serve, run the users and the jobs, check; the result as plain data."""
    with (
        tempfile.TemporaryDirectory(prefix="directives_load_") as tmp,
        work_database(cfg) as (url, plan, db_info),
    ):
        work = Path(tmp)
        before = _load_check.snapshot(url, cfg.as_of)
        tasks = wr.task_count(url)
        print(
            f"{tasks:,} tasks; {len(before.due):,} notices due on {cfg.as_of:%d/%m/%Y}; "
            f"{len(plan.clerks)} clerks, {len(plan.office)} office, {len(plan.leaders)} leaders",
            flush=True,
        )
        sink = Sink(cfg.sink_delay, work)
        jobs: list[dict[str, Any]] = []
        outcomes: list[Outcome] = []
        try:
            with wr.serve(url, cfg.as_of, work) as server:
                start_at = time.time() + 5.0  # the worker processes import meanwhile
                specs = worker_specs(cfg, plan, server.base_url, start_at)
                cpu0, server_cpu0, load0 = cpu_busy(), server.cpu_seconds(), wr.loadavg()
                pg_root = postmaster(url)
                pg0 = postgres_cpu(pg_root)
                env = job_env(url, cfg.as_of, work, sink.port)
                job_thread = threading.Thread(
                    target=job_rounds, args=(cfg.as_of, env, start_at, cfg.seconds, jobs)
                )
                print(
                    f"{cfg.users} users in {len(specs)} worker process(es) for {cfg.seconds:.0f} s"
                    f" against {server.base_url} …",
                    flush=True,
                )
                context = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(len(specs), mp_context=context) as pool:
                    futures = [pool.submit(run_worker, spec) for spec in specs]
                    job_thread.start()
                    outcomes = [f.result() for f in futures]
                users_done = time.time()
                job_thread.join()
                jobs_done = time.time()
                cpu1, server_cpu1, load1 = cpu_busy(), server.cpu_seconds(), wr.loadavg()
                pg1 = postgres_cpu(pg_root)
                server_argv = [Path(server.argv[0]).name, *server.argv[1:]]
            server_log = log_summary(server.log)
            if cfg.server_log is not None:
                shutil.copyfile(server.log, cfg.server_log)
        finally:
            delivered = sink.stop()
        touched = set().union(*(o.touched for o in outcomes))
        check = _load_check.check(url, cfg.as_of, before, touched, delivered)
        return {
            "command": cfg.command,
            "taken_at": datetime.now(VN).isoformat(timespec="seconds"),
            "machine": wr.machine(url),
            "config": {
                "users": cfg.users,
                "seconds": cfg.seconds,
                "scale": cfg.scale,
                "tasks": tasks,
                "think_mean_s": cfg.think,
                "timeout_s": cfg.timeout,
                "as_of": cfg.as_of.isoformat(),
                "seed": cfg.seed,
                "mix": {
                    "clerks": len(plan.clerks),
                    "office": len(plan.office),
                    "leaders": len(plan.leaders),
                },
            },
            "database": db_info,
            "server": {
                "argv": server_argv,
                "clock": wr.clock_of(cfg.as_of).isoformat(),
                "log": server_log,
            },
            "pages": pages(outcomes, jobs, start_at),
            "errors": errors(outcomes),
            "timeline": timeline(outcomes, start_at),
            "actions": dict(sum((Counter(o.actions) for o in outcomes), Counter())),
            "jobs": jobs,
            "check": check,
            "timing": {
                "users_seconds": round(users_done - start_at, 1),
                "jobs_after_users_s": round(max(0.0, jobs_done - users_done), 1),
                "requests": sum(len(o.samples) for o in outcomes),
                "requests_per_s": round(
                    sum(len(o.samples) for o in outcomes) / max(1e-9, users_done - start_at), 1
                ),
            },
            "cpu": {
                "server_process_s": round(server_cpu1 - server_cpu0, 1),
                "workers": [
                    {
                        "users": len(s.users),
                        "cpu_s": round(o.cpu_seconds, 1),
                        "core_share": round(o.cpu_seconds / max(1e-9, o.wall_seconds), 2),
                    }
                    for s, o in zip(specs, outcomes, strict=True)
                ],
                "jobs_s": round(sum(j["cpu_seconds"] for j in jobs), 1),
                "postgres_s": None if pg0 is None or pg1 is None else round(pg1 - pg0, 1),
                "machine_busy_share": round((cpu1[0] - cpu0[0]) / max(1.0, cpu1[1] - cpu0[1]), 2),
                "loadavg_before": load0,
                "loadavg_after": load1,
            },
        }


# ------------------------------------------------------------------------------------------------
# The figures


def _busy(jobs: Sequence[dict[str, Any]], t0: float) -> list[tuple[float, float]]:
    """The intervals (time.time()) during which a job ran."""
    return [(t0 + j["started_s"], t0 + j["ended_s"]) for j in jobs]


def pages(outcomes: Sequence[Outcome], jobs: Sequence[dict[str, Any]], t0: float) -> dict[str, Any]:
    """Per page: requests, p50/p95/max ms, errors; and the p95 of those made while a job ran."""
    busy = _busy(jobs, t0)
    by_page: dict[str, list[tuple[float, float, int, str]]] = {}
    for o in outcomes:
        for page, started, took, status, error in o.samples:
            by_page.setdefault(page, []).append((started, took, status, error))
    out: dict[str, Any] = {}
    for page in sorted(by_page, key=lambda p: -len(by_page[p])):
        rows = by_page[page]
        ms = [r[1] for r in rows]
        during = [r[1] for r in rows if any(a <= r[0] <= b for a, b in busy)]
        out[page] = {
            "count": len(rows),
            "p50_ms": round(wr.quantile(ms, 0.5), 1),
            "p95_ms": round(wr.quantile(ms, 0.95), 1),
            "max_ms": round(max(ms), 1),
            "p95_during_jobs_ms": round(wr.quantile(during, 0.95), 1) if during else None,
            "during_jobs": len(during),
            "errors": sum(1 for r in rows if r[3]),
            "statuses": dict(Counter(str(r[2]) for r in rows)),
        }
    return out


def errors(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Every status outside 2xx/3xx and every exception: the total, by kind, the first few."""
    bad = sorted(
        (started, page, ms, status, error)
        for o in outcomes
        for page, started, ms, status, error in o.samples
        if error
    )
    kinds = Counter(
        error.split(":", 1)[0] if status == 0 else f"{status // 100}xx" for *_, status, error in bad
    )
    return {
        "total": len(bad),
        "by_kind": dict(kinds),
        "first": [
            f"{page}, after {ms / 1000:.1f} s: {error}" for _, page, ms, _, error in bad[:20]
        ],
    }


def timeline(outcomes: Sequence[Outcome], t0: float, step: float = 10.0) -> list[dict[str, Any]]:
    """Per ``step`` seconds of the run (by when a request started): requests, errors, p50, p95."""
    buckets: dict[int, list[tuple[float, bool]]] = {}
    for o in outcomes:
        for _, started, ms, _, error in o.samples:
            buckets.setdefault(int((started - t0) // step), []).append((ms, bool(error)))
    return [
        {
            "from_s": k * step,
            "requests": len(rows),
            "errors": sum(1 for _, e in rows if e),
            "p50_ms": round(wr.quantile([ms for ms, _ in rows], 0.5)),
            "p95_ms": round(wr.quantile([ms for ms, _ in rows], 0.95)),
        }
        for k, rows in sorted(buckets.items())
    ]


def report(result: dict[str, Any]) -> str:
    """The plain-text report."""
    cfg, mach, t = result["config"], result["machine"], result["timing"]
    lines = [
        f"=== load: {cfg['users']} users ({cfg['mix']['clerks']} clerks, {cfg['mix']['office']} "
        f"office, {cfg['mix']['leaders']} leaders), {cfg['seconds']:.0f} s, think "
        f"{cfg['think_mean_s']} s; {cfg['tasks']:,} tasks; PostgreSQL {mach.get('postgres')}, "
        f"{mach['nproc']} CPUs ===",
        f"server: {' '.join(result['server']['argv'])} (clock {result['server']['clock']})",
        f"{t['requests']:,} requests, {t['requests_per_s']} /s; times in ms at the client",
    ]
    rows = [["page", "count", "p50", "p95", "max", "p95 in jobs", "errors"]]
    for name, p in result["pages"].items():
        during = p["p95_during_jobs_ms"]
        rows.append(
            [
                name,
                f"{p['count']:,}",
                f"{p['p50_ms']:.0f}",
                f"{p['p95_ms']:.0f}",
                f"{p['max_ms']:.0f}",
                "—" if during is None else f"{during:.0f} ({p['during_jobs']})",
                str(p["errors"]),
            ]
        )
    lines.append(br.table(rows))
    lines.append(
        "per 30 s (requests/errors/p95 s): "
        + "  ".join(
            f"{b['from_s']:.0f}:{b['requests']}/{b['errors']}/{b['p95_ms'] / 1000:.0f}"
            for b in _coarse(result["timeline"])
        )
    )
    e = result["errors"]
    lines.append(f"errors: {e['total']} {e['by_kind'] or ''}".rstrip())
    lines += [f"  {x}" for x in e["first"]]
    log = result["server"]["log"]
    if log["tracebacks"]:
        lines.append(
            f"server log: {log['tracebacks']} tracebacks (a chained exception counts once per link)"
        )
        lines += [f"  {n} × {what}" for what, n in log["raised"].items()]
    lines.append("jobs (seconds from the users' start):")
    for j in result["jobs"]:
        s = j.get("summary", {})
        what = json.dumps(
            s.get("notices") if j["job"] != "dispatch" else s.get("statuses", s),
            ensure_ascii=False,
        )
        lines.append(
            f"  round {j['round']} {j['job']:<8} {j['started_s']:>6.1f} → {j['ended_s']:>6.1f} s"
            f"  cpu {j['cpu_seconds']:>5.1f} s  rc {j['rc']}  {what}"
            f"{'' if 'messages' not in s else '  messages ' + str(s['messages'])}"
        )
    lines.append(_load_check.describe(result["check"]))
    c = result["cpu"]
    workers = ", ".join(f"{w['users']} users {w['core_share']:.0%} of a core" for w in c["workers"])
    lines.append(
        f"cpu: server {c['server_process_s']} s, PostgreSQL {c['postgres_s']} s, jobs "
        f"{c['jobs_s']} s, workers: {workers}; "
        f"machine busy {c['machine_busy_share']:.0%}; load average {c['loadavg_before']} → "
        f"{c['loadavg_after']}; jobs ended {t['jobs_after_users_s']} s after the users"
    )
    return "\n".join(lines)


def _coarse(buckets: Sequence[dict[str, Any]], per: int = 3) -> list[dict[str, Any]]:
    """Three 10-second buckets as one (the p95 is the worst of the three)."""
    out = []
    for i in range(0, len(buckets), per):
        group = buckets[i : i + per]
        out.append(
            {
                "from_s": group[0]["from_s"],
                "requests": sum(b["requests"] for b in group),
                "errors": sum(b["errors"] for b in group),
                "p95_ms": max(b["p95_ms"] for b in group),
            }
        )
    return out


def ok(result: dict[str, Any]) -> bool:
    """No error, every job succeeded, nothing lost or doubled."""
    return (
        result["errors"]["total"] == 0
        and all(j["rc"] == 0 for j in result["jobs"])
        and bool(result["check"]["ok"])
    )


def parse_args(argv: Sequence[str]) -> tuple[Config, Path | None]:
    """The command line."""
    p = argparse.ArgumentParser(
        prog="python -m bench.load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--seconds", type=float, default=300.0)
    p.add_argument("--scale", choices=sorted(national.SCALES), default="national")
    p.add_argument("--tasks", type=int, help="overrides the scale's number of tasks")
    p.add_argument("--json", type=Path, help="write the result there")
    p.add_argument(
        "--keep-db",
        metavar="URL",
        help="a PostgreSQL database loaded once and kept; each run works on a copy of it",
    )
    p.add_argument("--pg-url", default=PG_ADMIN, help="server for a fresh database")
    p.add_argument("--workers", type=int, default=1, help="processes the users run in")
    p.add_argument(
        "--think", type=float, default=10.0, help="mean seconds between a user's steps (±50 %%)"
    )
    p.add_argument("--timeout", type=float, default=120.0, help="seconds before a request fails")
    p.add_argument("--seed", type=int, default=2026)
    args = p.parse_args(argv)
    if args.users < 1 or args.seconds <= 0:
        p.error("--users must be at least 1 and --seconds positive")
    for url in (args.keep_db, args.pg_url):
        if url and wr.backend_of(url) != "postgres":
            p.error(f"{url}: the load runs on PostgreSQL only")
    return Config(
        users=args.users,
        seconds=args.seconds,
        scale=args.scale,
        tasks=args.tasks,
        keep_db=args.keep_db,
        pg_admin=args.pg_url,
        workers=args.workers,
        think=args.think,
        timeout=args.timeout,
        seed=args.seed,
        command=shlex.join([".venv/bin/python", "-m", "bench.load", *argv]),
        server_log=args.json.with_suffix(".serve.log") if args.json else None,
    ), args.json


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    raw = list(sys.argv[1:] if argv is None else argv)
    cfg, out = parse_args(raw)
    result = run(cfg)
    print("\n" + report(result))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str) + "\n")
        print(f"written {out}")
    return 0 if ok(result) else 1


if __name__ == "__main__":
    sys.exit(main())
