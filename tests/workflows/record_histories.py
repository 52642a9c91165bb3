"""Records one history per path of the process as replay fixtures:

    python -m tests.workflows.record_histories [PATH ...]

Name the paths to record (the functions below) when adding one: the others'
fixtures stay as they were recorded. Re-record only when a change is meant to
be incompatible with applications in flight (see docs/DEVELOPING.md,
"Changing workflow code safely"); otherwise the old fixtures must keep replaying.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import tempfile
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.devstack.database import migrated
from starter.devstack.sdk_servers import dev_server_environment, time_skipping_environment
from starter.signing import signing
from tests.conftest import Ledger, Parties, eventually, running_worker
from tests.workflows.gates import GatedPartnerCenter
from tests.workflows.scenarios import SIGNALS, act, action, reach, status, submit
from tests.workflows.signing_keys import OLD, REQUIRED
from workflows.contract import workflow_id_for
from workflows.model import (
    ActionKind,
    CheckName,
    DeadlineActions,
    Deadlines,
    Effective,
    OnDeadline,
    Requester,
    UnbindingRecord,
    UnbindStatus,
)
from workflows.notice import CURRENT, Consent
from workflows.signing import Signer
from workflows.unbinding import UnbindingWorkflow

S = UnbindStatus
HISTORIES = Path(__file__).parent / "histories"

Path_ = Callable[[Client, str, Ledger], Awaitable[WorkflowHandle[Any, Any]]]
GatedPath = Callable[[Client, str, Ledger, GatedPartnerCenter], Awaitable[WorkflowHandle[Any, Any]]]


@dataclass(frozen=True)
class Reached:
    """A fresh application at the status its path's story begins from."""

    handle: WorkflowHandle[Any, Any]
    parties: Parties
    pc: SqlPartnerCenter


Story = Callable[[Reached], Awaitable[None]]


def starting_at(
    at: UnbindStatus, *, second_level: bool = False, card: bool = True
) -> Callable[[Story], Path_]:
    """The path whose story begins once a fresh application has reached
    status ``at``: a direct customer or a second-level one, with a card on file or not."""

    def path_of(story: Story) -> Path_:
        @functools.wraps(story)
        async def path(client: Client, tq: str, ledger: Ledger) -> WorkflowHandle[Any, Any]:
            parties = ledger.second_level(card=card) if second_level else ledger.direct(card=card)
            handle = await reach(client, tq, ledger.pc, parties, at)
            await story(Reached(handle, parties, ledger.pc))
            return handle

        return path

    return path_of


@starting_at(S.PENDING_CUSTOMER_CONFIRMATION)
async def direct_happy_path(app: Reached) -> None:
    await act(app.handle, ActionKind.CONFIRM, app.parties.customer)


@starting_at(S.PENDING_DISTRIBUTOR_REVIEW, second_level=True, card=False)
async def second_level_with_card_binding(app: Reached) -> None:
    customer, distributor = app.parties.customer, app.parties.distributor
    assert distributor is not None
    await act(app.handle, ActionKind.REVIEW, distributor, approve=True)
    await act(app.handle, ActionKind.CONFIRM, customer)
    await act(app.handle, ActionKind.CARD_BOUND, customer)  # refused: no card yet
    app.pc.set_account(customer, card_bound=True)
    await act(app.handle, ActionKind.CARD_BOUND, customer)


@starting_at(S.PENDING_DISTRIBUTOR_REVIEW, second_level=True)
async def distributor_rejects(app: Reached) -> None:
    assert app.parties.distributor is not None
    await act(
        app.handle, ActionKind.REVIEW, app.parties.distributor, approve=False, reason="contract"
    )


@starting_at(S.PENDING_CUSTOMER_CONFIRMATION)
async def customer_rejects(app: Reached) -> None:
    await act(app.handle, ActionKind.REJECT, app.parties.customer, reason="not agreed")


async def precheck_fails(client: Client, tq: str, ledger: Ledger) -> WorkflowHandle[Any, Any]:
    parties = ledger.direct()
    ledger.pc.set_account(parties.customer, frozen=True, credit_cents=-100)
    handle, _ = await submit(client, tq, parties)
    return handle


@starting_at(S.AWAITING_REMEDIATION)
async def remediation_then_recheck(app: Reached) -> None:
    app.pc.set_account(app.parties.customer, frozen=False)
    await act(app.handle, ActionKind.RECHECK, "operator:alice")


@starting_at(S.PENDING_CARD_BINDING, card=False)
async def withdrawn(app: Reached) -> None:
    await act(app.handle, ActionKind.WITHDRAW, app.parties.reseller, reason="changed plans")


@starting_at(S.PENDING_CUSTOMER_CONFIRMATION)
async def cancelled(app: Reached) -> None:
    await app.handle.cancel()


