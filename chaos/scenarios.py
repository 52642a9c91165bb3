"""The five fault scenarios. Each runs on a stack of its own (dev server on a
database file, partner center on a SQLite file, worker process) in its own
directory, drives its applications through every path while a fault injector
breaks something, then verifies every application against its path and that
the faults demonstrably hit open applications (``chaos.evidence``)."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from activities.sql import SqlPartnerCenter
from chaos.driver import Deadline, Driver, StatusBoard
from chaos.evidence import Evidence, FaultWindow, WorkerExits
from chaos.plans import Application, set_up_applications
from chaos.processes import DatabaseLock
from chaos.settings import ChaosSettings
from chaos.verify import Verdict, verify
from starter.client import UnbindingClient
from starter.devstack.database import migrated
from starter.devstack.postgres import PostgresCluster
from starter.devstack.server import DevServer
from starter.devstack.worker_process import WorkerProcess
from workflows.model import UnbindingState, UnbindStatus

log = logging.getLogger("chaos")
TASK_QUEUE = "chaos-unbinding"


@dataclass
class ScenarioResult:
    name: str
    applications: int
    faults: str
    as_expected: int
    duplicated: int
    lost: int
    stuck: int
    seconds: float
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    evidence: Evidence = field(default_factory=Evidence)

    @classmethod
    def broken(cls, name: str, applications: int, error: Exception) -> ScenarioResult:
        """A scenario that raised before it could be judged: every application
        counts as not as expected, and no fault as proven."""
        return cls(
            name=name,
            applications=applications,
            faults="(the scenario itself broke)",
            as_expected=0,
            duplicated=0,
            lost=0,
            stuck=0,
            seconds=0,
            problems=[f"{type(error).__name__}: {error}"],
            evidence=Evidence(missing=["the scenario broke before its faults were judged"]),
        )

    @property
    def passed(self) -> bool:
        """Every application as its path demands, and the faults proven to have
        hit open work: a green run with no fault landing proves nothing."""
        return (
            self.as_expected == self.applications
            and not (self.duplicated or self.lost or self.stuck)
            and self.evidence.proven
        )


@dataclass
class Faults:
    """What an injector did: a summary for the table, and its evidence."""

    summary: str
    evidence: Evidence


@dataclass
class Context:
    """What a fault injector may touch while the applications run."""

    settings: ChaosSettings
    rng: random.Random
    workdir: Path
    server: DevServer
    worker: WorkerProcess
    pc: SqlPartnerCenter
    board: StatusBoard
    driver: Driver
    deadline: Deadline
    applications: list[Application]
    notes: list[str]
    done: asyncio.Event = field(default_factory=asyncio.Event)
    database_server: PostgresCluster | None = None
    outage: tuple[datetime, datetime] | None = None
    """When no worker ran (scenario 2), wall clock."""
    exits: WorkerExits = field(default_factory=WorkerExits)
    supervising: bool = True
    began: float = field(default_factory=time.monotonic)

    def open_statuses(self) -> list[UnbindStatus]:
        return [s for s in self.board.statuses.values() if not s.is_terminal]

    async def open_now(self) -> int:
        """Applications open right now, by a fresh reading of the database."""
        return await self.board.open_now(within=self.settings.fresh_reading_within.total_seconds())

    async def until_open_work(self) -> bool:
        """Until some application is open; False once every one is done."""
        while not self.done.is_set():
            if self.open_statuses():
                return True
            await asyncio.sleep(0.2)
        return False

    def cutover_crashes(self) -> int:
        markers = self.workdir / "cutover-crashes"
        return len(list(markers.iterdir())) if markers.exists() else 0

    async def busy(self) -> None:
        """Until a share of the applications waits in an open state: the moment
        to strike (or give up waiting after a while)."""
        give_up = time.monotonic() + self.settings.busy_within.total_seconds()
        wanted = self.settings.busy_share * len(self.applications)
        while len(self.open_statuses()) < wanted and time.monotonic() < give_up:
            await asyncio.sleep(0.2)

    async def supervise_worker(self) -> None:
        """Restart the worker whenever it is dead and should not be (as a
        process supervisor would), noting exits nobody caused."""
        while not self.done.is_set():
            if self.supervising and not self.worker.running:
                self._observe_exit()
                await asyncio.sleep(self.settings.worker_restart_delay.total_seconds())
                self.worker.start()
                self.deadline.restart()
            await asyncio.sleep(0.2)
        if self.supervising and not self.worker.running:
            self._observe_exit()

    def _observe_exit(self) -> None:
        self.exits.observe(
            crashes=self.cutover_crashes(),
            code=self.worker.returncode,
            at=time.monotonic() - self.began,
        )


Injector = Callable[[Context], Coroutine[Any, Any, Faults]]
"""Breaks things while the applications run (unless ``inject_faults`` is off);
returns what it injected and the evidence that it hit open work."""


@dataclass(frozen=True)
class Scenario:
    name: str
    inject: Injector
    worker_args: list[str] | None = None
    """None: the product's ``worker.py``; else ``chaos.worker_process`` args."""
    outage_hooks: bool = False
    think_time: str = "think_time"
    """Which of the settings' think times people take in this scenario."""
    database: str = "sqlite"
    """The partner center's database: "sqlite" (a file) or "postgresql" (a
    throwaway cluster of Debian's PostgreSQL, as the test suite uses)."""
    reports_config: bool = False
    """The worker reports the cache size it runs with (the no-cache evidence)."""


