"""Every benchmark in one invocation, each next to its baseline, then a table and a report.

    .venv/bin/python -m bench [--scale province|national] [--backend sqlite|postgres|both]
                              [--only STEP ...] [--output docs/benchmarks.md]

Steps, for each backend (``prefect`` once, on the first backend):

- ``generate``: ``bench.national`` fills a new database at the scale (50,000 or 1,000,000 tasks);
  the later steps that need a filled register use it;
- ``import``: ``bench.import_xlsx``: rows/s importing an XLSX (100,000 rows at national scale,
  10,000 at province scale) against openpyxl and the ORM row by row;
- ``chase``: the chase decision and enqueue (``flows.jobs.chase``) against ``bench.chase``'s ORM
  cron-style baseline, on the generated register (the baseline first: it rolls back);
- ``reports``: ``bench.reports --url``: the year's period report and every leader's digest;
- ``dispatch``: ``bench.dispatch``: 5,000 notices to a local SMTP server taking 10 ms a message,
  against smtplib with a connection per message;
- ``register``: ``bench.web_register --url``: the register pages over HTTP, p95 (worst page);
- ``prefect``: ``bench.prefect_naive``: one Prefect task per item over about 1,000 open tasks,
  against the project's chase flow.

Each side runs in a child process, so its peak memory is the child's own (``ru_maxrss`` from
``wait4``; helper processes such as the SMTP sink or the web server are not counted). A step that
fails is shown as failed and the run goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import national

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).with_name("results")
STEPS = ("generate", "import", "chase", "reports", "dispatch", "register", "prefect")
MEMORY_AIM_MIB = 1024
IMPORT_ROWS = {"province": (10_000, 3_000), "national": (100_000, 20_000)}
REGISTER_REQUESTS = {"province": 60, "national": 200}


@dataclass
class Row:
    """One line of the table."""

    step: str
    backend: str
    ours: str = ""
    baseline: str = ""
    ratio: str = ""
    aim: str = ""
    verdict: str = ""
    peak_mib: list[int] = field(default_factory=list)
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    def cells(self) -> list[str]:
        """The row as table cells."""
        peak = " / ".join(str(p) for p in self.peak_mib) if self.peak_mib else ""
        return [
            self.step,
            self.backend,
            self.ours,
            self.baseline,
            self.ratio,
            self.aim,
            self.verdict,
            peak,
        ]


HEAD = ["step", "backend", "ours", "baseline", "ratio", "aim", "verdict", "peak MiB"]


class StepFailed(Exception):
    """A child that exited with an error."""


def run_child(args: Sequence[str], timeout: float) -> tuple[str, int, float]:
    """Run ``python -m …args`` from the project root; (stdout, peak RSS in MiB, seconds)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", *args], cwd=ROOT, stdout=out, stderr=err, text=True
        )
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                raise StepFailed(f"timed out after {timeout:.0f} s: {shlex.join(args)}")
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read()
        if proc.returncode != 0:
            tail = err.read()[-2000:]
            raise StepFailed(f"exit {proc.returncode}: {shlex.join(args)}\n{tail}")
        return stdout, round(usage.ru_maxrss / 1024), seconds


def last_json(stdout: str) -> dict[str, Any]:
    """The last JSON object a script printed (an indented dump starting with a ``{`` line)."""
    lines = stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line == "{"]
    if not starts:
        raise StepFailed("no JSON in the output:\n" + stdout[-1000:])
    value = json.loads("\n".join(lines[starts[-1] :]))
    assert isinstance(value, dict)
    return value


def _fmt(x: float, unit: str = "") -> str:
    if x >= 100:
        text = f"{x:,.0f}"
    elif x >= 10:
        text = f"{x:.1f}"
    else:
        text = f"{x:.2f}"
    return f"{text} {unit}".strip()


def _verdict(ok: bool, peaks: Sequence[int]) -> str:
    memory = all(p < MEMORY_AIM_MIB for p in peaks)
    if ok and memory:
        return "met"
    return "missed" + ("" if memory else " (memory)")


