"""The faults of a chaos trial: what each step may suffer, fixed by a test or drawn by a seed.

Faults, by step (``TrialConfig.faults``, or drawn from ``Odds``), the i-th for the i-th run of
the step:

- ``kill``: SIGKILL of the process group at a random moment after it opened its database;
- ``kill-accept`` (dispatch): SIGKILL when the SMTP server has the k-th message of the run and
  before it answers, so that message is surely in the at-least-once window;
- ``pg-restart:fast|immediate|down``: the private PostgreSQL server restarted at such a moment;
- ``flap:MODE`` (dispatch): the SMTP server misbehaves for that run (``_chaos_smtp``); ``refuse``
  from the start of the run, the others from the k-th message or from the start;
- ``disk-full`` (SQLite): the tmpfs holding the database filled at a random moment (dispatch: at
  the k-th message), ``disk-full-before``: filled before the process starts; freed after it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from bench._chaos_smtp import FLAP_MODES


@dataclass(frozen=True)
class Odds:
    """How often each fault is drawn, per step, when a trial has no fixed plan."""

    kill: float = 0.3
    at_accept: float = 0.5  # of dispatcher kills, the share aimed at a message's acceptance
    pg_restart: float = 0.12  # PostgreSQL trials
    flap: float = 0.3  # dispatch steps
    disk_full: float = 0.2  # SQLite trials: import, history and dispatch steps
    again: float = 0.25  # a second fault for the rerun of a struck step


@dataclass(frozen=True)
class TrialConfig:
    """A trial's size, its faults (fixed, or drawn with ``odds``) and its seed."""

    seed: int
    backend: str = "postgres"
    tasks: int = 240
    pushes: int = 3
    api_acks: int = 4
    days: int = 3  # calendar days from Monday 23/11/2026
    connections: int = 4
    smtp_timeout: float = 3.0
    spread: float = 1.0  # strike within this share of a command's usual working time
    flaps_from_start: bool = False  # else a flap other than refuse starts at a random message
    rest_days: float = 0.35  # chance that the jobs also run on the rest days (doing nothing)
    faults: Mapping[str, Sequence[str]] | None = None
    odds: Odds = field(default_factory=Odds)
    keep: bool = False  # keep a copy of a SQLite file that lived on a tmpfs


def steps(days: Sequence[date], is_working: Callable[[date], bool], *, rest: bool) -> list[str]:
    """The steps of a trial, in order; with ``rest``, a rest day runs chase and dispatch too
    (they must do nothing)."""
    out = ["import", "history", "web"]
    for d in days:
        if is_working(d):
            out += [f"chase {d}", f"escalate {d}", f"dispatch {d}"]
        elif rest:
            out += [f"chase {d}", f"dispatch {d}"]
    return out


def draw_faults(cfg: TrialConfig, rng: random.Random, names: Sequence[str]) -> dict[str, list[str]]:
    """Faults for each step, drawn with the trial's odds."""
    odds, pg = cfg.odds, cfg.backend == "postgres"
    out: dict[str, list[str]] = {}
    for name in names:
        kind = name.split()[0]
        chosen: list[str] = []
        while len(chosen) < 2 and (not chosen or rng.random() < odds.again):
            options = [("kill", odds.kill)]
            if pg:
                options.append(("pg-restart", odds.pg_restart))
            if kind == "dispatch":
                options.append(("flap", odds.flap))
            if not pg and kind in ("import", "history", "dispatch"):
                options.append(("disk-full", odds.disk_full))
            roll, pick = rng.random(), None
            for fault, chance in options:
                if roll < chance:
                    pick = fault
                    break
                roll -= chance
            if pick is None:
                break
            if pick == "kill" and kind == "dispatch" and rng.random() < odds.at_accept:
                pick = "kill-accept"
            elif pick == "pg-restart":
                pick += ":" + rng.choice(("fast", "immediate", "down"))
            elif pick == "flap":
                pick += ":" + rng.choice(FLAP_MODES)
            chosen.append(pick)
        if chosen:
            out[name] = chosen
    return out
