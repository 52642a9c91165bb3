"""``python -m starter.demo [--once]``: the whole stack on one machine, and the
process played through end to end.

Starts a Temporal dev server with its state under ``var/`` (or reuses one that
already listens on the port), starts ``python worker.py``, seeds the demo
ledger, plays the scenarios through :class:`~starter.client.UnbindingClient`,
prints what happened, and keeps the stack up for the Web UI until Ctrl-C.
With ``--once`` it stops what it started right after the table.

Every run creates fresh customers under the seeded partners, so it works again
on the persisted state: a completed unbinding leaves its customer unbound.

Environment: ``UNBIND_TEMPORAL_PORT`` (7233) and ``UNBIND_TEMPORAL_UI_PORT``
(8233) on 127.0.0.1, ``UNBIND_DATABASE_URL`` (``sqlite:///var/unbind.db``),
``UNBIND_TASK_QUEUE``. Logs go to ``var/logs/``.

Exit codes: 0 every scenario reached its expected status, 1 one did not,
3 the server or the worker could not start or died, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.enums.v1 import TaskQueueType as TaskQueueTypeProto
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.connection import dev_server_flags, task_queue_from_env
from starter.errors import UnbindError
from workflows import search_attributes as sa
from workflows.contract import workflow_id_for
from workflows.model import (
    FailedCheck,
    GroupRole,
    OverduePrivilege,
    UnbindingState,
    UnbindStatus,
)

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
LOGS = VAR / "logs"

HOST = "127.0.0.1"
NAMESPACE = "default"
DEFAULT_PORT = 7233
DEFAULT_UI_PORT = 8233

SERVER_START_TIMEOUT = 30.0
"""Seconds for a new dev server to accept connections."""
WORKER_START_TIMEOUT = 30.0
"""Seconds for the worker to start polling its task queue."""
SETTLE_TIMEOUT = 20.0
"""Seconds for an application to reach the status a scenario expects."""
WORKER_STOP_TIMEOUT = 30.0
"""Seconds for the worker to finish running activities (it allows itself 20)."""
SERVER_STOP_TIMEOUT = 15.0
LOG_TAIL_LINES = 25

EXIT_MISMATCH = 1
EXIT_STACK = 3
EXIT_INTERRUPTED = 130

S = UnbindStatus


# ---- the scenarios -------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One row of the demo's table."""

    scenario: str
    customer: str
    status: str
    expected: UnbindStatus
    story: str
    next_command: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == self.expected.value


@dataclass(frozen=True)
class DemoPartners:
    """The seeded partners the demo's fresh customers belong to."""

    reseller: str
    second_level_reseller: str
    distributor: str

    @classmethod
    def seed(cls, ledger: SqlPartnerCenter) -> DemoPartners:
        demo = ledger.seed_demo()
        return cls(
            reseller=demo["reseller"],
            second_level_reseller=demo["second_level_reseller"],
            distributor=demo["distributor"],
        )


def fresh_uins(prefix: str = "5") -> Iterator[str]:
    """Customer UINs no earlier run used: a prefix, the current time in
    milliseconds, and a counter (15+ digits; tests use shorter ones)."""
    stamp = int(time.time() * 1000)
    counter = 0
    while True:
        counter += 1
        yield f"{prefix}{stamp}{counter:02d}"