@starting_at(S.PENDING_CUSTOMER_CONFIRMATION)
async def expired_with_reminders(app: Reached) -> None:
    """Nobody answers: the reminders go out and the application expires."""


async def _customer_request(
    client: Client, tq: str, ledger: Ledger, *, second_level: bool = False, **on_deadline: Any
) -> tuple[WorkflowHandle[Any, Any], Parties]:
    """The customer's own request (issue 13, item 4), waiting for its reseller."""
    parties = ledger.second_level(card=False) if second_level else ledger.direct(card=False)
    deadlines = Deadlines(on_deadline=DeadlineActions(**on_deadline))
    handle, submitted = await submit(
        client, tq, parties, requested_by=Requester.CUSTOMER, deadlines=deadlines
    )
    assert submitted.status is S.PENDING_RESELLER_REVIEW, submitted
    return handle, parties


async def customer_request_approved(
    client: Client, tq: str, ledger: Ledger
) -> WorkflowHandle[Any, Any]:
    """The reseller approves; the customer binds a card; cut over."""
    handle, parties = await _customer_request(client, tq, ledger)
    await act(handle, ActionKind.RESELLER_REVIEW, parties.reseller, approve=True)
    ledger.pc.set_account(parties.customer, card_bound=True)
    await act(handle, ActionKind.CARD_BOUND, parties.customer)
    return handle


async def customer_request_rejected(
    client: Client, tq: str, ledger: Ledger
) -> WorkflowHandle[Any, Any]:
    handle, parties = await _customer_request(client, tq, ledger)
    await act(handle, ActionKind.RESELLER_REVIEW, parties.reseller, approve=False, reason="no")
    return handle


async def customer_request_expired(
    client: Client, tq: str, ledger: Ledger
) -> WorkflowHandle[Any, Any]:
    """The reseller's deadline set to expire: nobody reviews."""
    handle, _ = await _customer_request(client, tq, ledger, reseller_review=OnDeadline.EXPIRE)
    return handle


async def customer_request_approved_by_the_deadlines(
    client: Client, tq: str, ledger: Ledger
) -> WorkflowHandle[Any, Any]:
    """The reseller's deadline hands the review to the distributor, whose own
    deadline approves it; then the card never comes and that wait expires."""
    handle, _ = await _customer_request(
        client,
        tq,
        ledger,
        second_level=True,
        reseller_review=OnDeadline.DISTRIBUTOR,
        distributor_review=OnDeadline.APPROVE,
    )
    return handle


async def _confirmed_for_the_end_of_the_month(
    client: Client, tq: str, ledger: Ledger
) -> tuple[WorkflowHandle[Any, Any], Parties]:
    """Confirmed, with the cutover at the end of the billing month (issue 13, item 5)."""
    parties = ledger.direct()
    ledger.pc.add_discount(parties.customer, "Compute 20% off")
    ledger.pc.end_discount(parties.customer, "Compute 20% off")  # the notice's promise
    handle, _ = await submit(client, tq, parties, effective=Effective.END_OF_MONTH)
    confirmed = await act(handle, ActionKind.CONFIRM, parties.customer)
    assert confirmed.status is S.AWAITING_EFFECTIVE_DATE, confirmed
    return handle, parties


async def cutover_at_the_end_of_the_month(
    client: Client, tq: str, ledger: Ledger
) -> WorkflowHandle[Any, Any]:
    """The durable timer to the date, then the final check and the cutover."""
    handle, _ = await _confirmed_for_the_end_of_the_month(client, tq, ledger)
    return handle


async def withdrawn_before_the_effective_date(
    client: Client, tq: str, ledger: Ledger
) -> WorkflowHandle[Any, Any]:
    handle, parties = await _confirmed_for_the_end_of_the_month(client, tq, ledger)
    await act(handle, ActionKind.WITHDRAW, parties.reseller, reason="not yet")
    return handle


async def cancelled_before_the_effective_date(
    client: Client, tq: str, ledger: Ledger
) -> WorkflowHandle[Any, Any]:
    handle, _ = await _confirmed_for_the_end_of_the_month(client, tq, ledger)
    await handle.cancel()
    return handle


async def ending_with_a_pending_update(
    client: Client, tq: str, ledger: Ledger, gated: GatedPartnerCenter
) -> WorkflowHandle[Any, Any]:
    """An operator cancels while the card claim (an update) is being verified:
    the ending answers the claim, so the run closes."""
    parties = ledger.direct(card=False)
    handle = await reach(client, tq, ledger.pc, parties, S.PENDING_CARD_BINDING)
    ledger.pc.set_account(parties.customer, card_bound=True)
    verifying = gated.hold("check_card")
    claim = asyncio.create_task(
        handle.execute_update(
            UnbindingWorkflow.card_bound_update, action(ActionKind.CARD_BOUND, parties.customer)
        )
    )
    await verifying.entered()
    await handle.cancel()
    ended = await eventually(lambda: status(handle), lambda s: s.status is S.CANCELLED)
    assert ended.status is S.CANCELLED, ended.status
    verifying.release()
    answer = await claim
    assert answer.status is S.CANCELLED and not answer.accepted, answer
    return handle