def _phases(statuses: Counter[UnbindStatus]) -> str:
    return ", ".join(f"{status} ({count})" for status, count in sorted(statuses.items())) or "none"


# ---- 1. kill -9 the worker ------------------------------------------------------


async def kill_worker(ctx: Context) -> Faults:
    settings = ctx.settings
    phases: Counter[UnbindStatus] = Counter()
    open_at_kills: list[int] = []
    while settings.inject_faults and len(open_at_kills) < settings.worker_kills:
        if not await ctx.worker.polling(
            ctx.driver.client.temporal, within=settings.server_ready_within.total_seconds()
        ):
            if ctx.done.is_set():
                break
            await asyncio.sleep(0.2)  # dead (the supervisor restarts it) or slow
            continue
        await asyncio.sleep(ctx.rng.uniform(*settings.worker_kill_after_polling))
        if not await ctx.until_open_work():
            break
        open_count = await ctx.open_now()
        if not ctx.worker.running or ctx.done.is_set():
            continue
        phases.update(ctx.open_statuses())
        ctx.exits.expect()
        ctx.worker.kill()
        open_at_kills.append(open_count)
        ctx.deadline.restart()
    await ctx.done.wait()
    crashes = ctx.cutover_crashes()
    ctx.notes.append(f"random kills landed while applications waited in: {_phases(phases)}")
    ctx.notes.append(f"{crashes} kills between a cutover's commit and its completion report")
    evidence = Evidence()
    evidence.kills_on_open_work(open_at_kills, required=settings.worker_kills)
    evidence.cutover_crashes(crashes, limit=settings.cutover_crashes)
    kills = len(open_at_kills) + crashes
    return Faults(f"{kills} worker kill -9 ({crashes} after cutover commit)", evidence)


# ---- 2. people act while no worker runs -------------------------------------------