class _Story:
    """What happened to one application, step by step, and for one left
    open, the command that takes it further."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.next_command: str | None = None

    def __call__(self, step: str) -> None:
        self.steps.append(step)

    def __str__(self) -> str:
        return " → ".join(self.steps)


def _checks(failed_checks: Sequence[FailedCheck]) -> str:
    return ", ".join(str(check.check) for check in failed_checks) or "none"


class Scenarios:
    """The scripted scenarios: each builds a fresh customer, drives one
    application through the client API and the ledger, and reports."""

    def __init__(
        self,
        client: UnbindingClient,
        ledger: SqlPartnerCenter,
        partners: DemoPartners,
        *,
        uins: Iterator[str],
        settle_timeout: float = SETTLE_TIMEOUT,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.partners = partners
        self.uins = uins
        self.settle_timeout = settle_timeout

    async def play(self) -> list[Outcome]:
        plays: Sequence[tuple[str, UnbindStatus, Callable[[str, _Story], Awaitable[None]]]] = (
            ("1. Direct reseller, happy path", S.COMPLETED, self.direct_happy_path),
            ("2. Second-level, distributor review", S.COMPLETED, self.distributor_review),
            ("3. Customer rejects", S.CUSTOMER_REJECTED, self.customer_rejects),
            (
                "4. Precheck fails, then fixed",
                S.PENDING_CUSTOMER_CONFIRMATION,
                self.precondition_fixed,
            ),
            ("5. Final check fails, recheck", S.COMPLETED, self.final_check_recheck),
            ("6. Final check fails, left open", S.AWAITING_REMEDIATION, self.left_for_remediation),
        )
        outcomes = []
        for title, expected, play in plays:
            customer = next(self.uins)
            story = _Story()
            try:
                await play(customer, story)
                status = (await self.settled(customer, expected)).status.value
            except Exception as error:
                # One broken scenario must not hide the others' outcomes.
                status = "ERROR"
                story(f"error: {getattr(error, 'message', None) or error!r}")
            outcomes.append(
                Outcome(title, customer, status, expected, str(story), story.next_command)
            )
        return outcomes

    # Each scenario below reads as the people involved would act.

    async def direct_happy_path(self, customer: str, story: _Story) -> None:
        reseller = self.partners.reseller
        self.ledger.add_customer(customer, partner_uin=reseller, name="Demo: happy path")
        await self.apply(customer, reseller, story)
        await self.act(story, "customer confirmed", self.client.confirm(customer, actor=customer))
        await self.refused(
            story,
            "card claim refused (none on file)",
            self.client.card_bound(customer, actor=customer),
        )
        self.ledger.set_account(customer, card_bound=True)
        await self.act(story, "card bound", self.client.card_bound(customer, actor=customer))
        await self.completed(customer, story)

    async def distributor_review(self, customer: str, story: _Story) -> None:
        reseller, distributor = self.partners.second_level_reseller, self.partners.distributor
        self.ledger.add_customer(customer, partner_uin=reseller, name="Demo: review", card=True)
        await self.apply(customer, reseller, story)
        await self.refused(
            story,
            "the reseller's own review refused",
            self.client.review(customer, actor=reseller, approve=True),
        )
        await self.act(
            story,
            "distributor approved",
            self.client.review(customer, actor=distributor, approve=True),
        )
        await self.act(
            story,
            "customer confirmed (card already on file)",
            self.client.confirm(customer, actor=customer),
        )
        await self.completed(customer, story)

    async def customer_rejects(self, customer: str, story: _Story) -> None:
        reseller = self.partners.reseller
        self.ledger.add_customer(customer, partner_uin=reseller, name="Demo: rejects", card=True)
        await self.apply(customer, reseller, story)
        await self.act(
            story,
            "customer rejected",
            self.client.reject(customer, actor=customer, reason="we keep our reseller"),
        )

    async def precondition_fixed(self, customer: str, story: _Story) -> None:
        reseller = self.partners.reseller
        self.ledger.add_customer(customer, partner_uin=reseller, name="Demo: frozen", card=True)
        self.ledger.set_account(customer, frozen=True)
        first = await self.client.apply(
            customer_uin=customer, initiator_uin=reseller, notice_acknowledged=True
        )
        if first.accepted:
            raise UnbindError("the application for a frozen account was accepted")
        story(f"failed checks: {_checks(first.failed_checks)}")
        # The refused application has ended; a new one for the customer may start.
        refused = self.client.temporal.get_workflow_handle(workflow_id_for(customer))
        await asyncio.wait_for(refused.result(), self.settle_timeout)
        self.ledger.set_account(customer, frozen=False)
        story("unfrozen")
        await self.apply(customer, reseller, story, verb="applied again: accepted")
        story("waiting for the customer")
        story.next_command = f"unbind confirm --customer {customer} --as {customer}"

    async def final_check_recheck(self, customer: str, story: _Story) -> None:
        reseller = self.partners.reseller
        self.ledger.add_customer(customer, partner_uin=reseller, name="Demo: recheck", card=True)
        await self.apply(customer, reseller, story)
        self.ledger.set_account(customer, group_role=GroupRole.MEMBER)
        story("customer joined a group")
        await self.client.confirm(customer, actor=customer)
        waiting = await self.settled(customer, S.AWAITING_REMEDIATION)
        story(f"confirmed; final check failed: {_checks(waiting.failed_checks)}")
        self.ledger.set_account(customer, group_role=GroupRole.NONE)
        story("left the group")
        await self.act(story, "recheck", self.client.recheck(customer, actor=reseller))
        await self.completed(customer, story)

    async def left_for_remediation(self, customer: str, story: _Story) -> None:
        reseller = self.partners.reseller
        self.ledger.add_customer(customer, partner_uin=reseller, name="Demo: left open", card=True)
        await self.apply(customer, reseller, story)
        self.ledger.set_account(
            customer, credit_cents=-1_250, overdue_privilege=OverduePrivilege.POSTPAID
        )
        story("credit went negative, privilege enabled")
        await self.client.confirm(customer, actor=customer)
        waiting = await self.settled(customer, S.AWAITING_REMEDIATION)
        story(f"confirmed; final check failed: {_checks(waiting.failed_checks)}")
        story("waiting for a fix")
        story.next_command = (
            f"unbind ledger set {customer} --credit 0 --privilege none && "
            f"unbind recheck --customer {customer} --as {reseller}"
        )

    # ---- steps shared by the scenarios ---------------------------------------

    async def apply(
        self, customer: str, reseller: str, story: _Story, *, verb: str = "applied"
    ) -> None:
        result = await self.client.apply(
            customer_uin=customer, initiator_uin=reseller, notice_acknowledged=True
        )
        if not result.accepted:
            raise UnbindError(f"application refused: {_checks(result.failed_checks)}")
        story(verb)

    async def act(self, story: _Story, step: str, action: Awaitable[Any]) -> None:
        result = await action
        if not result.accepted:
            raise UnbindError(f"{step} was refused: {result.reason}")
        story(step)

    async def refused(self, story: _Story, step: str, action: Awaitable[Any]) -> None:
        result = await action
        if result.accepted:
            raise UnbindError(f"expected a refusal, but it was accepted: {step}")
        story(step)

    async def completed(self, customer: str, story: _Story) -> None:
        state = await self.settled(customer, S.COMPLETED)
        if state.effective_at is not None:
            story(f"cut over at {state.effective_at:%H:%M:%S} UTC")

    async def settled(self, customer: str, expected: UnbindStatus) -> UnbindingState:
        """The application's state once it shows ``expected``, or once it has
        ended, or after the timeout (a scenario then reports the mismatch)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.settle_timeout
        while True:
            state = await self.client.status(customer)
            if state.status is expected or state.status.is_terminal or loop.time() > give_up:
                return state
            await asyncio.sleep(0.2)