# ------------------------------------------------------------------------------------------------
# Children run by ``python -m bench --child …``


def child_chase(url: str, side: str) -> dict[str, Any]:
    """One side of the chase on a filled register: ours (``flows.jobs.chase``) or the baseline."""
    from bench.chase import NOW, _baseline
    from directives.clock import FixedClock
    from directives.db.engine import make_engine, make_session_factory
    from directives.runtime import Runtime
    from directives.settings import Settings
    from flows import jobs

    engine = make_engine(url)
    settings = Settings(database_url=url, var_dir=Path(tempfile.mkdtemp(prefix="bench-chase-")))
    rt = Runtime(settings, engine, make_session_factory(engine), FixedClock(NOW))
    try:
        if side == "baseline":
            seconds, loaded, notices, messages = _baseline(rt)
            return {
                "seconds": round(seconds, 2),
                "open_loaded": loaded,
                "notices": notices,
                "messages": messages,
            }
        started = time.perf_counter()
        summary = jobs.chase(rt, as_of=national.AS_OF)
        return {
            "seconds": round(time.perf_counter() - started, 2),
            "notices": summary.notices.total(),
            "messages": summary.messages,
        }
    finally:
        rt.close()


# ------------------------------------------------------------------------------------------------
# Steps


@dataclass
class Context:
    """What the steps share."""

    scale: str
    backend: str
    url: str | None
    folder: Path
    timeout: float
    xlsx: Path


def step_generate(ctx: Context) -> Row:
    """Fill the register at the scale."""
    url, _ = national.create_database(ctx.backend, ctx.folder)
    ctx.url = url
    stdout, peak, _ = run_child(
        ["bench.national", "--scale", ctx.scale, "--backend", ctx.backend, "--url", url],
        ctx.timeout,
    )
    r = last_json(stdout)
    r.pop("url", None)
    return Row(
        "generate",
        ctx.backend,
        ours=f"{r['tasks']:,} tasks, {r['open_share']:.0%} open, {_fmt(r['fill_seconds'], 's')}",
        baseline="",
        aim="",
        verdict="done",
        peak_mib=[peak],
        detail=r,
    )


def step_import(ctx: Context) -> Row:
    """Both sides of the XLSX import, each in its own child."""
    rows, baseline_rows = IMPORT_ROWS[ctx.scale]
    common = ["bench.import_xlsx", "--backend", ctx.backend, "--rows", str(rows)]
    common += ["--baseline-rows", str(baseline_rows), "--xlsx", str(ctx.xlsx)]
    out_o, peak_o, _ = run_child([*common, "--side", "ours"], ctx.timeout)
    out_b, peak_b, _ = run_child([*common, "--side", "baseline"], ctx.timeout)
    ours, base = last_json(out_o)["ours"], last_json(out_b)["baseline"]
    rate, base_rate = ours["rows_per_second"], base["rows_per_second"]
    return Row(
        "import XLSX",
        ctx.backend,
        ours=f"{rate:,} rows/s ({ours['rows']:,} rows, {_fmt(ours['seconds'], 's')})",
        baseline=f"{base_rate:,} rows/s ({base['rows']:,} rows)",
        ratio=f"{rate / base_rate:.1f}×",
        aim="≥ 20,000 rows/s",
        verdict=_verdict(rate >= 20_000, [peak_o]),
        peak_mib=[peak_o, peak_b],
        detail={"ours": ours, "baseline": base},
    )