async def decided_while_the_wait_was_announced(
    client: Client, tq: str, ledger: Ledger, gated: GatedPartnerCenter
) -> WorkflowHandle[Any, Any]:
    """The customer confirms while being asked to: the answer waits until the
    story has taken the confirmation, and carries the status after it."""
    parties = ledger.direct(card=False)
    asked = gated.hold("notify", when=lambda n: n.event == "confirmation_requested")
    submitting = asyncio.create_task(submit(client, tq, parties))
    await asked.entered()
    handle = client.get_workflow_handle_for(
        UnbindingWorkflow.run, workflow_id_for(parties.customer)
    )
    confirm = action(ActionKind.CONFIRM, parties.customer)
    answer = asyncio.create_task(handle.execute_update(UnbindingWorkflow.confirm_update, confirm))
    taken = await eventually(
        lambda: status(handle),
        lambda s: any(e.action_id == confirm.action_id for e in s.timeline),
    )
    assert any(e.action_id == confirm.action_id for e in taken.timeline), taken.timeline
    asked.release()
    await submitting
    assert (await answer).status is S.PENDING_CARD_BINDING
    await act(handle, ActionKind.WITHDRAW, parties.reseller)
    return handle


# Recorded with the card read again on confirmation
# (``workflow.patched("card-read-after-confirmation")``).


@starting_at(S.PENDING_CUSTOMER_CONFIRMATION)
async def card_read_again_on_confirmation(app: Reached) -> None:
    """A card on file at submission and still there when the customer confirms."""
    result = await act(app.handle, ActionKind.CONFIRM, app.parties.customer)
    assert result.status is S.COMPLETED, result


@starting_at(S.PENDING_CUSTOMER_CONFIRMATION)
async def card_removed_before_confirmation(app: Reached) -> None:
    """The card on file at submission is gone when the customer confirms: asked for again."""
    customer = app.parties.customer
    app.pc.set_account(customer, card_bound=False)
    result = await act(app.handle, ActionKind.CONFIRM, customer)
    assert result.status is S.PENDING_CARD_BINDING, result
    app.pc.set_account(customer, card_bound=True)
    await act(app.handle, ActionKind.CARD_BOUND, customer)


@starting_at(S.AWAITING_REMEDIATION)
async def card_removed_while_awaiting_remediation(app: Reached) -> None:
    """The final check fails (frozen), then fails on the card, then passes."""
    app.pc.set_account(app.parties.customer, frozen=False, card_bound=False)
    result = await act(app.handle, ActionKind.RECHECK, app.parties.reseller)
    assert result.status is S.AWAITING_REMEDIATION, result
    app.pc.set_account(app.parties.customer, card_bound=True)
    result = await act(app.handle, ActionKind.RECHECK, "operator:alice")
    assert result.status is S.COMPLETED, result


async def signed_confirmation(client: Client, tq: str, ledger: Ledger) -> WorkflowHandle[Any, Any]:
    """Under ``UNBIND_REQUIRE_SIGNED_ACTIONS=1``: the customer's own signal is
    refused; the API's confirmation and card claim, signed with the key ``old``
    (since rotated away), are accepted and name their principal."""
    parties = ledger.direct(card=False)
    handle = await reach(client, tq, ledger.pc, parties, S.PENDING_CUSTOMER_CONFIRMATION)
    await handle.signal(SIGNALS[ActionKind.CONFIRM], action(ActionKind.CONFIRM, parties.customer))  # type: ignore[arg-type]
    api = UnbindingClient(signing(client, Signer(OLD)), task_queue=tq)
    result = await api.confirm(parties.customer, actor=parties.customer, principal="sub-user-7")
    assert result.status is S.PENDING_CARD_BINDING, result
    ledger.pc.set_account(parties.customer, card_bound=True)
    result = await api.card_bound(parties.customer, actor=parties.customer, principal="sub-user-7")
    assert result.status is S.COMPLETED, result
    return handle


# Recorded with issue 13's notice checks, consent texts and quotas (no new
# commands: the checks travel in the check activities' answers, the texts'
# hashes in the actions, the start and the record).