# ---- the table -----------------------------------------------------------------


def render_table(outcomes: Sequence[Outcome], *, story_width: int = 56) -> str:
    header = ("scenario", "customer", "final status", "what happened")
    rows: list[list[list[str]]] = [[[cell] for cell in header]]
    for outcome in outcomes:
        status = outcome.status if outcome.ok else f"{outcome.status} ✗ ({outcome.expected})"
        story = textwrap.wrap(outcome.story, story_width) or ["-"]
        rows.append([[outcome.scenario], [outcome.customer], [status], story])
    widths = [max(len(line) for row in rows for line in row[i]) for i in range(len(header))]
    rule = "-+-".join("-" * width for width in widths)
    lines = []
    for index, row in enumerate(rows):
        height = max(len(cell) for cell in row)
        for n in range(height):
            cells = [cell[n] if n < len(cell) else "" for cell in row]
            lines.append(
                " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
            )
        if index == 0:
            lines.append(rule)
    return "\n".join(lines)


# ---- the stack: server and worker as child processes ----------------------------


class StackFailed(Exception):
    """The server or the worker could not start, or died."""


class Stopped(Exception):
    """Ctrl-C or SIGTERM arrived."""


@dataclass
class Child:
    """A process the demo started, with its log file."""

    name: str
    log_path: Path
    process: subprocess.Popen[bytes]
    log: IO[bytes] = field(repr=False)
    started_at: float = field(default_factory=time.time)

    @classmethod
    def start(cls, name: str, args: Sequence[str], *, env: dict[str, str]) -> Child:
        LOGS.mkdir(parents=True, exist_ok=True)
        log_path = LOGS / f"{name}.log"
        log = log_path.open("wb")
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Own session: Ctrl-C reaches the demo only, which stops the
            # worker before the server it talks to.
            start_new_session=True,
        )
        return cls(name, log_path, process, log)

    def died(self) -> StackFailed:
        return StackFailed(
            f"the {self.name} exited early (code {self.process.returncode}); "
            f"last lines of {self.log_path.relative_to(ROOT)}:\n{self.tail()}"
        )

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        self.log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(f"    {line}" for line in text) or "    (empty)"

    def stop(self, timeout: float) -> None:
        """SIGTERM, wait, then SIGKILL if it would not go."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"  the {self.name} did not stop in {timeout:g}s: killing it", flush=True)
                self.process.kill()
                self.process.wait()
        self.log.close()


def _listening(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _binary(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    raise StackFailed(
        f"{name} not found next to {sys.executable}: install the project with "
        "its [local] extra (`make venv` does)"
    )


def _port(variable: str, default: int) -> int:
    value = os.environ.get(variable) or str(default)
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise StackFailed(f"{variable}={value!r} is not a port number")
    return int(value)


@dataclass(frozen=True)
class DemoConfig:
    port: int
    ui_port: int
    database_url: str
    task_queue: str

    @classmethod
    def from_env(cls) -> DemoConfig:
        return cls(
            port=_port("UNBIND_TEMPORAL_PORT", DEFAULT_PORT),
            ui_port=_port("UNBIND_TEMPORAL_UI_PORT", DEFAULT_UI_PORT),
            database_url=os.environ.get("UNBIND_DATABASE_URL") or f"sqlite:///{VAR / 'unbind.db'}",
            task_queue=task_queue_from_env(),
        )

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{HOST}:{self.ui_port}/namespaces/{NAMESPACE}/workflows"

    def child_env(self) -> dict[str, str]:
        """The worker's environment: this demo's server and nothing else, even
        when the shell is configured for another cluster (profile, API key, TLS)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
        env.update(
            TEMPORAL_ADDRESS=self.address,
            TEMPORAL_NAMESPACE=NAMESPACE,
            TEMPORAL_CONFIG_FILE=os.devnull,
            UNBIND_DATABASE_URL=self.database_url,
            UNBIND_TASK_QUEUE=self.task_queue,
            PYTHONUNBUFFERED="1",
        )
        return env


