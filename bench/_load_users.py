"""The simulated users of ``bench.load``: agency clerks, office staff and leaders, each an
``httpx.AsyncClient`` with its own session cookie, driving the real pages and forms.

A worker process runs its share of the users on one asyncio loop (``run_worker``) and returns
every request it made: the page, when, how long, the status or the exception. A user signs in
through the login form (CSRF token from the page), then walks its role's tour once, so that
every page is visited, and after that picks its next step at random with a think time between
steps. Every form carries the token of the last page shown, as a browser's would.
"""

from __future__ import annotations

import asyncio
import random
import re
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from bench.web_register import CSRF, ROW, TOTAL

PAGE_SIZE = 50  # directives.web.routes.tasks.PAGE_SIZE
KEEPALIVE_S = 3.0  # under uvicorn's timeout_keep_alive (5 s), with room for a busy event loop
DESK_ROW = re.compile(r'<a href="/desk/tasks/([A-Za-z0-9-]+)">')
CHART = re.compile(r'<img src="(/dashboard/chart/[^"]+)"')
INBOX_FORM = re.compile(r'action="/inbox/[A-Za-z0-9-]+/(acknowledge|progress|final)"')
CONFIRM_FORM = re.compile(r'action="/desk/tasks/[A-Za-z0-9-]+/confirm"')
# A one-page PDF: the final report's document (the app checks the type by its first bytes).
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
UNACKED = "chưa xác nhận đã nhận"  # the inbox's mark of a task the agency has not acknowledged
STATUSES = ("open", "open", "open", "overdue", "overdue", "due_soon", "all", "done")


@dataclass(frozen=True)
class UserSpec:
    """One simulated user: the account, its role (clerk, office or leader) and its seed.

    ``share``/``shares``: an office user confirms only the reports whose code hashes to its
    share, so that two users never confirm the same report at once (which would be a 409).
    """

    username: str
    role: str
    seed: int
    share: int = 0
    shares: int = 1
    relogin: bool = False  # sign out and in again after the tour


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs: the server, the users, the clock and the vocabulary."""

    base_url: str
    password: str
    users: list[UserSpec]
    start_at: float  # time.time() at which the first user starts
    ramp: float  # seconds over which the users start, evenly
    stop_at: float  # time.time() after which no user starts a new step
    think: float  # mean seconds between two steps of a user
    timeout: float  # seconds a request may take before it counts as an error
    agencies: list[str]  # agency codes the office filters the register by
    leaders: list[str]  # leader codes for the register and the dashboard
    words: list[str]  # what the office searches for


@dataclass
class Outcome:
    """A worker's requests and what its users did."""

    samples: list[tuple[str, float, float, int, str]] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)  # task codes posted to (done or maybe)
    actions: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0


