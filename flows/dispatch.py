"""The dispatch job: claim due messages from the outbox, build them, deliver, settle each one.

SMTP when ``DIRECTIVES_SMTP_URL`` is set (N reused connections), else .eml files under var/mail/.
A message that cannot be built or sent is settled on its own; it never stops the run. The task
links of a message to an agency are signed here, in this process, just before it is built.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import secrets
import socket
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from directives.links import Linker, LinkSpec, secret_key
from directives.runtime import Runtime
from directives.services import outbox
from directives.settings import Settings
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
    """Writes the attempts' outcomes on one writer thread, those that arrive together in one
    transaction (a group commit).

    The database calls release the GIL (network round trips on PostgreSQL, the commit on SQLite),
    so the event loop keeps serving the other connections meanwhile; one thread keeps the writes
    sequential, so SQLite never waits on its own lock. While one transaction commits, the
    outcomes arriving from the other connections gather and go in the next: with N connections,
    one commit settles up to N messages instead of one. Measured in bench/dispatch.py.
    """

    def __init__(self, rt: Runtime, now: datetime, worker: str, summary: DispatchSummary):
        self.rt, self.now, self.worker, self.summary = rt, now, worker, summary
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="settle")
        self._lock = threading.Lock()
        self._gathering: list[tuple[outbox.Claimed, Delivery]] = []
        self._written: Future[None] | None = None  # when the gathering ones are committed

    def submit(self, claimed: outbox.Claimed, delivery: Delivery) -> Future[None]:
        """Settle soon, with whatever else arrives meanwhile; done once committed."""
        with self._lock:
            self._gathering.append((claimed, delivery))
            if self._written is None:
                self._written = Future()
                self.writer.submit(self._write_gathered)
            return self._written

    def _write_gathered(self) -> None:
        with self._lock:
            batch, written = self._gathering, self._written
            self._gathering, self._written = [], None
        assert written is not None
        try:
            self._write(batch)
        except BaseException as exc:  # the caller's await raises it: the run stops
            written.set_exception(exc)
        else:
            written.set_result(None)

    def _write(self, batch: list[tuple[outbox.Claimed, Delivery]]) -> None:
        with self.rt.unit_of_work() as s:
            statuses = [
                outbox.record_attempt(
                    s,
                    claimed,
                    _as_result(delivery),
                    now=self.now,
                    worker=self.worker,
                    max_attempts=self.rt.settings.smtp_max_attempts,
                )
                for claimed, delivery in batch
            ]
        self.summary.statuses.update(statuses)

    def close(self) -> None:
        """Stop the writer thread, after its last settlement."""
        self.writer.shutdown()

    def settle(self, claimed: outbox.Claimed, delivery: Delivery) -> None:
        """Settle one message now, in its own transaction."""
        self._write([(claimed, delivery)])


class LinkSigner:
    """Signs the task links of messages to agencies, in the dispatching process.

    Each row its ``context["links"]`` spec covers links to ``/l/<token>`` (``directives.links``),
    stamped with the spec's issue time, so every retry builds the same links. A message without
    a spec (to a leader, or enqueued before links were signed), or an installation without an
    app URL, keeps its rows as they are.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._key: str | None = None  # read once, and only when there are links to sign

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` with its recipient's task rows linked by signed tokens."""
        context = payload.get("context") or {}
        spec = context.get("links")
        if not spec or not self.settings.app_url or "tasks" not in context:
            return payload
        if self._key is None:
            self._key = secret_key(self.settings)
        linker = Linker(self._key, self.settings.app_url, LinkSpec.from_json(spec))
        rows = [
            {**row, "link": linker.link(str(row["code"]))} if linker.spec.covers(row) else row
            for row in context["tasks"]
        ]
        return {**payload, "context": {**context, "tasks": rows}}

    def signed(self, payload: dict[str, Any]) -> dict[str, Any] | str:
        """The linked payload, or why it cannot be (bad stored data makes the message dead)."""
        try:
            return self(payload)
        except Exception as exc:  # that message dies, the run goes on
            return f"không ký được liên kết trong thư: {type(exc).__name__}: {exc}"


def render_bytes(payload: dict[str, Any], now: datetime) -> bytes | str:
    """The message's bytes, or why it cannot be built (bad stored data makes it dead)."""
    try:
        return bytes(build(outgoing_from_json(payload), date=now))
    except Exception as exc:  # a missing key, a bad address…: that message dies, the run goes on
        return f"không dựng được thư: {type(exc).__name__}: {exc}"


class _Renderer:
    """Builds messages, on a second core when there are many (building is CPU-bound)."""

    POOL_FROM = 50  # below this many messages a worker process costs more than it saves

    def __init__(self, sign: LinkSigner) -> None:
        self.sign = sign
        self.pool: ProcessPoolExecutor | None = None

    def submit(self, claimed: list[outbox.Claimed], now: datetime) -> list[Future[bytes | str]]:
        if self.pool is None and len(claimed) >= self.POOL_FROM:
            # spawn, not fork: a forked child would share (and on exit close) database sockets.
            self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        futures: list[Future[bytes | str]] = []
        for c in claimed:
            payload = self.sign.signed(c.payload)  # here: the key stays in this process
            if self.pool is not None and not isinstance(payload, str):
                futures.append(self.pool.submit(render_bytes, payload, now))
                continue
            f: Future[bytes | str] = Future()
            f.set_result(payload if isinstance(payload, str) else render_bytes(payload, now))
            futures.append(f)
        return futures

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


Item = tuple[outbox.Claimed, "Future[bytes | str]"]


async def _smtp_worker(
    queue: asyncio.Queue[Item | None], config: SmtpConfig, settler: _Settler
) -> None:
    """Send the queue's messages on one connection. Each outcome is committed while the next
    message goes out, and awaited before the one after: at most two messages of a connection
    are ever sent and not yet settled (the window DESIGN.md allows a crash to resend)."""
    conn = SmtpConnection(config)
    settling: Future[None] | None = None
    try:
        while (item := await queue.get()) is not None:
            claimed, rendering = item
            data = await asyncio.wrap_future(rendering)
            if isinstance(data, str):
                delivery = Delivery(error=data, permanent=True)
            else:
                sender = claimed.payload["sender"]["email"]
                delivery = await conn.send(data, sender, claimed.pending)
            if settling is not None:
                await asyncio.wrap_future(settling)
            settling = settler.submit(claimed, delivery)
        if settling is not None:
            await asyncio.wrap_future(settling)
    finally:
        await conn.close()


async def _dispatch_smtp(
    claim_next: Callable[[int], list[outbox.Claimed]],
    renderer: _Renderer,
    config: SmtpConfig,
    settler: _Settler,
    *,
    connections: int,
    batch: int,
    now: datetime,
) -> None:
    """Claim in batches while the connections stay open; claim again when the queue runs low."""
    queue: asyncio.Queue[Item | None] = asyncio.Queue(maxsize=batch)

    async def produce() -> None:
        while claimed := claim_next(batch):
            for item in zip(claimed, renderer.submit(claimed, now), strict=True):
                await queue.put(item)
        for _ in range(connections):
            await queue.put(None)

    tasks = [asyncio.ensure_future(produce())]
    tasks += [
        asyncio.ensure_future(_smtp_worker(queue, config, settler)) for _ in range(connections)
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        # On a failure (the database gone, the disk full) the other connections stop sending,
        # and their own failures are collected here: the run reports one error, in one line,
        # not a "Task exception was never retrieved" traceback per connection.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def dispatch(
    rt: Runtime, *, now: datetime | None = None, limit: int | None = None, batch: int = 100
) -> DispatchSummary:
    """Deliver every due message (at most ``limit``); returns counts by new status."""
    now = now or rt.clock.now()
    worker = worker_name()
    summary = DispatchSummary()
    settler = _Settler(rt, now, worker, summary)

    def claim_next(size: int) -> list[outbox.Claimed]:
        if limit is not None:
            size = min(size, limit - summary.claimed)
        if size <= 0:
            return []
        with rt.unit_of_work() as s:
            claimed = outbox.claim(s, now=now, worker=worker, limit=size)
        summary.claimed += len(claimed)
        return claimed

    url = rt.settings.smtp_url
    sign = LinkSigner(rt.settings)
    if not url:
        files = FileMailer(rt.settings.mail_dir)
        while claimed := claim_next(batch):
            for c in claimed:
                payload = sign.signed(c.payload)
                data = payload if isinstance(payload, str) else render_bytes(payload, now)
                delivery = (
                    Delivery(error=data, permanent=True)
                    if isinstance(data, str)
                    else files.send(data, c.payload["message_id"], c.pending)
                )
                settler.settle(c, delivery)
        settler.close()
        return summary
    config = SmtpConfig.from_url(url, timeout=rt.settings.smtp_timeout)
    renderer = _Renderer(sign)
    try:
        asyncio.run(
            _dispatch_smtp(
                claim_next,
                renderer,
                config,
                settler,
                connections=rt.settings.smtp_connections,
                batch=batch,
                now=now,
            )
        )
    finally:
        renderer.close()
        settler.close()
    return summary