class Stack:
    """The dev server (unless one already listens) and the worker."""

    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self.server: Child | None = None
        self.worker: Child | None = None
        self.reused_server = False

    @property
    def children(self) -> list[Child]:
        return [child for child in (self.worker, self.server) if child is not None]

    async def start(self) -> Client:
        client = await self._start_server()
        await _register_search_attributes(client)
        self.worker = Child.start(
            "worker", [sys.executable, "worker.py"], env=self.config.child_env()
        )
        await self._wait_for_worker(client, self.worker)
        return client

    async def _start_server(self) -> Client:
        address = self.config.address
        if _listening(HOST, self.config.port):
            self.reused_server = True
            print(f"Temporal is already listening on {address}: using it.", flush=True)
            try:
                return await asyncio.wait_for(_connect(address), 10)
            except Exception as error:
                raise StackFailed(
                    f"something listens on {address} but it is not a Temporal server "
                    f"this demo can use ({error}); stop it or set UNBIND_TEMPORAL_PORT"
                ) from error
        VAR.mkdir(parents=True, exist_ok=True)
        args = [
            _binary("temporal"),
            "server",
            "start-dev",
            "--ip",
            HOST,
            "--port",
            str(self.config.port),
            "--ui-port",
            str(self.config.ui_port),
            "--db-filename",
            str(VAR / "temporal.db"),
            "--log-level",
            "error",
            *dev_server_flags(),
        ]
        print(f"Starting the Temporal dev server on {address} (state in var/)…", flush=True)
        self.server = Child.start("temporal", args, env=dict(os.environ))
        loop = asyncio.get_running_loop()
        give_up = loop.time() + SERVER_START_TIMEOUT
        while True:
            if self.server.process.poll() is not None:
                raise self.server.died()
            if _listening(HOST, self.config.port):
                with contextlib.suppress(Exception):
                    return await asyncio.wait_for(_connect(address), 5)
            if loop.time() > give_up:
                raise StackFailed(
                    f"the Temporal dev server did not accept connections within "
                    f"{SERVER_START_TIMEOUT:g}s; last lines of its log:\n{self.server.tail()}"
                )
            await asyncio.sleep(0.25)

    async def _wait_for_worker(self, client: Client, worker: Child) -> None:
        """Until this worker process polls the queue: a poller with its default
        identity (pid@host), or any poller seen since it started (a previous
        worker's pollers linger in the list for a while)."""
        print("Starting the worker (python worker.py)…", flush=True)
        identity = f"{worker.process.pid}@{socket.gethostname()}"
        started = worker.started_at
        request = DescribeTaskQueueRequest(
            namespace=NAMESPACE,
            task_queue=TaskQueue(name=self.config.task_queue),
            task_queue_type=TaskQueueTypeProto.TASK_QUEUE_TYPE_WORKFLOW,
        )
        loop = asyncio.get_running_loop()
        give_up = loop.time() + WORKER_START_TIMEOUT
        while True:
            if worker.process.poll() is not None:
                raise worker.died()
            described = await client.workflow_service.describe_task_queue(request)
            if any(
                poller.identity == identity or poller.last_access_time.ToSeconds() > started
                for poller in described.pollers
            ):
                return
            if loop.time() > give_up:
                raise StackFailed(
                    f"the worker did not poll task queue {self.config.task_queue!r} within "
                    f"{WORKER_START_TIMEOUT:g}s; last lines of its log:\n{worker.tail()}"
                )
            await asyncio.sleep(0.25)

    async def watch(self) -> None:
        """Returns never; raises as soon as a child process has died."""
        while True:
            for child in self.children:
                if child.process.poll() is not None:
                    raise child.died()
            await asyncio.sleep(0.5)

    def stop(self) -> None:
        """The worker first (it finishes running activities), then the server."""
        if self.worker is not None:
            print("Stopping the worker…", flush=True)
            self.worker.stop(WORKER_STOP_TIMEOUT)
        if self.server is not None:
            print("Stopping the Temporal dev server…", flush=True)
            self.server.stop(SERVER_STOP_TIMEOUT)