class User:
    """A browser: one client, one cookie jar, the CSRF token of the last page."""

    def __init__(self, spec: UserSpec, worker: WorkerSpec, out: Outcome) -> None:
        self.spec = spec
        self.w = worker
        self.out = out
        self.rng = random.Random(spec.seed)
        # A browser retries a request its idle connection lost to the server's keep-alive
        # timeout (uvicorn: 5 s); httpx does not, so the connection is dropped before that.
        self.client = httpx.AsyncClient(
            base_url=worker.base_url,
            timeout=worker.timeout,
            follow_redirects=False,
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_S),
        )
        self.csrf = ""
        self.codes: list[str] = []  # tasks seen on the last list page
        self.unacked: list[str] = []  # tasks of the inbox not acknowledged yet

    async def hit(self, page: str, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        """One request, timed and recorded; None when it raised or answered 4xx/5xx."""
        started = time.time()
        t0 = time.perf_counter()
        try:
            r = await self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            ms = (time.perf_counter() - t0) * 1000
            self.out.samples.append((page, started, ms, 0, f"{type(exc).__name__}: {exc}"[:200]))
            return None
        ms = (time.perf_counter() - t0) * 1000
        ok = 200 <= r.status_code < 400
        error = "" if ok else f"{r.status_code} {method} {url}: {r.text[:160]!r}"
        self.out.samples.append((page, started, ms, r.status_code, error))
        if r.headers.get("content-type", "").startswith("text/html"):
            found = CSRF.search(r.text)
            if found:
                self.csrf = found.group(1)
        return r if ok else None

    async def follow(self, r: httpx.Response | None, page: str) -> httpx.Response | None:
        """GET the page a 303 sends to, as the browser does."""
        if r is None or r.status_code != 303:
            return r
        return await self.hit(page, "GET", r.headers["location"])

    async def post(self, page: str, url: str, code: str, **kwargs: Any) -> httpx.Response | None:
        """A form post on task ``code`` with the CSRF token; the task counts as touched."""
        self.out.touched.add(code)
        self.out.actions[page] = self.out.actions.get(page, 0) + 1
        data = {"csrf_token": self.csrf, **kwargs.pop("data", {})}
        return await self.hit(page, "POST", url, data=data, **kwargs)

    # -- signing in and out ------------------------------------------------------------------

    async def login(self) -> bool:
        """The login form, the post, and the home page it leads to."""
        form = await self.hit("login form", "GET", "/login")
        if form is None:
            return False
        data = {
            "csrf_token": self.csrf,
            "username": self.spec.username,
            "password": self.w.password,
            "next": "/",
        }
        r = await self.hit("login", "POST", "/login", data=data)
        home = await self.follow(r, "home (redirect)")
        landing = {"clerk": "inbox", "office": "register (office)", "leader": "dashboard"}
        page = await self.follow(home, landing[self.spec.role])
        self.remember(page)
        if self.spec.role == "clerk":
            self.note_unacked(page)
        return page is not None

    async def relogin(self) -> None:
        """Sign out (the form in the navigation bar) and in again."""
        r = await self.hit("logout", "POST", "/logout", data={"csrf_token": self.csrf})
        await self.follow(r, "login form")
        await self.login()

    # -- the pages -----------------------------------------------------------------------------

    def remember(self, r: httpx.Response | None, pattern: re.Pattern[str] = ROW) -> None:
        if r is None:
            return
        found = pattern.findall(r.text)
        self.codes = [m[1] if isinstance(m, tuple) else m for m in found] or self.codes

    async def register(self, page: str, params: dict[str, str]) -> httpx.Response | None:
        """The register with these filters; sometimes the next or the last page as well."""
        r = await self.hit(page, "GET", "/tasks?" + urlencode(params))
        self.remember(r)
        if r is None or self.rng.random() < 0.6:
            return r
        totals = TOTAL.findall(r.text)
        pages = -(-int(totals[0].replace(".", "")) // PAGE_SIZE) if totals else 1
        if pages < 2:
            return r
        target = 2 if self.rng.random() < 0.6 else self.rng.randint(2, pages)
        r = await self.hit(page, "GET", "/tasks?" + urlencode({**params, "page": str(target)}))
        self.remember(r)
        return r

    async def task_page(self) -> None:
        """A task of the last list, from the register."""
        if self.codes:
            await self.hit("task page", "GET", f"/tasks/{self.rng.choice(self.codes)}")

    async def search(self) -> None:
        """The register searched by words of a task's content, or by a code."""
        q = self.rng.choice(self.w.words)
        if self.codes and self.rng.random() < 0.3:
            q = self.rng.choice(self.codes)
        await self.register("register search", {"status": "all", "q": q})

    # -- the clerk -----------------------------------------------------------------------------

    async def inbox(self) -> None:
        r = await self.hit("inbox", "GET", "/inbox")
        self.remember(r)
        self.note_unacked(r)

    def note_unacked(self, r: httpx.Response | None) -> None:
        """The inbox's rows marked as not acknowledged (a clerk takes those first)."""
        if r is not None:
            rows = ['<tr class="row' + row for row in r.text.split('<tr class="row')[1:]]
            self.unacked = [m[1] for row in rows if UNACKED in row for m in ROW.findall(row)]

    async def clerk_register(self) -> None:
        await self.register("register (clerk)", {"status": self.rng.choice(STATUSES)})

    async def clerk_act(self, prefer: str = "") -> None:
        """Open a task of the inbox; acknowledge it, or report on it (final, now and then)."""
        if not self.codes:
            await self.inbox()
        if not self.codes:
            return
        fresh = [c for c in self.unacked if c in self.codes]
        first = fresh and (prefer == "acknowledge" or self.rng.random() < 0.5)
        code = self.rng.choice(fresh if first else self.codes)
        r = await self.hit("inbox task", "GET", f"/inbox/{code}")
        if r is None:
            return
        forms = set(INBOX_FORM.findall(r.text))
        base = f"/inbox/{code}"
        roll = self.rng.random()
        if "acknowledge" in forms and prefer in ("", "acknowledge"):
            done = await self.post("acknowledge", f"{base}/acknowledge", code)
            self.unacked = [c for c in self.unacked if c != code]
        elif "final" in forms and (prefer == "final" or (not prefer and roll < 0.3)):
            done = await self.post(
                "final report",
                f"{base}/final",
                code,
                data={"text": "Đã hoàn thành, có văn bản báo cáo kèm theo.", "document_number": ""},
                files={"document": ("bao-cao.pdf", PDF, "application/pdf")},
            )
        elif "progress" in forms and "final" in forms:  # as the lead: no race with the lead
            done = await self.post(
                "progress report",
                f"{base}/progress",
                code,
                data={"text": "Đang phối hợp với các đơn vị triển khai.", "percent": "50"},
            )
        else:
            return
        await self.follow(done, "inbox task")

    async def clerk_step(self) -> None:
        steps: list[tuple[float, Callable[[], Awaitable[None]]]] = [
            (25, self.inbox),
            (30, self.clerk_act),
            (20, self.clerk_register),
            (10, self.task_page),
            (8, self.search),
            (1, self.relogin),
        ]
        await self.pick(steps)()

    # -- the office ----------------------------------------------------------------------------

    async def office_register(self) -> None:
        """The register as the office filters it: by agency, by leader, or the whole of it."""
        params = {"status": self.rng.choice(STATUSES)}
        roll = self.rng.random()
        if roll < 0.6:
            params["agency"] = self.rng.choice(self.w.agencies)
        elif roll < 0.8:
            params["leader"] = self.rng.choice(self.w.leaders)
        await self.register("register (office)", params)

    async def desk(self, confirm: bool = True) -> None:
        """The queue; open a report of this user's share and confirm it."""
        r = await self.hit("desk queue", "GET", "/desk")
        if r is None or not confirm:
            return
        mine = [
            c
            for c in DESK_ROW.findall(r.text)
            if hash_code(c) % self.spec.shares == self.spec.share
        ]
        if not mine:
            return
        code = self.rng.choice(mine)
        page = await self.hit("desk task", "GET", f"/desk/tasks/{code}")
        if page is None or not CONFIRM_FORM.search(page.text):
            return
        done = await self.post(
            "confirm report", f"/desk/tasks/{code}/confirm", code, data={"note": ""}
        )
        await self.follow(done, "desk task")

    async def dashboard(self) -> None:
        """A leader's dashboard and, as a browser loads them, its charts."""
        query = ""
        if self.spec.role == "office":
            query = "?" + urlencode({"leader": self.rng.choice(self.w.leaders)})
        r = await self.hit("dashboard", "GET", "/dashboard" + query)
        if r is None:
            return
        for src in CHART.findall(r.text):
            await self.hit("dashboard chart", "GET", src.replace("&amp;", "&"))

    async def office_step(self) -> None:
        steps: list[tuple[float, Callable[[], Awaitable[None]]]] = [
            (35, self.office_register),
            (20, self.task_page),
            (12, self.search),
            (10, self.desk),
            (12, self.dashboard),
            (1, self.relogin),
        ]
        await self.pick(steps)()

    async def leader_step(self) -> None:
        steps: list[tuple[float, Callable[[], Awaitable[None]]]] = [
            (40, self.dashboard),
            (30, self.office_register),
            (25, self.task_page),
            (5, self.search),
        ]
        await self.pick(steps)()

    # -- the session ---------------------------------------------------------------------------

    def pick(
        self, steps: list[tuple[float, Callable[[], Awaitable[None]]]]
    ) -> Callable[[], Awaitable[None]]:
        return self.rng.choices([s for _, s in steps], [w for w, _ in steps])[0]

    def tour(self) -> list[Callable[[], Awaitable[None]]]:
        """Every page of the role once, in a browser's order (a clerk acknowledges first)."""
        if self.spec.role == "clerk":
            return [
                lambda: self.clerk_act("acknowledge"),
                self.inbox,
                lambda: self.clerk_act("final"),
                self.clerk_register,
                self.task_page,
                self.search,
            ]
        if self.spec.role == "office":
            return [self.office_register, self.task_page, self.search, self.desk, self.dashboard]
        return [self.dashboard, self.office_register, self.task_page]

    async def think(self) -> None:
        await asyncio.sleep(self.w.think * self.rng.uniform(0.5, 1.5))

    async def run(self, start_at: float) -> None:
        """Sign in at the user's start time; the tour (and for some, signing out and in
        again); random steps until the end; a think time before each step."""
        await asyncio.sleep(max(0.0, start_at - time.time()))
        try:
            if not await self.login():
                return
            random_step = {"clerk": self.clerk_step, "office": self.office_step}.get(
                self.spec.role, self.leader_step
            )
            steps = iter([*self.tour(), *([self.relogin] if self.spec.relogin else [])])
            while time.time() < self.w.stop_at:
                await self.think()
                if time.time() >= self.w.stop_at:
                    break
                await next(steps, random_step)()
        finally:
            await self.client.aclose()


def hash_code(code: str) -> int:
    """A stable hash of a task code (``hash`` of a str differs between processes)."""
    return sum(ord(c) * 31**i for i, c in enumerate(code))


async def _run_all(spec: WorkerSpec, out: Outcome) -> None:
    n = max(1, len(spec.users))
    users = [User(u, spec, out) for u in spec.users]
    await asyncio.gather(
        *(u.run(spec.start_at + spec.ramp * i / n) for i, u in enumerate(users)),
    )


def run_worker(spec: WorkerSpec) -> Outcome:
    """Run these users to the end on one event loop (a worker process's entry point)."""
    out = Outcome()
    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    asyncio.run(_run_all(spec, out))
    after = resource.getrusage(resource.RUSAGE_SELF)
    out.wall_seconds = time.perf_counter() - t0
    out.cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out