def step_chase(ctx: Context) -> Row:
    """The baseline (rolled back), then ours, on the generated register."""
    if ctx.url is None:
        raise StepFailed("no register: the generate step did not run")
    out_b, peak_b, _ = run_child(
        ["bench", "--child", "chase-baseline", "--url", ctx.url], ctx.timeout
    )
    out_o, peak_o, _ = run_child(["bench", "--child", "chase-ours", "--url", ctx.url], ctx.timeout)
    base, ours = last_json(out_b), last_json(out_o)
    ratio = base["seconds"] / max(ours["seconds"], 0.01)
    return Row(
        "chase decide+enqueue",
        ctx.backend,
        ours=f"{_fmt(ours['seconds'], 's')} ({ours['notices']:,} notices)",
        baseline=f"{_fmt(base['seconds'], 's')} ({base['notices']:,} notices)",
        ratio=f"{ratio:.1f}×",
        aim="< 5 s, ≥ 10×",
        verdict=_verdict(ours["seconds"] < 5 and ratio >= 10, [peak_o]),
        peak_mib=[peak_o, peak_b],
        detail={"ours": ours, "baseline": base},
    )


def step_reports(ctx: Context) -> list[Row]:
    """The period report and the digests on the generated register."""
    if ctx.url is None:
        raise StepFailed("no register: the generate step did not run")
    stdout, peak, _ = run_child(["bench.reports", "--url", ctx.url, "--repeat", "3"], ctx.timeout)
    r = last_json(stdout)
    period = r["period_year"]["seconds"]
    digest = r["digest_total_seconds"]
    return [
        Row(
            "period report (year)",
            ctx.backend,
            ours=_fmt(period, "s"),
            aim="< 3 s",
            verdict=_verdict(period < 3, [peak]),
            peak_mib=[peak],
            detail=r,
        ),
        Row(
            "all leaders' digests",
            ctx.backend,
            ours=f"{_fmt(digest, 's')} ({r['digest_all_leaders']['leaders']} leaders)",
            aim="< 3 s",
            verdict=_verdict(digest < 3, [peak]),
            peak_mib=[peak],
        ),
    ]


def step_dispatch(ctx: Context) -> Row:
    """5,000 messages to the 10 ms sink, both sides (the script runs both in one child)."""
    _, peak, _ = run_child(
        ["bench.dispatch", "--backend", ctx.backend, "--messages", "5000"], ctx.timeout
    )
    r = json.loads((RESULTS / "dispatch.json").read_text())["results"][0]
    ours, base = r["ours"], r["baseline"]
    return Row(
        "dispatch 5,000",
        ctx.backend,
        ours=f"{_fmt(ours['per_second'], 'msg/s')} ({_fmt(ours['seconds'], 's')})",
        baseline=f"{_fmt(base['per_second'], 'msg/s')} ({_fmt(base['seconds'], 's')})",
        ratio=f"{r['ratio']:.1f}×",
        aim="≥ 4×",
        verdict=_verdict(r["ratio"] >= 4, [peak]),
        peak_mib=[peak],
        detail=r,
    )


def step_register(ctx: Context) -> Row:
    """The register pages over HTTP on the generated register."""
    if ctx.url is None:
        raise StepFailed("no register: the generate step did not run")
    n = REGISTER_REQUESTS[ctx.scale]
    args = ["bench.web_register", "--backend", ctx.backend, "--url", ctx.url]
    _, peak, _ = run_child([*args, "--requests", str(n), "--warmup", "5"], ctx.timeout)
    data = json.loads((RESULTS / "web_register.json").read_text())
    r = data["backends"][ctx.backend] if "backends" in data else data
    pages = {name: m["p95_ms"] for name, m in r["pages"].items()}
    worst = max(pages.values())
    return Row(
        "register page p95",
        ctx.backend,
        ours=f"{_fmt(worst, 'ms')} (worst of {len(pages)} pages, {n} requests each)",
        aim="< 150 ms",
        verdict=_verdict(worst < 150, [peak]),
        peak_mib=[peak],
        detail={"p95_ms": pages},
    )