class OutageBarrier:
    """Holds each application right before its last action (or, with no action
    left, once it waits), until every one is there; then the worker dies and
    all those actions are sent, twice each, with no worker running.

    The applications whose deadline passes (``PathPlan.deadline_wait``) enter
    that wait only once all others are held, so that its reminders fall due
    during the outage and its deadline after it: a deadline passed before any
    worker could send a reminder leaves that reminder unsent, by design."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._timed = sum(a.plan.deadline_wait is not None for a in ctx.applications)
        self._others = len(ctx.applications) - self._timed
        self._arrived: Counter[bool] = Counter()
        self.others_there = asyncio.Event()
        self.everyone_there = asyncio.Event()
        self.outage = asyncio.Event()
        self.sent_during_outage = 0

    def _arrive(self, application: Application) -> None:
        self._arrived[application.plan.deadline_wait is not None] += 1
        if self._arrived[False] >= self._others:
            self.others_there.set()
            if self._arrived[True] >= self._timed:
                self.everyone_there.set()

    async def before_submit(self, application: Application) -> None:
        # With no action, the deadline's wait begins at submission.
        if application.plan.deadline_wait is not None and not application.plan.steps:
            await self.others_there.wait()

    async def before_step(self, application: Application, index: int) -> None:
        plan = application.plan
        if plan.deadline_wait is not None:
            if index == len(plan.steps) - 1:
                await self.others_there.wait()
            elif index == len(plan.steps):
                await self.ctx.board.wait_for(
                    application.application_id, plan.deadline_wait, self.ctx.deadline
                )
                self._arrive(application)
            return
        if index == len(plan.steps) - 1:
            await self.ctx.board.wait_for(
                application.application_id, plan.steps[index].wait_for, self.ctx.deadline
            )
            self._arrive(application)
            await self.outage.wait()
            self.sent_during_outage += 1
        elif not plan.steps:
            self._arrive(application)

    def copies(self, application: Application, index: int) -> int:
        return 2 if self.outage.is_set() else 1


async def act_while_no_worker_runs(ctx: Context) -> Faults:
    barrier = ctx.driver.outage_barrier
    assert isinstance(barrier, OutageBarrier)
    await asyncio.wait_for(barrier.everyone_there.wait(), timeout=ctx.deadline.remaining)
    windows: list[FaultWindow] = []
    if ctx.settings.inject_faults:
        ctx.supervising = False
        open_at_start = await ctx.open_now()
        ctx.worker.kill()
    began = time.monotonic()
    outage_began = datetime.now(UTC)
    barrier.outage.set()
    await asyncio.sleep(ctx.settings.worker_outage.total_seconds())
    sent = barrier.sent_during_outage
    if ctx.settings.inject_faults:
        windows.append(FaultWindow("worker outage", open_at_start, await ctx.open_now()))
        ctx.outage = (outage_began, datetime.now(UTC))
        ctx.worker.start()
        ctx.supervising = True
        ctx.deadline.restart()
    if windows:
        ctx.notes.append(
            f"worker down {time.monotonic() - began:.0f} s; {sent} actions sent meanwhile "
            "(each twice, same action_id, half as signals, half as updates)"
        )
    await ctx.done.wait()
    evidence = Evidence()
    evidence.windows_on_open_work(windows, required=1, what="worker outages")
    evidence.at_least(sent if windows else 0, 1, "actions sent with no worker")
    return Faults(f"{len(windows)} worker outage, {sent} actions (x2) during it", evidence)


# ---- 3. kill -9 the dev server ------------------------------------------------------


async def kill_server(ctx: Context) -> Faults:
    settings = ctx.settings
    phases: Counter[UnbindStatus] = Counter()
    windows: list[FaultWindow] = []
    await ctx.busy()
    for _ in range(settings.server_kills if settings.inject_faults else 0):
        if not await ctx.until_open_work():
            break
        open_at_start = await ctx.open_now()
        phases.update(ctx.open_statuses())
        ctx.server.kill()
        await asyncio.sleep(settings.server_outage.total_seconds())
        open_at_end = await ctx.open_now()
        await ctx.server.start_serving(within=settings.server_ready_within.total_seconds())
        windows.append(FaultWindow("server kill", open_at_start, open_at_end))
        ctx.deadline.restart()
        await asyncio.sleep(settings.server_kill_interval.total_seconds())
    ctx.notes.append(f"server kills landed while applications waited in: {_phases(phases)}")
    outage = settings.server_outage.seconds
    return await _windows_judged(
        ctx,
        windows,
        required=settings.server_kills,
        what="server kills",
        summary=f"{len(windows)} dev server kill -9, {outage} s down each",
    )


# ---- 4. the database is unavailable ---------------------------------------------------


async def lock_database(ctx: Context) -> Faults:
    windows: list[FaultWindow] = []
    held = 0.0
    await ctx.busy()
    phases = Counter(ctx.open_statuses())
    if ctx.settings.inject_faults:
        began = time.monotonic()
        async with DatabaseLock(ctx.workdir / "unbind.db").held():
            open_at_start = await ctx.open_now()
            await asyncio.sleep(ctx.settings.database_lock.total_seconds())
            # Readers still see the last commit (WAL): read before releasing.
            windows.append(FaultWindow("database lock", open_at_start, await ctx.open_now()))
        held = time.monotonic() - began
        ctx.deadline.restart()
    ctx.notes.append(f"database locked while applications waited in: {_phases(phases)}")
    return await _windows_judged(
        ctx, windows, what="database locks", summary=f"database write-locked {held:.0f} s"
    )


async def take_database_down(ctx: Context) -> Faults:
    database = ctx.database_server
    assert database is not None
    windows: list[FaultWindow] = []
    down = 0.0
    await ctx.busy()
    phases = Counter(ctx.open_statuses())
    if ctx.settings.inject_faults:
        open_at_start = await ctx.open_now()
        began = time.monotonic()
        await asyncio.to_thread(database.down)
        await asyncio.sleep(ctx.settings.database_down.total_seconds())
        await asyncio.to_thread(database.up)
        down = time.monotonic() - began
        # Nothing can be read while it is down: the first reading once it is
        # back, before any write has had time to close an application.
        windows.append(FaultWindow("database outage", open_at_start, await ctx.open_now()))
        ctx.deadline.restart()
    ctx.notes.append(f"database down while applications waited in: {_phases(phases)}")
    return await _windows_judged(
        ctx,
        windows,
        what="database outages",
        summary=f"PostgreSQL stopped {down:.0f} s (unreachable)",
    )


async def _windows_judged(
    ctx: Context, windows: list[FaultWindow], *, what: str, summary: str, required: int = 1
) -> Faults:
    """Once every application is done: the fault windows must have overlapped
    open work (``required`` of them), or the scenario proved nothing."""
    await ctx.done.wait()
    evidence = Evidence()
    evidence.windows_on_open_work(windows, required=required, what=what)
    return Faults(summary, evidence)


# ---- 5. no workflow cache ----------------------------------------------------------------


async def no_cache(ctx: Context) -> Faults:
    await ctx.done.wait()
    evidence = Evidence()
    evidence.cache_disabled(_reported_cache_sizes(ctx.workdir / WORKER_CONFIG_REPORT))
    summary = "max_cached_workflows=0" if ctx.settings.inject_faults else "none (--no-faults)"
    return Faults(summary, evidence)


WORKER_CONFIG_REPORT = "worker-config.jsonl"
"""Where ``chaos.worker_process --report-config`` writes each start's cache size."""


