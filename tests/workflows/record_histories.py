"""Records one history per path of the process as replay fixtures:

    python -m tests.workflows.record_histories

Re-record only when a change is meant to be incompatible with applications in
flight (see README, "Changing workflow code safely"); otherwise the old
fixtures must keep replaying.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle

from activities.sql import SqlPartnerCenter
from starter.devstack.sdk_servers import time_skipping_environment
from tests.conftest import Ledger, running_worker
from tests.workflows.scenarios import act, reach, submit
from workflows.model import ActionKind, UnbindStatus

S = UnbindStatus
HISTORIES = Path(__file__).parent / "histories"

Path_ = Callable[[Client, str, Ledger], Awaitable[WorkflowHandle[Any, Any]]]


async def direct_happy_path(client: Client, tq: str, ledger: Ledger) -> WorkflowHandle[Any, Any]:
    parties = ledger.direct()
    handle = await reach(client, tq, ledger.pc, parties, S.PENDING_CUSTOMER_CONFIRMATION)
    await act(handle, ActionKind.CONFIRM, parties.customer)
    return handle


async def second_level_with_card_binding(
    client: Client, tq: str, ledger: Ledger
) -> WorkflowHandle[Any, Any]:
    parties = ledger.second_level(card=False)
    handle = await reach(client, tq, ledger.pc, parties, S.PENDING_DISTRIBUTOR_REVIEW)
    assert parties.distributor is not None
    await act(handle, ActionKind.REVIEW, parties.distributor, approve=True)
    await act(handle, ActionKind.CONFIRM, parties.customer)
    await act(handle, ActionKind.CARD_BOUND, parties.customer)  # refused: no card yet
    ledger.pc.set_account(parties.customer, card_bound=True)
    await act(handle, ActionKind.CARD_BOUND, parties.customer)
    return handle


async def distributor_rejects(client: Client, tq: str, ledger: Ledger) -> WorkflowHandle[Any, Any]:
    parties = ledger.second_level()
    handle = await reach(client, tq, ledger.pc, parties, S.PENDING_DISTRIBUTOR_REVIEW)
    assert parties.distributor is not None
    await act(handle, ActionKind.REVIEW, parties.distributor, approve=False, reason="contract")
    return handle


async def customer_rejects(client: Client, tq: str, ledger: Ledger) -> WorkflowHandle[Any, Any]:
    parties = ledger.direct()
    handle = await reach(client, tq, ledger.pc, parties, S.PENDING_CUSTOMER_CONFIRMATION)
    await act(handle, ActionKind.REJECT, parties.customer, reason="not agreed")
    return handle


async def precheck_fails(client: Client, tq: str, ledger: Ledger) -> WorkflowHandle[Any, Any]:
    parties = ledger.direct()
    ledger.pc.set_account(parties.customer, frozen=True, credit_cents=-100)
    handle, _ = await submit(client, tq, parties)
    return handle


async def remediation_then_recheck(
    client: Client, tq: str, ledger: Ledger
) -> WorkflowHandle[Any, Any]:
    parties = ledger.direct()
    handle = await reach(client, tq, ledger.pc, parties, S.AWAITING_REMEDIATION)
    ledger.pc.set_account(parties.customer, frozen=False)
    await act(handle, ActionKind.RECHECK, "operator:alice")
    return handle


async def withdrawn(client: Client, tq: str, ledger: Ledger) -> WorkflowHandle[Any, Any]:
    parties = ledger.direct(card=False)
    handle = await reach(client, tq, ledger.pc, parties, S.PENDING_CARD_BINDING)
    await act(handle, ActionKind.WITHDRAW, parties.reseller, reason="changed plans")
    return handle


async def cancelled(client: Client, tq: str, ledger: Ledger) -> WorkflowHandle[Any, Any]:
    parties = ledger.direct()
    handle = await reach(client, tq, ledger.pc, parties, S.PENDING_CUSTOMER_CONFIRMATION)
    await handle.cancel()
    return handle


async def expired_with_reminders(
    client: Client, tq: str, ledger: Ledger
) -> WorkflowHandle[Any, Any]:
    parties = ledger.direct()
    return await reach(client, tq, ledger.pc, parties, S.PENDING_CUSTOMER_CONFIRMATION)


PATHS: list[Path_] = [
    direct_happy_path,
    second_level_with_card_binding,
    distributor_rejects,
    customer_rejects,
    precheck_fails,
    remediation_then_recheck,
    withdrawn,
    cancelled,
    expired_with_reminders,
]


async def main() -> None:
    HISTORIES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(16) as executor:
        pc = SqlPartnerCenter(f"sqlite:///{tmp}/pc.db")
        async with (
            time_skipping_environment() as env,
            running_worker(env.client, pc, executor) as worker,
        ):
            for path in PATHS:
                handle = await path(env.client, worker.task_queue, Ledger(pc))
                outcome = await handle.result()
                history = await handle.fetch_history()
                target = HISTORIES / f"{path.__name__}.json"
                target.write_text(history.to_json())
                print(f"{path.__name__}: {outcome.status} -> {target}")
        pc.dispose()


if __name__ == "__main__":
    asyncio.run(main())