async def _connect(address: str) -> Client:
    return await Client.connect(
        address, namespace=NAMESPACE, data_converter=pydantic_data_converter
    )


async def _register_search_attributes(client: Client) -> None:
    """A server started here got them as flags; one reused may lack them."""
    known = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=NAMESPACE)
    )
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in sa.ALL
        if key.name not in known.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=NAMESPACE, search_attributes=missing)
        )


# ---- the demo --------------------------------------------------------------------


async def _until_stopped(work: Awaitable[Any], stack: Stack, stop: asyncio.Event) -> Any:
    """``work``'s result, unless a child dies (StackFailed) or a stop arrives (Stopped)."""
    tasks = {
        "work": asyncio.ensure_future(work),
        "watch": asyncio.ensure_future(stack.watch()),
        "stop": asyncio.ensure_future(stop.wait()),
    }
    await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_COMPLETED)
    for task in tasks.values():
        task.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    if tasks["watch"].done() and not tasks["watch"].cancelled():
        tasks["watch"].result()
    if tasks["work"].done() and not tasks["work"].cancelled():
        return tasks["work"].result()
    raise Stopped()


async def _forever() -> None:
    await asyncio.Event().wait()


def _report(outcomes: Sequence[Outcome], config: DemoConfig, *, reused: bool) -> None:
    print()
    print(render_table(outcomes))
    ui_note = "  (this server was already running: its UI may be elsewhere)" if reused else ""
    print()
    print(f"Web UI:      {config.ui_url}{ui_note}")
    print(f'List query:  UnbindStatus="{S.AWAITING_REMEDIATION}"')
    waiting = [o for o in outcomes if o.ok and o.next_command]
    if waiting:
        # The CLI reads the same defaults the demo used, unless the port moved.
        unbind = ".venv/bin/"
        if config.port != DEFAULT_PORT:
            unbind = f"TEMPORAL_ADDRESS={config.address} {unbind}"
        print()
        print("Left open on purpose, so the Web UI shows work in progress; take it further with:")
        for outcome in waiting:
            command = (outcome.next_command or "").replace("unbind ", f"{unbind}unbind ")
            print(f"  {workflow_id_for(outcome.customer)} ({outcome.status}):")
            print(f"    {command}")
    failed = [o for o in outcomes if not o.ok]
    if failed:
        print()
        print(f"{len(failed)} scenario(s) did not reach the expected status: see var/logs/.")
    sys.stdout.flush()