def _reported_cache_sizes(report: Path) -> list[int | None]:
    if not report.exists():
        return []
    lines = report.read_text().splitlines()
    return [json.loads(line)["max_cached_workflows"] for line in lines if line.strip()]


SCENARIOS: dict[str, Scenario] = {
    "worker-kill": Scenario(
        "1. kill -9 worker (every phase, cutover)",
        kill_worker,
        worker_args=[
            "--crash-after-cutover",
            "{workdir}/cutover-crashes",
            "--crash-limit",
            "{cutover_crashes}",
        ],
    ),
    "worker-outage": Scenario(
        "2. people act, no worker",
        act_while_no_worker_runs,
        outage_hooks=True,
        think_time="think_time_before_outage",
    ),
    "server-kill": Scenario(
        "3. kill -9 dev server", kill_server, think_time="think_time_server_kill"
    ),
    "database-lock": Scenario("4. database locked", lock_database),
    "database-down": Scenario(
        "4b. database down (PostgreSQL)", take_database_down, database="postgresql"
    ),
    "no-cache": Scenario(
        "5. replay every task",
        no_cache,
        worker_args=["--max-cached-workflows", "0"],
        reports_config=True,
    ),
}


# ---- running one ---------------------------------------------------------------------------


async def _history_figures(
    driver: Driver, applications: list[Application]
) -> tuple[Counter[str], Counter[str]]:
    """Totals over every application's history, and the retries by activity
    (the last attempt's number is on its started event)."""
    figures: Counter[str] = Counter()
    retried: Counter[str] = Counter()
    for application in applications:
        try:
            history = await driver.handle(application).fetch_history()
        except Exception:
            continue
        activity_types: dict[int, str] = {}
        for event in history.events:
            match event.event_type:
                case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                    scheduled = event.activity_task_scheduled_event_attributes
                    activity_types[event.event_id] = scheduled.activity_type.name
                case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                    started = event.activity_task_started_event_attributes
                    if started.attempt > 1:
                        name = activity_types.get(started.scheduled_event_id, "?")
                        retried[name] += started.attempt - 1
                        figures["activity retries"] += started.attempt - 1
                case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                    figures["workflow tasks"] += 1
                case EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    figures["workflow task failures"] += 1
                case EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                    figures["workflow task timeouts"] += 1
        figures["history events"] += len(history.events)
    return figures, retried