async def notice_and_consents_recorded(
    client: Client, tq: str, ledger: Ledger
) -> WorkflowHandle[Any, Any]:
    """A versioned notice acknowledged, the distributor's and the customer's
    decisions on their texts, and a final check failed by an overdue bill, a
    discount and incomplete information, settled and rechecked."""
    parties = ledger.second_level()
    customer, distributor = parties.customer, parties.distributor
    assert distributor is not None
    handle, submitted = await submit(
        client,
        tq,
        parties,
        notice_version=CURRENT.version,
        notice_sha256=CURRENT.sha256(Consent.NOTICE),
    )
    assert submitted.accepted, submitted
    review = CURRENT.sha256(Consent.REVIEW)
    await act(handle, ActionKind.REVIEW, distributor, approve=True, text_sha256=review)
    ledger.pc.set_account(customer, overdue_bills=1, info_complete=False)
    ledger.pc.add_discount(customer, "Storage 10% off")
    confirmation = CURRENT.sha256(Consent.CONFIRMATION)
    waiting = await act(handle, ActionKind.CONFIRM, customer, text_sha256=confirmation)
    assert waiting.status is S.AWAITING_REMEDIATION, waiting
    ledger.pc.set_account(customer, overdue_bills=0, info_complete=True)
    ledger.pc.end_discount(customer, "Storage 10% off")
    done = await act(handle, ActionKind.RECHECK, parties.reseller)
    assert done.status is S.COMPLETED, done
    return handle


async def quota_refused(client: Client, tq: str, ledger: Ledger) -> WorkflowHandle[Any, Any]:
    """A fourth application for the customer within three months."""
    parties = ledger.direct()
    for n in range(3):
        ledger.pc.save_record(
            UnbindingRecord(
                application_id=f"earlier-{parties.customer}-{n}",
                workflow_id=workflow_id_for(parties.customer),
                revision=1,
                customer_uin=parties.customer,
                initiator_uin=parties.reseller,
                reseller_uin=parties.reseller,
                distributor_uin=None,
                status=S.CUSTOMER_REJECTED,
                submitted_at=datetime.now(UTC) - timedelta(days=10 * (n + 1)),
                notice_acknowledged_by=parties.reseller,
                notice_acknowledged_at=datetime.now(UTC),
                updated_at=datetime.now(UTC),
            )
        )
    handle, submitted = await submit(client, tq, parties)
    assert [c.check for c in submitted.failed_checks] == [
        CheckName.CUSTOMER_QUOTA,
        CheckName.PAIR_QUOTA,
    ], submitted
    return handle


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
    card_read_again_on_confirmation,
    card_removed_before_confirmation,
    card_removed_while_awaiting_remediation,
    notice_and_consents_recorded,
    quota_refused,
    customer_request_approved,
    customer_request_rejected,
    customer_request_expired,
    customer_request_approved_by_the_deadlines,
    cutover_at_the_end_of_the_month,
    withdrawn_before_the_effective_date,
    cancelled_before_the_effective_date,
]
GATED_PATHS: list[GatedPath] = [ending_with_a_pending_update, decided_while_the_wait_was_announced]
SIGNED_PATHS: list[Path_] = [signed_confirmation]
"""Recorded on the dev server (signatures expire in real time) by a worker
requiring signed actions."""


async def main(names: list[str]) -> None:
    """Record the paths named in ``names`` (function names), or all of them."""
    known = {path.__name__ for path in [*PATHS, *GATED_PATHS, *SIGNED_PATHS]}
    unknown = set(names) - known
    if unknown:
        raise SystemExit(f"no such path: {', '.join(sorted(unknown))} (known: {sorted(known)})")
    HISTORIES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(16) as executor:
        pc = SqlPartnerCenter(migrated(f"sqlite:///{tmp}/pc.db"))
        gated = GatedPartnerCenter(pc)
        async with (
            time_skipping_environment() as env,
            running_worker(env.client, gated, executor) as worker,  # type: ignore[arg-type]
        ):
            paths: list[tuple[str, Callable[[], Awaitable[WorkflowHandle[Any, Any]]]]] = [
                (p.__name__, lambda p=p: p(env.client, worker.task_queue, Ledger(pc)))
                for p in PATHS
            ] + [
                (p.__name__, lambda p=p: p(env.client, worker.task_queue, Ledger(pc), gated))
                for p in GATED_PATHS
            ]
            for name, path in paths:
                if names and name not in names:
                    continue
                await _keep(name, await path())
            gated.release_all()
        async with (
            dev_server_environment() as env,
            running_worker(env.client, pc, executor, signing=REQUIRED) as worker,
        ):
            for signed_path in SIGNED_PATHS:
                if names and signed_path.__name__ not in names:
                    continue
                handle = await signed_path(env.client, worker.task_queue, Ledger(pc))
                await _keep(signed_path.__name__, handle)
        pc.dispose()


async def _keep(name: str, handle: WorkflowHandle[Any, Any]) -> None:
    outcome = await handle.result()
    target = HISTORIES / f"{name}.json"
    target.write_text((await handle.fetch_history()).to_json())
    print(f"{name}: {outcome.status} -> {target}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
