"""Dispatch benchmark: N notices to a local SMTP server that takes 10 ms a message.

Ours: the outbox dispatcher (``flows.dispatch``), reused connections, settling every message.
Baseline, in the same run: what a cron script does: for each pending message, a new stdlib
``smtplib`` connection, send, quit, then mark the row sent. Both build the same messages.

    .venv/bin/python -m bench.dispatch --backend sqlite|postgres --messages 5000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text, update
from sqlalchemy.engine import make_url

from directives.clock import FixedClock
from directives.db import migrate
from directives.db.engine import make_engine, make_session_factory
from directives.db.outbox_tables import OutboxMessage
from directives.runtime import Runtime
from directives.settings import Settings
from flows.dispatch import dispatch
from notifications.message import build
from notifications.model import outgoing_from_json

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """The SMTP sink process."""

    def __init__(self, delay: float, folder: Path) -> None:
        self.port = _free_port()
        self.count_file = folder / f"sink-{self.port}.json"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.smtp_sink",
                "--port",
                str(self.port),
                "--delay",
                str(delay),
                "--count-file",
                str(self.count_file),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def stop(self) -> dict[str, int]:
        """Stop it and read how many messages it accepted."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        counts: dict[str, int] = json.loads(self.count_file.read_text())
        return counts


def _database(backend: str, folder: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'dispatch.sqlite3'}", None
    name = f"directives_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), name


def _drop(name: str | None) -> None:
    if name is None:
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fill(rt: Runtime, n: int) -> None:
    """N pending messages of the 'overdue' kind, each listing three tasks, two recipients."""
    task = {
        "code": "NV26-0001",
        "content": "Rà soát, báo cáo tiến độ giải ngân vốn đầu tư công",
        "directive": "245/TB-UBND",
        "directive_date": "2026-10-01",
        "directive_kind": "Thông báo kết luận",
        "lead_agency": "Sở Xây dựng",
        "deadline": "2026-11-10",
        "deadline_text": "10 ngày làm việc",
        "days_left": None,
        "days_late": 12,
        "link": "",
    }
    rows = []
    for i in range(n):
        mid = f"<bench{i}.{uuid.uuid4().hex[:6]}@binhan.gov.vn>"
        to = f"vanthu{i % 300}@so.binhan.gov.vn"
        payload = {
            "kind": "overdue",
            "message_id": mid,
            "notice_ids": [i + 1],
            "sender": {"name": "Văn phòng UBND tỉnh Bình An", "email": "vanphong@binhan.gov.vn"},
            "to": [{"name": f"Sở số {i % 300}", "email": to}],
            "cc": [{"name": "Chuyên viên theo dõi", "email": "cv01.vp@binhan.gov.vn"}],
            "reply_to": None,
            "context": {
                "office": "Văn phòng UBND tỉnh Bình An",
                "recipient": f"Sở số {i % 300}",
                "app_url": "",
                "as_of": "2026-11-26",
                "tasks": [dict(task, code=f"NV26-{i:05d}{k}") for k in range(3)],
            },
        }
        rows.append(
            {
                "kind": "overdue",
                "message_id": mid,
                "subject": "",
                "recipients": [to, "cv01.vp@binhan.gov.vn"],
                "delivered": [],
                "refused": {},
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": NOW,
                "created_at": NOW,
            }
        )
    with rt.unit_of_work() as s:
        for start in range(0, n, 1000):
            s.execute(insert(OutboxMessage), rows[start : start + 1000])


def _baseline(rt: Runtime, port: int) -> int:
    """The cron script: a new smtplib connection per message, then mark it sent."""
    sent = 0
    with rt.unit_of_work() as s:
        pending = s.execute(
            select(OutboxMessage.id, OutboxMessage.payload, OutboxMessage.recipients)
            .where(OutboxMessage.status == "pending")
            .order_by(OutboxMessage.id)
        ).all()
    for mid, payload, recipients in pending:
        msg = build(outgoing_from_json(payload), date=NOW)
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.send_message(msg, from_addr=payload["sender"]["email"], to_addrs=recipients)
        with rt.unit_of_work() as s:
            s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == mid)
                .values(status="sent", sent_at=NOW, attempts=1)
            )
        sent += 1
    return sent


def run(backend: str, n: int, delay: float, connections: int) -> dict[str, Any]:
    """Both sides on a fresh database each; returns the figures."""
    out: dict[str, Any] = {
        "backend": backend,
        "messages": n,
        "server_delay_ms": delay * 1000,
        "connections": connections,
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for side in ("ours", "baseline"):
            url, pg_name = _database(backend, folder / side if backend == "sqlite" else folder)
            if backend == "sqlite":
                (folder / side).mkdir(exist_ok=True)
                url = f"sqlite:///{folder / side / 'dispatch.sqlite3'}"
            engine = make_engine(url)
            migrate.upgrade(engine)
            settings = Settings(
                database_url=url, var_dir=folder / side, smtp_connections=connections
            )
            rt = Runtime(settings, engine, make_session_factory(engine), FixedClock(NOW))
            _fill(rt, n)
            sink = Sink(delay, folder)
            try:
                started = time.perf_counter()
                if side == "ours":
                    rt.settings = settings.model_copy(
                        update={"smtp_url": f"smtp://127.0.0.1:{sink.port}"}
                    )
                    summary = dispatch(rt, now=NOW)
                    sent = summary.as_dict()["sent"]
                else:
                    sent = _baseline(rt, sink.port)
                seconds = time.perf_counter() - started
            finally:
                counts = sink.stop()
                rt.close()
                _drop(pg_name)
            out[side] = {
                "seconds": round(seconds, 2),
                "sent": sent,
                "per_second": round(sent / seconds, 1),
                "server": counts,
            }
    out["ratio"] = round(out["ours"]["per_second"] / out["baseline"]["per_second"], 2)
    return out


def main() -> None:
    """Parse arguments, run, print and save."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--delay", type=float, default=0.010, help="server seconds per message")
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        r = run(backend, args.messages, args.delay, args.connections)
        results.append(r)
        print(
            f"{backend:9} ours {r['ours']['per_second']:7.1f} msg/s "
            f"({r['ours']['seconds']} s, server got {r['ours']['server']['accepted']})  "
            f"baseline {r['baseline']['per_second']:7.1f} msg/s "
            f"({r['baseline']['seconds']} s)  ratio {r['ratio']}×",
            flush=True,
        )
    record = {
        "command": " ".join([Path(sys.executable).name, "-m", "bench.dispatch", *sys.argv[1:]]),
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "results": results,
    }
    target = Path(__file__).with_name("results")
    target.mkdir(exist_ok=True)
    (target / "dispatch.json").write_text(json.dumps(record, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