def _quiet_interrupted_updates(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """An update cut short by Ctrl-C ends in this error inside a task nobody
    awaits any more; it is the interruption itself, not news."""
    if isinstance(context.get("exception"), WorkflowUpdateRPCTimeoutOrCancelledError):
        return
    loop.default_exception_handler(context)


async def run_demo(*, once: bool) -> int:
    config = DemoConfig.from_env()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.set_exception_handler(_quiet_interrupted_updates)
    stack = Stack(config)
    try:
        temporal = await _until_stopped(stack.start(), stack, stop)
        ledger = SqlPartnerCenter(config.database_url)
        try:
            partners = DemoPartners.seed(ledger)
            print(f"Seeded the demo ledger in {ledger.url}.", flush=True)
            print("Playing the scenarios…", flush=True)
            client = UnbindingClient(temporal, task_queue=config.task_queue)
            scenarios = Scenarios(client, ledger, partners, uins=fresh_uins())
            outcomes: list[Outcome] = await _until_stopped(scenarios.play(), stack, stop)
        finally:
            ledger.dispose()
        _report(outcomes, config, reused=stack.reused_server)
        code = 0 if all(o.ok for o in outcomes) else EXIT_MISMATCH
        if not once:
            print("\nThe stack stays up for the Web UI. Press Ctrl-C to stop it.", flush=True)
            with contextlib.suppress(Stopped):
                await _until_stopped(_forever(), stack, stop)
        return code
    except StackFailed as error:
        print(f"\ndemo: {error}", file=sys.stderr, flush=True)
        return EXIT_STACK
    except Stopped:
        print("\ndemo: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    finally:
        stack.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m starter.demo",
        description="Start the local stack and play the unbinding scenarios.",
    )
    parser.add_argument(
        "--once", action="store_true", help="stop everything right after the scenarios"
    )
    args = parser.parse_args(argv)
    code = asyncio.run(run_demo(once=args.once))
    # temporalio/sdk-python#300: the core's threads can crash interpreter
    # shutdown after all work is done; leave without running finalizers.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