def step_prefect(ctx: Context) -> Row:
    """The newcomer's flow against ours, on a small register of about 1,000 open tasks."""
    stdout, peak, _ = run_child(["bench.prefect_naive", "--backend", ctx.backend], ctx.timeout)
    r = last_json(stdout)
    return Row(
        "Prefect flow, ~1,000 items",
        ctx.backend,
        ours=f"{_fmt(r['ours']['seconds'], 's')} (one flow run)",
        baseline=f"{_fmt(r['baseline']['seconds'], 's')} ({r['items']:,} task runs)",
        ratio=f"{r['ratio']:.1f}×",
        aim="",
        verdict=_verdict(True, [peak]),
        peak_mib=[peak],
        detail=r,
    )


RUNNERS: dict[str, Callable[[Context], Row | list[Row]]] = {
    "generate": step_generate,
    "import": step_import,
    "chase": step_chase,
    "reports": step_reports,
    "dispatch": step_dispatch,
    "register": step_register,
    "prefect": step_prefect,
}


# ------------------------------------------------------------------------------------------------
# Machine and output


def machine() -> dict[str, Any]:
    """nproc, CPU, memory, load, Python, SQLite, PostgreSQL and package versions."""
    cpu = ""
    mem = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(national.PG_ADMIN)
        with engine.connect() as conn:
            pg = str(conn.execute(text("SHOW server_version")).scalar())
        engine.dispose()
    except Exception as e:
        pg = f"unavailable ({type(e).__name__})"
    packages = {}
    for name in (
        "sqlalchemy", "psycopg", "prefect", "openpyxl", "python-calamine", "aiosmtpd", "fastapi",
        "uvicorn", "jinja2",
    ):  # fmt: skip
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = "absent"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg,
        "packages": packages,
    }


