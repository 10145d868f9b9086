"""One chaos trial: a week of the office's work by real processes, struck where the plan says.

The week (``_chaos_scenario``): on Friday 20/11/2026 ``directives import`` stores a file of
directives and ``directives history import`` replays acknowledgements; on Sunday the web app
(``directives serve``, embedded scheduler on) takes pushed directives and acknowledgements over
the API; from Monday 23/11 (Tuesday is a public holiday) each day runs ``directives run chase``,
``run escalate`` and ``run dispatch`` as the scheduler would, each with ``--as-of`` and a clock
ten minutes after the last. A step whose process dies is run again, as a supervisor or the next
cron tick would; dispatch runs again (the clock moved on to when the next message falls due)
until the outbox is empty.

Faults, by step, are described in ``bench/_chaos_faults.py``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench._chaos_check import (
    DispatchRun,
    acks_state,
    deliveries,
    engine,
    file_state,
    invariants,
    sqlite_ok,
)
from bench._chaos_disk import Disk
from bench._chaos_env import ChaosEnv
from bench._chaos_faults import TrialConfig, draw_faults, steps
from bench._chaos_procs import HANOI, Launcher, Outcome, Target, VirtualClock, kill_group
from bench._chaos_scenario import (
    IMPORT_DAY,
    OFFICE_CHIEF,
    WEB_DAY,
    Expectation,
    expected_messages,
    make_plan,
    push_body,
    write_history_file,
    write_import_file,
)
from bench._chaos_smtp import ChaosSmtp
from bench._chaos_web import Client, WebApp, strike_later
from directives.db.outbox_tables import OutboxMessage
from directives.policy import load_policy
from directives.services.outbox import CLAIM_LEASE

DISK_FULL_HINT = "Ổ đĩa đầy"  # what the command line says on a full disk (exit code 6)
MAX_RUNS = 6  # runs of one step before it counts as never completed
MAX_DISPATCH = 15  # dispatch runs of one day


class Trial:
    """Set-up, the week, and the verdict of one trial."""

    def __init__(self, env: ChaosEnv, cfg: TrialConfig, folder: Path) -> None:
        self.env, self.cfg = env, cfg
        self.rng = random.Random(cfg.seed)
        self.cal = env.calendar
        self.plan = make_plan(
            self.rng,
            self.cal,
            env.registry,
            tasks=cfg.tasks,
            pushes=cfg.pushes,
            days=cfg.days,
            api_acks=cfg.api_acks,
        )
        self.rest = self.rng.random() < cfg.rest_days
        names = steps(self.plan.days, self.cal.is_working, rest=self.rest)
        given = cfg.faults if cfg.faults is not None else draw_faults(cfg, self.rng, names)
        self.faults = {k: list(v) for k, v in given.items()}
        for k in self.faults:
            if k not in names:
                raise ValueError(f"fault for unknown step {k!r}; steps are {names}")
        self.folder = folder
        (folder / "logs").mkdir(parents=True, exist_ok=True)
        wants_disk = any(f.startswith("disk-full") for v in self.faults.values() for f in v)
        self.disk = Disk(folder / "db") if wants_disk else None
        (folder / "db").mkdir(exist_ok=True)
        self.url = env.database(cfg.backend, folder / "db")
        self.eng = engine(self.url)
        self.sqlite_path = folder / "db" / "directives.sqlite3"
        if cfg.backend == "sqlite":
            target = Target(sqlite_path=self.sqlite_path.resolve())
        else:
            assert env.cluster is not None
            target = Target(pg_port=env.cluster.port)
        self.smtp = ChaosSmtp().start()
        self.smtp.state.data_delay = 0.002
        self.launcher = Launcher(
            folder / "logs",
            self._env(),
            target,
            self.rng,
            spread=cfg.spread,
            preexec=self.disk.preexec if self.disk is not None else None,
            work=env.work,
        )
        self.clock = VirtualClock()
        self.expectation: Expectation | None = None
        self.runs: list[DispatchRun] = []
        self.strikes: list[dict[str, Any]] = []
        self.disk_events: list[dict[str, Any]] = []
        self.flaps: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.web: dict[str, Any] = {}

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTIVES_")}
        return env | {
            "DIRECTIVES_DATABASE_URL": self.url,
            "DIRECTIVES_VAR_DIR": str(self.folder / "var"),
            "DIRECTIVES_SMTP_URL": self.smtp.url,
            "DIRECTIVES_SMTP_CONNECTIONS": str(self.cfg.connections),
            "DIRECTIVES_SMTP_TIMEOUT": str(self.cfg.smtp_timeout),
            "DIRECTIVES_SMTP_MAX_ATTEMPTS": "50",  # retry exhaustion is a policy, not chaos
            "DIRECTIVES_OFFICE_CHIEF": f"{OFFICE_CHIEF[0]} <{OFFICE_CHIEF[1]}>",
            "DIRECTIVES_SECRET_KEY": f"chaos-{self.cfg.seed}-secret-key-for-links",
        }

    # -- the week -------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Play the week, then check everything; returns the trial's figures."""
        started = time.monotonic()
        result: dict[str, Any] = {}
        try:
            self._week()
            result = self._verdict()
        except Exception as exc:  # the harness itself failed: recorded, never hidden
            self.violations.append(f"harness: {type(exc).__name__}: {exc}")
            self.violations.append(traceback.format_exc(limit=4)[-1500:])
        finally:
            self.smtp.stop()
            self.eng.dispose()
            if self.disk is not None:
                if self.cfg.keep:  # the tmpfs goes with the trial: keep a copy to look at
                    shutil.copy(self.sqlite_path, self.folder / "directives.sqlite3")
                self.disk.close()
        return {
            "seed": self.cfg.seed,
            "backend": self.cfg.backend,
            "seconds": round(time.monotonic() - started, 1),
            "launches": self.launcher.launches,
            "strikes": self.strikes,
            "smtp_flaps": self.flaps,
            "disk_full": self.disk_events,
            "disk_mode": self.disk.mode if self.disk is not None else None,
            "web": self.web,
            **result,
            "violations": self.violations,
        }

    def _week(self) -> None:
        data = self.folder / "files"
        data.mkdir(exist_ok=True)
        write_import_file(data / "chi-dao.csv", self.plan.file_tasks)
        write_history_file(data / "tiep-nhan.csv", self.plan.history_acks)
        numbers = {t.directive for t in self.plan.file_tasks}
        acked = {t.code for t in self.plan.history_acks if t.code}
        self._import("import", ["import", str(data / "chi-dao.csv")], numbers)
        self._import("history", ["history", "import", str(data / "tiep-nhan.csv")], acked)
        self._web_day()
        self.expectation = expected_messages(
            self.plan, self.env.registry, self.cal, load_policy(None)
        )
        for day in self.plan.days:
            if not (self.rest or self.cal.is_working(day)):
                continue
            self._job("chase", day)
            if self.cal.is_working(day):
                self._job("escalate", day)
            self._dispatch_day(day)
        last = max(d for d in self.plan.days if self.cal.is_working(d))
        self._drain(last, f"dispatch {last}", [])

    def _strike(self, fault: str | None, step: str, holder: list[Any]) -> Callable[[], None] | None:
        if fault == "kill":
            return lambda: kill_group(holder[0])
        if fault is not None and fault.startswith("pg-restart:"):
            mode = fault.partition(":")[2]
            return lambda: self._pg_restart(step, mode)
        if fault == "disk-full" and not step.startswith("dispatch"):
            assert self.disk is not None
            return self.disk.fill
        return None

    def _pg_restart(self, step: str, mode: str) -> None:
        assert self.env.cluster is not None
        away = self.env.cluster.restart(mode)
        self.strikes.append(
            {"step": step, "target": "postgres", "fault": f"pg-restart:{mode}", "away": away}
        )

    def _note(self, step: str, out: Outcome, fault: str, phase: str) -> None:
        if fault.startswith("pg-restart"):
            # The restart itself is logged by _pg_restart; say what it did to the process.
            unsaid = [x for x in self.strikes if x["step"] == step and "phase" not in x]
            restarts = [x for x in unsaid if x["target"] == "postgres"]
            if restarts:
                restarts[0]["phase"] = phase
            return
        self.strikes.append({"step": step, "target": out.kind, "fault": fault, "phase": phase})

    def _import(self, step: str, args: list[str], keys: set[str]) -> None:
        """An import (directives or history): all or nothing, run again until it is all."""
        kind = step
        faults = self.faults.get(step, [])
        for attempt in range(MAX_RUNS):
            fault = faults[attempt] if attempt < len(faults) else None
            if fault == "disk-full-before":
                assert self.disk is not None
                self.disk.fill()
            holder: list[Any] = []
            out = self.launcher.run(
                kind,
                args,
                self.clock.tick(IMPORT_DAY),
                strike=self._strike(fault, step, holder),
                on_start=holder.append,
            )
            if self.disk is not None and self.disk.full:
                self._disk_event(step, out)  # gives the space back first: reading needs it too
            state = (file_state if step == "import" else acks_state)(self.eng, keys)
            if self.disk_events and self.disk_events[-1]["step"] == step:
                self.disk_events[-1].setdefault("state", state)
            struck = out.struck or fault == "disk-full-before"
            if state == "partial":
                self.violations.append(f"{step}: half stored after {fault or out.last_error}")
            if fault is not None and struck:
                phase = {"none": "rolled back", "all": "after commit"}.get(state, "half stored")
                self._note(step, out, fault, phase if out.rc else "process finished")
            if out.rc == 0 or state == "all":
                if out.rc != 0 and not struck:
                    self.violations.append(f"{step} failed on its own: {out.last_error}")
                return
            if not struck:
                self.violations.append(f"{step} failed on its own: {out.last_error}")
                return
        self.violations.append(f"{step} never completed in {MAX_RUNS} runs")

    def _disk_event(self, step: str, out: Outcome) -> None:
        assert self.disk is not None
        error = out.last_error
        if out.rc == 0:
            outcome = "absorbed (the run needed no new space)"
        elif out.rc != 6 or "Traceback" in out.stderr or DISK_FULL_HINT not in error:
            outcome = "unclear failure"
            self.violations.append(
                f"{step}: a full disk gave an unclear error (exit {out.rc}): {out.stderr[-900:]}"
            )
        else:
            outcome = "failed cleanly"
        self.disk.free()
        if not sqlite_ok(str(self.sqlite_path)):
            self.violations.append(f"{step}: the SQLite file is damaged after a full disk")
        self.disk_events.append({"step": step, "outcome": outcome, "error": error[-300:]})

    def _job(self, job: str, day: date) -> None:
        """chase or escalate as of ``day``: it records what the rules say, once."""
        assert self.expectation is not None
        step, owed = f"{job} {day}", self.expectation.decided[(job, day)]
        faults = self.faults.get(step, [])
        pending: list[tuple[Outcome, str]] = []
        for attempt in range(MAX_RUNS):
            fault = faults[attempt] if attempt < len(faults) else None
            holder: list[Any] = []
            out = self.launcher.run(
                job,
                ["run", job, "--as-of", day.isoformat()],
                self.clock.tick(day),
                strike=self._strike(fault, step, holder),
                on_start=holder.append,
            )
            if fault is not None and out.struck:
                pending.append((out, fault))
            if out.rc != 0:
                if not out.struck:
                    self.violations.append(f"{step} failed on its own: {out.last_error}")
                    return
                continue
            decided = sum(json.loads(out.stdout)["notices"].values())
            for struck, struck_fault in pending:
                if struck.rc == 0:
                    phase = "process finished"
                elif owed == 0:
                    phase = "nothing to decide"
                elif decided == owed:
                    phase = "rolled back"
                elif decided == 0:
                    phase = "after commit"
                else:
                    phase = "half stored"
                    self.violations.append(f"{step}: {decided} of {owed} notices left to decide")
                self._note(step, struck, struck_fault, phase)
            if not any(s.rc for s, _ in pending) and decided != owed:
                self.violations.append(f"{step} decided {decided} notices, the rules say {owed}")
            return
        self.violations.append(f"{step} never completed in {MAX_RUNS} runs")

    # -- dispatch ---------------------------------------------------------------------------

    def _outbox(self) -> tuple[int, datetime | None]:
        """Messages not yet sent, and the earliest moment one of them is due."""
        with self.eng.connect() as conn:
            unsent = conn.execute(
                select(
                    OutboxMessage.status, OutboxMessage.next_attempt_at, OutboxMessage.claimed_at
                ).where(OutboxMessage.status.in_(("pending", "failed", "sending")))
            ).all()
        due = [
            (claimed + CLAIM_LEASE if status == "sending" and claimed else next_at)
            for status, next_at, claimed in unsent
        ]
        aware = [d if d.tzinfo else d.replace(tzinfo=HANOI) for d in due]
        return len(unsent), min(aware, default=None)

    def _dispatch_day(self, day: date) -> None:
        step = f"dispatch {day}"
        faults = list(self.faults.get(step, []))
        if not self.cal.is_working(day):
            before = len(self.smtp.received)
            self._dispatch(day, faults[0] if faults else None, step)
            if len(self.smtp.received) != before:
                self.violations.append(f"{step}: mail sent on a rest day")
            return
        self._dispatch(day, faults.pop(0) if faults else None, step)
        self._drain(day, step, faults)

    def _drain(self, day: date, step: str, faults: list[str]) -> None:
        for _ in range(MAX_DISPATCH):
            unsent, due = self._outbox()
            if not unsent:
                return
            if due is not None:
                self.clock.at_least(day, due)
            self._dispatch(day, faults.pop(0) if faults else None, step)
        self.violations.append(f"{step}: the outbox still holds mail after {MAX_DISPATCH} runs")

    def _dispatch(self, day: date, fault: str | None, step: str) -> None:
        now = self.clock.tick(day)
        tag = f"{now:%d/%m %H:%M}"
        holder: list[Any] = []
        unsent, _ = self._outbox()
        k = self.rng.randint(1, max(1, min(unsent, 40)))
        fired: list[str] = []
        mode = fault.partition(":")[2] if fault and fault.startswith("flap:") else None
        at_start = mode == "refuse" or self.cfg.flaps_from_start or self.rng.random() < 0.5
        if mode is not None and at_start:
            self._flap(mode, step, "from the start")
            fired.append(fault or "")

        def hook(count: int) -> None:
            if count != k or fired or not (fault in ("kill-accept", "disk-full") or mode):
                return
            fired.append(fault or "")
            if fault == "kill-accept" and holder:
                kill_group(holder[0])
                holder[0].wait(timeout=10)  # dead before the server answers
            elif fault == "disk-full" and self.disk is not None:
                self.disk.fill()
            elif mode is not None:
                self._flap(mode, step, f"at message {k}")

        self.smtp.begin_run(tag, hook)
        try:
            out = self.launcher.run(
                "dispatch",
                ["run", "dispatch", "--as-of", day.isoformat()],
                now,
                strike=self._strike(fault, step, holder),
                on_start=holder.append,
            )
        finally:
            self.smtp.end_run()
            if self.smtp.state.flap is not None:
                self.smtp.flap(None)
        self.runs.append(DispatchRun(tag, now, finished=out.rc == 0))
        if fault and (out.struck or fired) and mode is None:
            phase = "run " + tag if fault.startswith("kill") else "failed" if out.rc else "survived"
            self._note(step, out, fault, phase)
        if self.disk is not None and self.disk.full:
            self._disk_event(step, out)
        if out.rc != 0 and not (out.struck or fired):
            self.violations.append(f"{step} failed on its own: {out.last_error}")

    def _flap(self, mode: str, step: str, when: str) -> None:
        self.flaps.append({"step": step, "mode": mode, "when": when})
        stall = self.cfg.smtp_timeout + 1.5
        if mode == "refuse" and threading.current_thread() is not threading.main_thread():
            threading.Thread(target=self.smtp.flap, args=(mode,), daemon=True).start()
        else:
            self.smtp.flap(mode, stall_seconds=stall)

    # -- the web app ------------------------------------------------------------------------

    def _web_day(self) -> None:
        app = WebApp(self.launcher, datetime.combine(WEB_DAY, clock_time(10), HANOI))
        faults = self.faults.get("web", [])
        fault = faults[0] if faults else None
        ops: list[tuple[str, Any]] = [("push", d) for d in self.plan.pushes]
        ops += [("ack", t) for t in self.plan.api_acks]
        if not ops and not fault:
            return  # a plan with nothing to enter over the API (a short test) skips the web app
        app.start()
        at = self.rng.randrange(len(ops)) if fault and ops else -1
        action: Callable[[], None] = app.kill
        if fault and fault.startswith("pg-restart:"):
            mode = fault.partition(":")[2]
            action = lambda: self._pg_restart("web", mode)  # noqa: E731
        timer: threading.Timer | None = None
        client = Client(app, self.env.tokens[self.cfg.backend], on_death=app.start)
        calls = []
        try:
            for i, (what, item) in enumerate(ops):
                if i == at:
                    timer = strike_later(self.rng.uniform(0.0, 0.03), action)
                if what == "push":
                    call = client.push(push_body(item))
                    codes = call.body.get("codes", [])
                    if len(codes) != len(item):
                        self.violations.append(f"{call.what}: answered codes {codes}")
                    for t, code in zip(item, codes, strict=False):
                        t.code = code
                else:
                    call = client.acknowledge(item.code, item.ack_on)
                calls.append((i, call))
            if timer is not None:
                timer.join()
            if fault == "kill" and not app.alive():
                app.start()  # killed after the last answer: its scheduler lock must come back
        finally:
            client.close()
            app.stop()
        self._web_verdict(fault, at, calls, app)

    def _web_verdict(self, fault: str | None, at: int, calls: list[Any], app: WebApp) -> None:
        later = [c for i, c in calls if i >= at] if at >= 0 else []
        self.web = {
            "starts": app.starts,
            "answers_lost_then_recognised": sum(1 for _, c in calls if c.status == 409),
            "server_errors": sum(c.server_errors for _, c in calls),
        }
        if app.scheduler_refused:
            self.violations.append(
                f"web: {app.scheduler_refused} start(s) of the app could not take the "
                "scheduler's lock back after a kill"
            )
        if fault == "kill":
            phase = "mid-request" if any(c.interrupted for c in later) else "between requests"
            self.strikes.append({"step": "web", "target": "web", "fault": fault, "phase": phase})
        elif fault and fault.startswith("pg-restart") and self.strikes:
            recovered = app.starts == 1
            self.strikes[-1]["phase"] = (
                f"{self.web['server_errors']} answers 5xx, recovered without a restart"
                if recovered
                else "the app had to be restarted"
            )
            if not recovered:
                self.violations.append("web: the app did not survive a PostgreSQL restart")

    # -- the verdict ------------------------------------------------------------------------

    def _verdict(self) -> dict[str, Any]:
        assert self.expectation is not None
        mail = deliveries(
            self.smtp.received,
            self.expectation,
            self.runs,
            self.eng,
            connections=self.cfg.connections,
        )
        self.violations += mail.violations
        self.violations += [f"harness: a strike failed: {e}" for e in self.smtp.hook_errors]
        self.violations += invariants(self.eng, self.plan, self.expectation)
        per_run = Counter(r.run for r in self.smtp.received)
        for strike in self.strikes:
            phase = str(strike.get("phase", ""))
            if strike["target"] == "dispatch" and phase.startswith("run "):
                tag = phase[4:]
                if mail.window_runs.get(tag):
                    strike["phase"] = "in the window"
                elif per_run[tag]:
                    strike["phase"] = "mid-dispatch"
                else:
                    strike["phase"] = "before the first message"
        with self.eng.connect() as conn:
            stored = conn.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        figures = {k: v for k, v in vars(mail).items() if k not in ("violations", "window_runs")}
        return {"messages": figures | {"outbox_rows": stored}, "dispatch_runs": len(self.runs)}
