"""Crash and restart, end to end: many trials of a week's work by real processes under faults.

    .venv/bin/python -m bench.chaos --trials 30 --seed 1 [--json /tmp/chaos.json]
                                    [--backend both|sqlite|postgres] [--tasks 160] [--days 3]

Each trial (``bench/_chaos_trial.py``) runs ``directives import``, ``directives history
import``, ``directives serve`` (the web app with its embedded scheduler) and, for each day,
``directives run chase|escalate|dispatch --as-of`` against PostgreSQL (a private cluster it may
restart) or a SQLite file (on a small tmpfs it may fill), with an aiosmtpd server that records
every message and may flap. Faults are drawn per step from the seed: SIGKILL at a random moment
(mid-import, mid-decision, mid-dispatch, mid-request, or exactly when the SMTP server has a
message and has not answered), PostgreSQL restarts (fast, immediate, down for a second), SMTP
flaps (refused connections, 421, 451 at RCPT or at DATA, an answer that comes too late), and a
full disk under the SQLite file. A killed or failed step runs again, as a supervisor would.

At the end of each trial, what the SMTP server received is compared with what the rules owe
(derived from the plan, not from the database): 0 lost, 0 unowed, every double inside the README's
one window (``bench/_chaos_check.py``), and every database invariant intact. The table sums the
trials; the JSON holds every figure and every trial; the exit code is 1 if anything was wrong.
``tests/test_chaos.py`` runs the same machinery at a CI-sized scale.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench._chaos_env import ChaosEnv
from bench._chaos_faults import Odds, TrialConfig
from bench._chaos_pg import unavailable
from bench._chaos_trial import Trial

__all__ = ["ChaosEnv", "Odds", "TrialConfig", "run_trial", "summarize"]


def run_trial(env: ChaosEnv, cfg: TrialConfig, folder: Path) -> dict[str, Any]:
    """Play one trial in ``folder``; returns its figures (``violations`` lists what was wrong)."""
    return Trial(env, cfg, folder).run()


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's totals: kills by target and phase, faults, messages, violations."""
    kills: dict[str, Counter[str]] = defaultdict(Counter)
    restarts: Counter[str] = Counter()
    missed = 0  # the process exited between the last look and the signal
    for r in results:
        for s in r["strikes"]:
            if s["target"] == "postgres":
                restarts[s["fault"].partition(":")[2]] += 1
            elif s["fault"].startswith("kill") and s.get("phase") == "process finished":
                missed += 1
            elif s["fault"].startswith("kill"):
                kills[s["target"]][s.get("phase", "?")] += 1
    messages: Counter[str] = Counter()
    for r in results:
        messages.update(r.get("messages", {}))
    violations = [
        {"trial": i, "seed": r["seed"], "backend": r["backend"], "violation": v}
        for i, r in enumerate(results, start=1)
        for v in r["violations"]
    ]
    return {
        "trials": len(results),
        "by_backend": dict(Counter(r["backend"] for r in results)),
        "launches": sum(r["launches"] for r in results),
        "kills": {
            "total": sum(sum(c.values()) for c in kills.values()),
            "by_target": {t: sum(c.values()) for t, c in sorted(kills.items())},
            "by_target_and_phase": {t: dict(c) for t, c in sorted(kills.items())},
            "missed": missed,
        },
        "faults": {
            "pg_restarts": {"total": sum(restarts.values()), **dict(restarts)},
            "smtp_flaps": _count(f["mode"] for r in results for f in r["smtp_flaps"]),
            "disk_full": _count(d["outcome"] for r in results for d in r["disk_full"]),
            "disk_full_mode": sorted({r["disk_mode"] for r in results if r["disk_mode"]}),
            "web_answers_lost_then_recognised": sum(
                r["web"].get("answers_lost_then_recognised", 0) for r in results
            ),
        },
        "messages": dict(messages),
        "invariant_violations": len(violations),
        "violations": violations,
    }


def _count(items: Any) -> dict[str, int]:
    c = Counter(items)
    return {"total": sum(c.values()), **dict(c)}