def loadavg() -> str:
    """/proc/loadavg's three averages."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def table(rows: Sequence[Row]) -> str:
    """A plain-text table."""
    cells = [HEAD, *(r.cells() for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEAD))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(HEAD))) for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(
    rows: Sequence[Row],
    failures: dict[str, str],
    info: dict[str, Any],
    command: str,
    scale: str,
    load: tuple[str, str],
    seconds: float,
) -> str:
    """docs/benchmarks.md."""
    out = ["# Benchmarks", ""]
    if scale == "province":
        out += ["**Province scale; the national run is still to come.**", ""]
    out += [
        f"Generated by `{command}` on {datetime.now().astimezone():%Y-%m-%d %H:%M %z} "
        f"in {seconds / 60:.1f} minutes. Scale `{scale}`: "
        f"{national.SCALES[scale]:,} tasks in the generated register.",
        "",
        "## Machine",
        "",
        f"- CPU: {info['cpu']} ({info['nproc']} cores, shared with other work: the load average "
        f"was {load[0]} before the run and {load[1]} after, so the figures are pessimistic)",
        f"- Memory: {info['memory']}; {info['platform']}",
        f"- Python {info['python']}, SQLite {info['sqlite']}, PostgreSQL {info['postgresql']}",
        "- " + ", ".join(f"{k} {v}" for k, v in info["packages"].items()),
        "",
        "## Results",
        "",
        "Each ratio is the baseline's time over ours (or our rate over the baseline's), both "
        "measured in this same invocation on this machine. Peak memory is each child process's "
        "maximum resident set (ours / baseline); the aim for every step of ours is under "
        f"{MEMORY_AIM_MIB} MiB (a baseline over it is reported, not held against the step).",
        "",
        "| " + " | ".join(HEAD) + " |",
        "|" + "|".join("---" for _ in HEAD) + "|",
    ]
    out += ["| " + " | ".join(c.replace("|", "/") for c in r.cells()) + " |" for r in rows]
    if failures:
        out += ["", "## Failed steps", ""]
        for name, why in failures.items():
            out += [f"- `{name}`:", "", "```", why.strip(), "```", ""]
    out += [
        "",
        "## What each step measures",
        "",
        "See `bench/README.md` and each script's docstring. In short:",
        "",
        "- **generate** (`bench/national.py`): the synthetic register (2,500 agencies, 40 leaders, "
        "five years of directives and task histories) written straight into the tables; the "
        "later steps run on it.",
        "- **import XLSX** (`bench/import_xlsx.py`): `read_task_rows` + "
        "`intake.issue_directives` (without the assignment messages: see below) against "
        "openpyxl and the ORM row by row, compared in rows/s.",
        "- **chase** (`bench/__main__.py --child chase-*`): `flows.jobs.chase` against "
        "`bench.chase._baseline` (ORM load, decide in Python, a notice per decision).",
        "- **period report / digests** (`bench/reports.py --url`): medians of 3 runs.",
        "- **dispatch** (`bench/dispatch.py`): 5,000 messages to `bench/smtp_sink.py` "
        "(10 ms a message), outbox dispatcher against smtplib with a connection per message.",
        "- **register page p95** (`bench/web_register.py --url`): uvicorn on loopback, the "
        "worst page's p95.",
        "- **Prefect** (`bench/prefect_naive.py`): one `@task` per open task against "
        "`flows.prefect_flows.chase_flow`, on `prefect_test_harness`.",
        "",
        "## Figures in full",
        "",
    ]
    for r in rows:
        if r.detail:
            out += [f"### {r.step}, {r.backend}", "", "```json"]
            out += [json.dumps(r.detail, ensure_ascii=False, indent=1, default=str), "```", ""]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run every step of every backend, print the table, write the report."""
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--scale", choices=sorted(national.SCALES), default="province")
    p.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--only", nargs="+", choices=STEPS, metavar="STEP", help=", ".join(STEPS))
    p.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    p.add_argument("--timeout", type=float, default=3600, help="seconds allowed per child")
    p.add_argument("--child", choices=("chase-ours", "chase-baseline"), help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        result = child_chase(args.url, args.child.removeprefix("chase-"))
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    raw = list(sys.argv[1:] if argv is None else argv)
    command = shlex.join(["python", "-m", "bench", *raw])
    steps = [s for s in STEPS if not args.only or s in args.only]
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    load_before = loadavg()
    started = time.perf_counter()
    info = machine()
    rows: list[Row] = []
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        folder = Path(tmp)
        for i, backend in enumerate(backends):
            ctx = Context(args.scale, backend, None, folder, args.timeout, folder / "import.xlsx")
            try:
                for step in steps:
                    if step == "prefect" and i > 0:
                        continue
                    needs_register = step in ("chase", "reports", "register")
                    if needs_register and ctx.url is None and "generate" not in steps:
                        failures[f"{step} ({backend})"] = "needs the generate step"
                        rows.append(Row(step, backend, verdict="failed"))
                        continue
                    print(f"[{backend}] {step} …", file=sys.stderr, flush=True)
                    t0 = time.perf_counter()
                    try:
                        got = RUNNERS[step](ctx)
                    except Exception as e:
                        failures[f"{step} ({backend})"] = str(e)
                        rows.append(Row(step, backend, verdict="failed"))
                        print(f"[{backend}] {step} failed: {e}", file=sys.stderr, flush=True)
                        continue
                    for row in got if isinstance(got, list) else [got]:
                        row.seconds = round(time.perf_counter() - t0, 1)
                        rows.append(row)
                        print("  " + " | ".join(row.cells()), file=sys.stderr, flush=True)
            finally:
                if ctx.url is not None:
                    national.drop_database(ctx.url)
    elapsed = time.perf_counter() - started
    print(table(rows))
    print(f"\n{elapsed / 60:.1f} minutes; load average {load_before} → {loadavg()}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        markdown(rows, failures, info, command, args.scale, (load_before, loadavg()), elapsed)
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "all.json").write_text(
        json.dumps(
            {
                "command": command,
                "machine": info,
                "rows": [r.__dict__ for r in rows],
                "failures": failures,
            },
            ensure_ascii=False,
            indent=2,
            default=str,
        )
    )
    print(f"written {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