def _worker_command(scenario: Scenario, workdir: Path, settings: ChaosSettings) -> list[str] | None:
    """None for the product's ``worker.py``; else the suite's wrapper with the
    scenario's fault hooks (none with ``inject_faults`` off) and its report."""
    if scenario.worker_args is None:
        return None
    arguments = [
        a.format(workdir=workdir, cutover_crashes=settings.cutover_crashes)
        for a in (scenario.worker_args if settings.inject_faults else [])
    ]
    if scenario.reports_config:
        arguments += ["--report-config", str(workdir / WORKER_CONFIG_REPORT)]
    return [sys.executable, "-m", "chaos.worker_process", *arguments]


async def run(key: str, settings: ChaosSettings, workdir: Path, seed: int) -> ScenarioResult:
    scenario = SCENARIOS[key]
    workdir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}-{key}")
    started = time.monotonic()
    async with AsyncExitStack() as cleanup:
        # The dev server's default SQLite journal: the faults are tried on the
        # server as it ships, not on the local stacks' tuned pragmas.
        server = DevServer(db_file=workdir / "temporal.db", sqlite_pragmas=())
        cleanup.push_async_callback(asyncio.to_thread, server.stop)
        temporal = await server.start_serving(within=settings.server_ready_within.total_seconds())
        database_server = None
        database_url = f"sqlite:///{workdir / 'unbind.db'}"
        if scenario.database == "postgresql":
            database_server = PostgresCluster()
            cleanup.push_async_callback(asyncio.to_thread, database_server.stop)
            await asyncio.to_thread(database_server.start)
            database_url = database_server.url(database_server.create_database())
        pc = SqlPartnerCenter(migrated(database_url), pool_size=8)
        cleanup.callback(pc.dispose)
        worker = WorkerProcess(
            address=server.address,
            task_queue=TASK_QUEUE,
            database_url=database_url,
            log_path=workdir / "worker.log",
            command=_worker_command(scenario, workdir, settings),
        )
        cleanup.push_async_callback(asyncio.to_thread, worker.stop)
        applications = set_up_applications(pc, count=settings.applications, rng=rng)
        worker.start()
        client = UnbindingClient(
            temporal, task_queue=TASK_QUEUE, answer_timeout=settings.answer_timeout
        )
        deadline = Deadline(settings.settle_within)
        board = StatusBoard(pc, settings)
        driver = Driver(client, pc, board, settings, deadline)
        notes: list[str] = []
        ctx = Context(
            settings, rng, workdir, server, worker, pc, board, driver, deadline, applications, notes
        )
        ctx.database_server = database_server
        driver.think_time = getattr(settings, scenario.think_time)
        if scenario.outage_hooks:
            barrier = OutageBarrier(ctx)
            driver.outage_barrier = barrier
            driver.before_step = barrier.before_step
            driver.before_submit = barrier.before_submit
            driver.copies = barrier.copies
        board.start()
        cleanup.push_async_callback(board.stop)
        supervisor = asyncio.create_task(ctx.supervise_worker())
        injector = asyncio.create_task(scenario.inject(ctx))
        # Whatever happens, nothing restarts the worker once cleanup begins.
        cleanup.push_async_callback(_cancel, supervisor, injector)
        await driver.drive_all(applications, label=f"{scenario.name}: applications played")
        outcomes = await asyncio.gather(*(driver.outcome(a) for a in applications))
        ctx.done.set()
        faults = await injector
        await supervisor
        faults.evidence.no_unexpected_exits(ctx.exits.unexpected)
        verdicts = [
            verify(a, state, status, pc, settings)
            for a, (state, status) in zip(applications, outcomes, strict=True)
        ]
        figures, retried = await _history_figures(driver, applications)
        if ctx.outage is not None:
            during, due = _reminders_during(ctx.outage, applications, outcomes, settings)
            notes.append(
                f"{during} of {due} reminders before a deadline fell due while no worker ran"
            )
            if due:
                faults.evidence.at_least(during, 1, "reminders due with no worker")
    notes.append(
        "histories: " + ", ".join(f"{name} {count}" for name, count in sorted(figures.items()))
    )
    if retried:
        notes.append(
            "activity attempts that failed or timed out and were retried: "
            + ", ".join(f"{name} {count}" for name, count in sorted(retried.items()))
        )
    return _result(scenario, applications, verdicts, faults, started, notes)


