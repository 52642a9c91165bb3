"""Is the worker healthy? Liveness (the process runs and answers) and
readiness (its pollers poll the task queue, and the database answers), as
checks that each say what to do when they fail.

The worker serves them over HTTP at ``UNBIND_HEALTH_ADDRESS`` (``/healthz``,
``/readyz``: JSON naming each check; 200 or 503); ``unbind health`` runs the
same checks from outside, or asks a worker's ``/readyz`` (``--endpoint``),
and exits 0 (healthy) or 3 (not).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from starter.database import reason_of
from starter.errors import BadConfiguration
from workflows.texts import one_line

HEALTH_ADDRESS_VARIABLE = "UNBIND_HEALTH_ADDRESS"
ANSWER_WITHIN = timedelta(seconds=5)
"""How long one check may wait for Temporal or the database; a health check
that hangs is itself a failure."""
POLLER_SEEN_WITHIN = timedelta(seconds=90)
"""A worker's long poll is renewed at least every ~70 s while it runs; a
poller the server last saw longer ago than this has stopped."""
UNHEALTHY_EXIT = 3


@dataclass(frozen=True)
class Check:
    """One named check: whether it passed, what was seen, and (failed) the fix."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Health:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else UNHEALTHY_EXIT

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [asdict(check) for check in self.checks]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Health:
        return cls(tuple(Check(**check) for check in data["checks"]))

    def lines(self) -> Iterable[str]:
        """``ok   name: detail`` per check, and the fix under a failed one
        (the texts may come from a server or a driver: one line each)."""
        for check in self.checks:
            yield f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {one_line(check.detail)}"
            if not check.ok and check.fix:
                yield f"     fix: {one_line(check.fix)}"


# ---- the task queue's pollers --------------------------------------------------

_QUEUE_KINDS = {
    "workflow": TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    "activity": TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
}

_ASK_AGAIN = {
    RPCStatusCode.CANCELLED,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.UNAVAILABLE,
}


async def polling_identities(
    client: Client, task_queue: str, *, kinds: Iterable[str] = ("workflow",)
) -> dict[str, set[str]]:
    """The identities the server saw poll ``task_queue`` recently, per kind
    of task (``workflow``, ``activity``)."""
    seen_since = datetime.now(UTC) - POLLER_SEEN_WITHIN
    found: dict[str, set[str]] = {}
    for kind in kinds:
        request = DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=_QUEUE_KINDS[kind],
        )
        try:
            described = await client.workflow_service.describe_task_queue(
                request, timeout=ANSWER_WITHIN
            )
        except RPCError as error:
            # A busy server sometimes drops one describe ("operation was
            # canceled"); asked once more before the worker is called unready.
            if error.status not in _ASK_AGAIN:
                raise
            described = await client.workflow_service.describe_task_queue(
                request, timeout=ANSWER_WITHIN
            )
        found[kind] = {
            poller.identity
            for poller in described.pollers
            if poller.last_access_time.ToDatetime(tzinfo=UTC) >= seen_since
        }
    return found


def start_a_worker(task_queue: str) -> str:
    return (
        f"start a worker on task queue {task_queue!r}: `make worker` (python worker.py) with "
        "the same TEMPORAL_* settings and UNBIND_TASK_QUEUE"
    )


async def pollers_check(client: Client, task_queue: str, *, identity: str | None = None) -> Check:
    """Workflow and activity pollers on ``task_queue``: any worker's, or the
    one with ``identity``."""
    who = f"worker {identity}" if identity else "a worker"
    try:
        seen = await polling_identities(client, task_queue, kinds=_QUEUE_KINDS)
    except Exception as error:
        return Check(
            "pollers",
            False,
            f"cannot describe task queue {task_queue!r}: {_first_line(error)}",
            "check that Temporal answers (the temporal check) and that this namespace exists",
        )
    missing = [kind for kind, identities in seen.items() if not _includes(identities, identity)]
    if missing:
        return Check(
            "pollers",
            False,
            f"no {' or '.join(missing)} task poller from {who} on task queue {task_queue!r}",
            start_a_worker(task_queue) if identity is None else "restart the worker; see its log",
        )
    return Check("pollers", True, f"{who} polls task queue {task_queue!r}")


def _includes(identities: set[str], identity: str | None) -> bool:
    return identity in identities if identity else bool(identities)


# ---- the database --------------------------------------------------------------


async def database_check(ping: Callable[[], None], where: str) -> Check:
    """``ping`` (a blocking ``SELECT 1``) on a thread, within ANSWER_WITHIN."""
    try:
        await asyncio.wait_for(asyncio.to_thread(ping), ANSWER_WITHIN.total_seconds())
    except TimeoutError:
        reason = f"no answer within {ANSWER_WITHIN.total_seconds():g} s"
    except Exception as error:
        reason = reason_of(error)
    else:
        return Check("database", True, f"{where} answers")
    return Check(
        "database",
        False,
        f"{where} does not answer: {reason}",
        "start the database, or fix UNBIND_DATABASE_URL",
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# ---- the worker's own view -----------------------------------------------------


def worker_identity(worker: Worker) -> str:
    return worker.config().get("identity") or worker.client.identity


async def worker_readiness(worker: Worker, ping: Callable[[], None], where: str) -> Health:
    """Ready: the SDK worker runs, the server sees its identity poll both
    kinds of task, and the database answers."""
    running = Check(
        "worker",
        worker.is_running,
        "running" if worker.is_running else "not running (starting, or shutting down)",
        "wait for it to start; if it stays so, restart it and read its log",
    )
    checks = await asyncio.gather(
        pollers_check(worker.client, worker.task_queue, identity=worker_identity(worker)),
        database_check(ping, where),
    )
    return Health((running, *checks))


LIVE = Health((Check("process", True, "running and answering"),))


# ---- the HTTP endpoint ---------------------------------------------------------


def health_address_from_env() -> tuple[str, int] | None:
    """``UNBIND_HEALTH_ADDRESS`` (``HOST:PORT``) as a pair; None when unset."""
    given = os.environ.get(HEALTH_ADDRESS_VARIABLE, "").strip()
    if not given:
        return None
    host, _, port = given.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadConfiguration(
            HEALTH_ADDRESS_VARIABLE,
            f"must be HOST:PORT, e.g. 127.0.0.1:8081 (got {given[:40]!r})",
        )
    return host.strip("[]"), int(port)


MAX_REQUEST_HEAD = 8192


async def serve_health(
    host: str, port: int, *, readiness: Callable[[], Awaitable[Health]]
) -> asyncio.Server:
    """``GET /healthz`` (live) and ``GET /readyz`` (``readiness()``), each a
    JSON :class:`Health`, 200 when it passes and 503 when not."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            parts = head[:MAX_REQUEST_HEAD].split(b"\r\n", 1)[0].split()
            path = parts[1].decode(errors="replace").split("?")[0] if len(parts) > 1 else ""
            if path == "/healthz":
                health: Health | None = LIVE
            elif path == "/readyz":
                health = await readiness()
            else:
                health = None
            if health is None:
                status, body = "404 Not Found", {"error": "use /healthz or /readyz"}
            else:
                status = "200 OK" if health.ok else "503 Service Unavailable"
                body = health.as_json()
            payload = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a client that hung up or sent no request gets nothing
        finally:
            writer.close()

    return await asyncio.start_server(answer, host, port, limit=MAX_REQUEST_HEAD)
