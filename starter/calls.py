"""What every call of the client API shares: one Temporal client, the task
queue the worker polls, and how long to wait for the workflow's answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from starter.errors import Unreachable, describe_duration
from starter.health import polling_identities, start_a_worker
from workflows.contract import DEFAULT_TASK_QUEUE

DEFAULT_ANSWER_TIMEOUT = timedelta(seconds=30)
"""How long to wait for the workflow to answer an update or query. A worker
answers in well under a second; silence this long means none is polling."""
ASK_FOR_POLLERS_AFTER = timedelta(seconds=2)
"""A call not answered by then makes us ask the server whether any worker
polls the task queue; when none does, the caller hears so at once."""
TRUST_POLLERS_SEEN_FOR = timedelta(seconds=5)
"""A worker seen polling is not asked about again for this long: under load
many calls are late at once, and one question answers them all."""

_T = TypeVar("_T")


class TemporalCalls:
    """A Temporal client with the task queue and the answer timeout; turns
    silence and RPC failures into :class:`~starter.errors.Unreachable`."""

    def __init__(
        self,
        client: Client,
        *,
        task_queue: str = DEFAULT_TASK_QUEUE,
        answer_timeout: timedelta = DEFAULT_ANSWER_TIMEOUT,
    ) -> None:
        self._client = client
        self.task_queue = task_queue
        self.answer_timeout = answer_timeout
        self._pollers_seen_until = 0.0

    @property
    def temporal(self) -> Client:
        """The underlying Temporal client, for anything this API does not cover."""
        return self._client

    async def _answer(self, call: Awaitable[_T], *, waiting_for: str) -> _T:
        """Await a call a worker must answer. Late, it asks the server for the
        task queue's pollers and stops waiting if there are none; silence
        until ``answer_timeout`` means no worker is polling, or a busy one."""
        answer = asyncio.ensure_future(call)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.answer_timeout.total_seconds()
        try:
            first_wait = min(ASK_FOR_POLLERS_AFTER, self.answer_timeout).total_seconds()
            done, _ = await asyncio.wait({answer}, timeout=first_wait)
            if not done and not await self._anyone_polls():
                raise Unreachable(
                    f"no answer for {waiting_for}: no worker is polling task queue "
                    f"{self.task_queue!r}; {start_a_worker(self.task_queue)}."
                )
            return await asyncio.wait_for(answer, max(0.0, give_up - loop.time()))
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            raise Unreachable(
                f"no answer for {waiting_for} within {describe_duration(self.answer_timeout)}: "
                f"no worker is polling task queue {self.task_queue!r}, or the application "
                "is still busy."
            ) from None
        finally:
            if not answer.done():
                answer.cancel()
                # The SDK may end a cancelled call with its own error instead.
                answer.add_done_callback(_retrieve_outcome)

    async def _anyone_polls(self) -> bool:
        """Whether the server saw a worker poll our task queue lately (True
        when it cannot tell: then we keep waiting for the answer)."""
        now = asyncio.get_running_loop().time()
        if now < self._pollers_seen_until:
            return True
        try:
            seen = await polling_identities(self._client, self.task_queue)
        except Exception:
            return True
        if seen["workflow"]:
            self._pollers_seen_until = now + TRUST_POLLERS_SEEN_FOR.total_seconds()
        return bool(seen["workflow"])

    @contextmanager
    def _temporal_errors(self) -> Iterator[None]:
        """Any RPC failure not handled as a business answer means Temporal
        cannot serve us (down, misconfigured, unauthorized)."""
        try:
            yield
        except RPCError as error:
            address = self._client.service_client.config.target_host
            raise Unreachable(f"Temporal at {address}: {error.message}") from error


def no_such_workflow(error: RPCError) -> bool:
    """NOT_FOUND about the workflow, an answer; not about the namespace, which
    is Temporal misconfigured (``TEMPORAL_NAMESPACE``) and cannot serve us."""
    if error.status != RPCStatusCode.NOT_FOUND:
        return False
    details = error.grpc_status.details
    return not any(d.type_url.endswith("NamespaceNotFoundFailure") for d in details)


def _retrieve_outcome(task: asyncio.Future[Any]) -> None:
    """Mark an abandoned call's outcome as seen, so asyncio does not report it."""
    if not task.cancelled():
        task.exception()