def table(summary: dict[str, Any]) -> str:
    """The totals as a plain-text table."""
    m = summary["messages"]
    rows = [
        ("trials", f"{summary['trials']} {summary['by_backend']}"),
        ("processes started", summary["launches"]),
        ("SIGKILLs", summary["kills"]["total"]),
    ]
    for target, phases in summary["kills"]["by_target_and_phase"].items():
        detail = ", ".join(f"{p}: {n}" for p, n in sorted(phases.items()))
        rows.append((f"  {target}", detail))
    rows.append(("  missed (it had just exited)", summary["kills"]["missed"]))
    faults = summary["faults"]
    rows += [
        ("PostgreSQL restarts", _inline(faults["pg_restarts"])),
        ("SMTP flaps", _inline(faults["smtp_flaps"])),
        ("full disks", f"{_inline(faults['disk_full'])} via {faults['disk_full_mode']}"),
        ("messages expected", m.get("messages_expected", 0)),
        ("messages received", m.get("messages_received", 0)),
        ("  doubled within the window", m.get("messages_doubled_within_window", 0)),
        ("  doubled outside the window", m.get("messages_doubled_outside_window", 0)),
        ("  lost", m.get("messages_lost", 0)),
        ("  not owed by the rules", m.get("messages_unexpected", 0)),
        ("deliveries expected / received", _pair(m, "deliveries")),
        ("  doubled within / outside", _doubled(m)),
        ("  lost", m.get("deliveries_lost", 0)),
        ("invariant violations", summary["invariant_violations"]),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _inline(counts: dict[str, int]) -> str:
    rest = ", ".join(f"{k} {v}" for k, v in counts.items() if k != "total")
    return f"{counts.get('total', 0)}" + (f" ({rest})" if rest else "")


def _pair(m: dict[str, int], what: str) -> str:
    return f"{m.get(f'{what}_expected', 0)} / {m.get(f'{what}_received', 0)}"


def _doubled(m: dict[str, int]) -> str:
    within = m.get("deliveries_doubled_within_window", 0)
    return f"{within} / {m.get('deliveries_doubled_outside_window', 0)}"


def _trial_line(i: int, r: dict[str, Any]) -> str:
    m = r.get("messages", {})
    faults = ", ".join(f"{s['step'].split()[0]}:{s['fault']}" for s in r["strikes"])
    flaps = ", ".join(f["mode"] for f in r["smtp_flaps"])
    verdict = f"{len(r['violations'])} VIOLATION(S)" if r["violations"] else "OK"
    return (
        f"trial {i:3d} {r['backend']:<8} {r['seconds']:6.1f} s  "
        f"mail {m.get('messages_received', '?')}/{m.get('messages_expected', '?')} "
        f"window {m.get('messages_doubled_within_window', '?')} "
        f"lost {m.get('messages_lost', '?')}  "
        f"[{faults}{'; flaps ' + flaps if flaps else ''}]  "
        f"{verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the trials, print the table, write the JSON; 1 if anything was wrong."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--backend", choices=("both", "sqlite", "postgres"), default="both")
    parser.add_argument("--tasks", type=int, default=160, help="imported tasks per trial")
    parser.add_argument("--days", type=int, default=3, help="days of jobs from Monday 23/11/2026")
    parser.add_argument("--connections", type=int, default=4, help="SMTP connections")
    parser.add_argument("--keep", action="store_true", help="keep each trial's folder and logs")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    why = unavailable()
    if "postgres" in backends and why is not None:
        print(f"PostgreSQL trials skipped: {why}", file=sys.stderr)
        backends = [b for b in backends if b != "postgres"]
        if not backends:
            return 2
    folder = Path(tempfile.mkdtemp(prefix="chaos-"))
    started = time.monotonic()
    env = ChaosEnv(folder / "shared", postgres="postgres" in backends)
    results = []
    try:
        for i in range(1, args.trials + 1):
            cfg = TrialConfig(
                seed=args.seed * 10_000 + i,
                backend=backends[(i - 1) % len(backends)],
                tasks=args.tasks,
                days=args.days,
                connections=args.connections,
                keep=args.keep,
            )
            trial_folder = folder / f"trial-{i:03d}"
            result = run_trial(env, cfg, trial_folder)
            results.append(result)
            print(_trial_line(i, result), flush=True)
            for v in result["violations"][:5]:
                print(f"    ! {v[:400]}", flush=True)
            if not args.keep:
                shutil.rmtree(trial_folder, ignore_errors=True)
    finally:
        env.close()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    summary = summarize(results)
    print()
    print(table(summary))
    if args.json is not None:
        report = {
            "command": shlex.join([sys.executable, "-m", "bench.chaos", *(argv or sys.argv[1:])]),
            "machine": {"nproc": os.cpu_count(), "python": platform.python_version()},
            "seconds": round(time.monotonic() - started, 1),
            "odds": asdict(Odds()),
            **summary,
            "per_trial": results,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
        print(f"\nJSON: {args.json}")
    m = summary["messages"]
    bad = (
        summary["invariant_violations"]
        or m.get("messages_lost")
        or m.get("messages_doubled_outside_window")
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
