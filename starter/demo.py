"""``python -m starter.demo [--once]``: the whole stack on one machine, and the
process played through end to end.

Starts a Temporal dev server with its state under ``var/`` (or reuses one that
already listens on the port), starts ``python worker.py`` and the HTTP API
(``python -m starter.api``, development tokens), seeds the demo ledger, plays
the scenarios through :class:`~starter.client.UnbindingClient`,
prints what happened, and keeps the stack up for the Web UI until Ctrl-C.
With ``--once`` it stops what it started right after the table.

Every run creates fresh customers under the seeded partners, so it works again
on the persisted state: a completed unbinding leaves its customer unbound.

Payloads are encrypted (``starter.payload_codec``) with ``UNBIND_PAYLOAD_KEYS``
or a demo key kept in ``var/demo-payload-keys``, and the Web UI decodes them
through the codec server (``python -m starter.codec_server``) it starts.

Environment: ``UNBIND_TEMPORAL_PORT`` (7233), ``UNBIND_TEMPORAL_UI_PORT``
(8233), ``UNBIND_API_PORT`` (8000) and ``UNBIND_CODEC_PORT`` (8081) on 127.0.0.1,
``UNBIND_DATABASE_URL`` (``sqlite:///var/unbind.db``),
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
import sys
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.connection import task_queue_from_env
from starter.demo_api import demo_key_dir, report_api, start_api, walkthrough_customer
from starter.demo_scenarios import DemoPartners, Outcome, Scenarios, fresh_uins, render_table
from starter.devstack.api_process import ApiProcess, api_url
from starter.devstack.codec_process import CodecServerProcess, demo_payload_keys
from starter.devstack.database import migrated
from starter.devstack.environment import NAMESPACE
from starter.devstack.ports import HOST, listening, port_from_env
from starter.devstack.process import ROOT, ChildProcess, StackFailed
from starter.devstack.server import DevServer, connect, register_search_attributes
from starter.devstack.worker_process import WorkerProcess
from starter.errors import BadConfiguration
from starter.payload_codec import KEYS_VARIABLE, parse_payload_keys
from workflows.contract import workflow_id_for
from workflows.model import UnbindStatus

VAR = ROOT / "var"
LOGS = VAR / "logs"

DEFAULT_PORT = 7233
DEFAULT_UI_PORT = 8233
DEFAULT_API_PORT = 8000
DEFAULT_CODEC_PORT = 8081

SERVER_START_TIMEOUT = 30.0
"""Seconds for a new dev server to accept connections."""
WORKER_START_TIMEOUT = 30.0
"""Seconds for the worker to start polling its task queue."""
WORKER_STOP_TIMEOUT = 30.0
"""Seconds for the worker to finish running activities (it allows itself 20)."""
SERVER_STOP_TIMEOUT = 15.0

EXIT_MISMATCH = 1
EXIT_CONFIGURATION = 2
EXIT_STACK = 3
EXIT_INTERRUPTED = 130


class Stopped(Exception):
    """Ctrl-C or SIGTERM arrived."""


@dataclass(frozen=True)
class DemoConfig:
    port: int
    ui_port: int
    api_port: int
    database_url: str
    task_queue: str
    codec_port: int
    payload_keys: str
    demo_keys: bool
    """The keys are the demo's own (var/demo-payload-keys), not the caller's."""

    @classmethod
    def from_env(cls) -> DemoConfig:
        given = os.environ.get(KEYS_VARIABLE, "").strip()
        payload_keys = given or demo_payload_keys(VAR)
        parse_payload_keys(payload_keys)  # a malformed value is the operator's to fix
        return cls(
            port=port_from_env("UNBIND_TEMPORAL_PORT", DEFAULT_PORT),
            ui_port=port_from_env("UNBIND_TEMPORAL_UI_PORT", DEFAULT_UI_PORT),
            api_port=port_from_env("UNBIND_API_PORT", DEFAULT_API_PORT),
            database_url=os.environ.get("UNBIND_DATABASE_URL") or f"sqlite:///{VAR / 'unbind.db'}",
            task_queue=task_queue_from_env(),
            codec_port=port_from_env("UNBIND_CODEC_PORT", DEFAULT_CODEC_PORT),
            payload_keys=payload_keys,
            demo_keys=not given,
        )

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{HOST}:{self.ui_port}/namespaces/{NAMESPACE}/workflows"


class Stack:
    """The dev server (unless one already listens), the worker and the API
    (unless one already answers)."""

    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self.server: DevServer | None = None
        self.worker: WorkerProcess | None = None
        self.api: ApiProcess | None = None
        self.codec: CodecServerProcess | None = None
        self.reused_server = False

    @property
    def children(self) -> list[ChildProcess]:
        children = (self.api, self.worker, self.server, self.codec)
        return [child for child in children if child is not None]

    async def start(self) -> Client:
        print("Migrating the partner-center database (unbind db upgrade)…", flush=True)
        migrated(self.config.database_url)
        # The demo's own clients seal payloads as the worker and the API do.
        os.environ[KEYS_VARIABLE] = self.config.payload_keys
        await self._start_codec_server()
        client = await self._start_server()
        await register_search_attributes(client)
        print("Starting the worker (python worker.py)…", flush=True)
        self.worker = WorkerProcess(
            address=self.config.address,
            task_queue=self.config.task_queue,
            database_url=self.config.database_url,
            payload_keys=self.config.payload_keys,
            log_path=LOGS / "worker.log",
        )
        await self.worker.start_polling(client, within=WORKER_START_TIMEOUT)
        await self._start_api()
        return client

    async def _start_api(self) -> None:
        api = ApiProcess(
            address=self.config.address,
            task_queue=self.config.task_queue,
            database_url=self.config.database_url,
            payload_keys=self.config.payload_keys,
            port=self.config.api_port,
            key_dir=demo_key_dir(VAR),
            log_path=LOGS / "api.log",
            web_ui_url=f"http://{HOST}:{self.config.ui_port}",
        )
        self.api = await start_api(api, within=WORKER_START_TIMEOUT)

    async def _start_codec_server(self) -> None:
        print("Starting the codec server (python -m starter.codec_server)…", flush=True)
        self.codec = CodecServerProcess(
            payload_keys=self.config.payload_keys,
            port=self.config.codec_port,
            ui_origin=f"http://{HOST}:{self.config.ui_port}",
            log_path=LOGS / "codec-server.log",
        )
        await self.codec.start_serving(within=WORKER_START_TIMEOUT)

    async def _start_server(self) -> Client:
        address = self.config.address
        if listening(self.config.port):
            self.reused_server = True
            print(f"Temporal is already listening on {address}: using it.", flush=True)
            try:
                return await asyncio.wait_for(connect(address), 10)
            except Exception as error:
                raise StackFailed(
                    f"something listens on {address} but it is not a Temporal server "
                    f"this demo can use ({error}); stop it or set UNBIND_TEMPORAL_PORT"
                ) from error
        print(f"Starting the Temporal dev server on {address} (state in var/)…", flush=True)
        self.server = DevServer(
            db_file=VAR / "temporal.db",
            log_path=LOGS / "temporal.log",
            port=self.config.port,
            ui_port=self.config.ui_port,
            ui_codec_endpoint=self.codec.url if self.codec else None,
        )
        return await self.server.start_serving(within=SERVER_START_TIMEOUT)

    async def watch(self) -> None:
        """Returns never; raises as soon as a child process has died."""
        while True:
            for child in self.children:
                if not child.running:
                    raise child.died()
            await asyncio.sleep(0.5)

    def stop(self) -> None:
        """The API, the worker (it finishes running activities), then the server."""
        for child, timeout in (
            (self.api, SERVER_STOP_TIMEOUT),
            (self.worker, WORKER_STOP_TIMEOUT),
            (self.server, SERVER_STOP_TIMEOUT),
            (self.codec, SERVER_STOP_TIMEOUT),
        ):
            if child is None:
                continue
            print(f"Stopping the {child.name}…", flush=True)
            child.stop(timeout)
            if child.forced_stops:
                print(f"  the {child.name} did not stop in {timeout:g}s: killed it", flush=True)


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
    print(f"Payloads:    encrypted; the Web UI decodes them via http://{HOST}:{config.codec_port}")
    print(f'List query:  UnbindStatus="{UnbindStatus.AWAITING_REMEDIATION}"')
    waiting = [o for o in outcomes if o.ok and o.next_command]
    if waiting:
        # The CLI reads the same defaults the demo used, unless the port moved.
        unbind = ".venv/bin/"
        if config.demo_keys:  # the CLI reads the encrypted payloads with the demo's key
            unbind = f'{KEYS_VARIABLE}="$(cat var/demo-payload-keys)" {unbind}'
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
    try:
        config = DemoConfig.from_env()
    except BadConfiguration as error:
        print(f"demo: {error.message}", file=sys.stderr, flush=True)
        return EXIT_CONFIGURATION
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
            uins = fresh_uins()
            scenarios = Scenarios(client, ledger, partners, uins=uins)
            outcomes: list[Outcome] = await _until_stopped(scenarios.play(), stack, stop)
            customer = walkthrough_customer(ledger, partners, uins)
        finally:
            ledger.dispose()
        _report(outcomes, config, reused=stack.reused_server)
        report_api(api_url(config.api_port), partners, customer, outcomes, var=VAR)
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
