"""The dispatch job: claim due messages from the outbox, build them, deliver, settle each one.

SMTP when ``DIRECTIVES_SMTP_URL`` is set (N reused connections), else .eml files under var/mail/.
A message that cannot be built or sent is settled on its own; it never stops the run.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from directives.runtime import Runtime
from directives.services import outbox
from notifications.files import FileMailer
from notifications.message import build
from notifications.model import outgoing_from_json
from notifications.smtp import Delivery, SmtpConfig, SmtpConnection


@dataclass
class DispatchSummary:
    """How a dispatch run went."""

    claimed: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """Plain figures for printing."""
        return {
            "claimed": self.claimed,
            **{k: self.statuses[k] for k in ("sent", "failed", "dead", "sending")},
        }


def worker_name() -> str:
    """Who claims: host, process and a random tag (two dispatchers never share a name)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _as_result(d: Delivery) -> outbox.Result:
    return outbox.Result(
        accepted=d.accepted,
        refused=d.refused,
        deferred=d.deferred,
        error=d.error,
        permanent=d.permanent,
        code=d.code,
        duration_ms=d.duration_ms,
    )


class _Settler:
    """Writes each attempt's outcome in its own short transaction, off the event loop."""

    def __init__(self, rt: Runtime, now: datetime, worker: str, summary: DispatchSummary):
        self.rt, self.now, self.worker, self.summary = rt, now, worker, summary

    def settle(self, message_id: int, delivery: Delivery) -> None:
        with self.rt.unit_of_work() as s:
            status = outbox.record_attempt(
                s,
                message_id,
                _as_result(delivery),
                now=self.now,
                worker=self.worker,
                max_attempts=self.rt.settings.smtp_max_attempts,
            )
        self.summary.statuses[status] += 1


def _build(claimed: outbox.Claimed, now: datetime) -> EmailMessage | Delivery:
    try:
        return build(outgoing_from_json(claimed.payload), date=now)
    except (
        Exception
    ) as exc:  # any bad stored data (a missing key, a bad address): dead, not a crash
        return Delivery(error=f"không dựng được thư: {type(exc).__name__}: {exc}", permanent=True)


async def _smtp_worker(
    queue: asyncio.Queue[outbox.Claimed], config: SmtpConfig, settler: _Settler, now: datetime
) -> None:
    conn = SmtpConnection(config)
    try:
        while True:
            try:
                claimed = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            built = _build(claimed, now)
            if isinstance(built, Delivery):
                delivery = built
            else:
                sender = claimed.payload["sender"]["email"]
                delivery = await conn.send(built, sender, claimed.pending)
            await asyncio.to_thread(settler.settle, claimed.id, delivery)
    finally:
        await conn.close()


def dispatch(
    rt: Runtime, *, now: datetime | None = None, limit: int | None = None, batch: int = 100
) -> DispatchSummary:
    """Deliver every due message (at most ``limit``); returns counts by new status."""
    now = now or rt.clock.now()
    worker = worker_name()
    summary = DispatchSummary()
    settler = _Settler(rt, now, worker, summary)
    url = rt.settings.smtp_url
    config = SmtpConfig.from_url(url, timeout=rt.settings.smtp_timeout) if url else None
    files = FileMailer(rt.settings.mail_dir)
    while limit is None or summary.claimed < limit:
        size = batch if limit is None else min(batch, limit - summary.claimed)
        with rt.unit_of_work() as s:
            claimed = outbox.claim(s, now=now, worker=worker, limit=size)
        if not claimed:
            break
        summary.claimed += len(claimed)
        if config is None:
            for c in claimed:
                built = _build(c, now)
                delivery = built if isinstance(built, Delivery) else files.send(built, c.pending)
                settler.settle(c.id, delivery)
            continue
        queue: asyncio.Queue[outbox.Claimed] = asyncio.Queue()
        for c in claimed:
            queue.put_nowait(c)

        async def run_workers(
            q: asyncio.Queue[outbox.Claimed] = queue, cfg: SmtpConfig = config
        ) -> None:
            workers = min(rt.settings.smtp_connections, q.qsize())
            await asyncio.gather(*(_smtp_worker(q, cfg, settler, now) for _ in range(workers)))

        asyncio.run(run_workers())
    return summary