async def _cancel(*tasks: asyncio.Task[Any]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _reminders_during(
    outage: tuple[datetime, datetime],
    applications: list[Application],
    outcomes: list[tuple[UnbindingState | None, WorkflowExecutionStatus | None]],
    settings: ChaosSettings,
) -> tuple[int, int]:
    """How many reminders of the applications whose deadline passes fell due
    while no worker ran, of how many (each must still have been sent once:
    ``verify`` checks the inbox)."""
    due = during = 0
    for application, (state, _) in zip(applications, outcomes, strict=True):
        waiting = application.plan.deadline_wait
        if waiting is None or state is None:
            continue
        entered = next(t.at for t in state.transitions if t.status is waiting)
        deadline = entered + settings.expiry_deadline
        for before in settings.expiry_reminders_before:
            due += 1
            during += outage[0] <= deadline - before <= outage[1]
    return during, due


def _result(
    scenario: Scenario,
    applications: list[Application],
    verdicts: list[Verdict],
    faults: Faults,
    started: float,
    notes: list[str],
) -> ScenarioResult:
    problems = []
    for v in verdicts:
        if not v.as_expected:
            what = "stuck" if v.stuck else "; ".join(v.lost + v.duplicated)
            problems.append(f"#{v.application.index} {v.application.plan.name}: {what}")
    return ScenarioResult(
        name=scenario.name,
        applications=len(applications),
        faults=faults.summary,
        evidence=faults.evidence,
        as_expected=sum(v.as_expected for v in verdicts),
        duplicated=sum(v.duplicate_count for v in verdicts),
        lost=sum(1 for v in verdicts if v.lost and not v.stuck),
        stuck=sum(v.stuck for v in verdicts),
        seconds=time.monotonic() - started,
        notes=notes,
        problems=problems,
    )
