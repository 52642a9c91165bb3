"""Signed actions on a real worker (dev server) with ``UNBIND_REQUIRE_SIGNED_ACTIONS=1``:
only the API's signature lets a party act; an operator's recheck and the
Web UI's Cancel still work unsigned; a key rotation or a flipped flag never
changes how a recorded history replays."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    WorkflowHandle,
    WorkflowHistory,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import PayloadConverter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.signing import signing
from tests.conftest import Ledger, Parties, eventually, running_worker
from tests.workflows.scenarios import SIGNALS, UPDATES, action, reach, status
from tests.workflows.signing_keys import (
    FORGED,
    NEW_ENTRY,
    NEW_ONLY,
    OLD,
    OLD_ENTRY,
    REQUIRED,
    ROTATING,
)
from tests.workflows.storms import HistorySize, at_most_one_workflow_task
from workflows.contract import ACTION_REFUSED, workflow_id_for
from workflows.intake import UNSIGNED_SIGNAL
from workflows.model import Action, ActionKind, ConfirmAction, UnbindingState, UnbindStatus
from workflows.signed_actions import UNSIGNED, SignedActionsInterceptor
from workflows.signing import SIGNATURE_HEADER, Claims, Signer, SigningPolicy, sign
from workflows.unbinding import UnbindingWorkflow

S, K = UnbindStatus, ActionKind
HISTORIES = Path(__file__).parent / "histories"
OPERATOR = "operator:alice"
PRINCIPAL = "sub-user-of-the-customer"

SECRETS = [entry.partition(":")[2] for entry in (NEW_ENTRY, OLD_ENTRY)]

integration = pytest.mark.integration


@pytest_asyncio.fixture
async def signed_worker(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, executor: ThreadPoolExecutor
) -> AsyncIterator[Worker]:
    """A worker requiring signed actions, during a key rotation (both keys verify)."""
    async with running_worker(dev_env.client, partner_center, executor, signing=REQUIRED) as w:
        yield w


def client_of(client: Client, worker: Worker, signer: Signer | None = None) -> UnbindingClient:
    return UnbindingClient(
        signing(client, signer) if signer else client, task_queue=worker.task_queue
    )


Stamp = Callable[[str, str, Action], dict[str, Any]]
"""(workflow id, application id, action) -> the signature header."""


class Stamping(Interceptor):
    """Puts a hand-made signature on every update, as an attacker could."""

    def __init__(self, stamp: Stamp, application_id: str) -> None:
        self.stamp = stamp
        self.application_id = application_id

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        stamp, application_id = self.stamp, self.application_id

        class _Outbound(OutboundInterceptor):
            async def start_workflow_update(
                self, input: StartWorkflowUpdateInput
            ) -> WorkflowUpdateHandle[Any]:
                header = stamp(input.id, application_id, input.args[0])
                input.headers = {SIGNATURE_HEADER: PayloadConverter.default.to_payload(header)}
                return await super().start_workflow_update(input)

        return _Outbound(next)


def stamped(client: Client, worker: Worker, stamp: Stamp, application_id: str) -> UnbindingClient:
    config = client.config()
    config["interceptors"] = [Stamping(stamp, application_id)]
    return UnbindingClient(Client(**config), task_queue=worker.task_queue)


def _claims(workflow_id: str, application_id: str, act: Action) -> Claims:
    expires = datetime.now(UTC) + timedelta(minutes=5)
    return Claims.of(
        workflow_id, act, application_id=application_id, principal=PRINCIPAL, expires_at=expires
    )


def _for_another_application(workflow_id: str, application_id: str, act: Action) -> dict[str, Any]:
    return sign(_claims(workflow_id_for("29999999999"), application_id, act), ROTATING)


def _for_the_customers_other_application(
    workflow_id: str, application_id: str, act: Action
) -> dict[str, Any]:
    """Same workflow id, another application: one signed before a withdrawal
    and copied from its history into the customer's next application."""
    return sign(_claims(workflow_id, "the-one-before", act), ROTATING)


def _for_another_action_id(workflow_id: str, application_id: str, act: Action) -> dict[str, Any]:
    claims = _claims(workflow_id, application_id, act)
    return sign(replace(claims, action_id="some-other-id"), ROTATING)


def _for_another_kind(workflow_id: str, application_id: str, act: Action) -> dict[str, Any]:
    return sign(replace(_claims(workflow_id, application_id, act), kind=K.REJECT.value), ROTATING)


def _altered(workflow_id: str, application_id: str, act: Action) -> dict[str, Any]:
    signed = sign(_claims(workflow_id, application_id, act), ROTATING)
    return {**signed, "principal": "someone-else"}


def _forged(workflow_id: str, application_id: str, act: Action) -> dict[str, Any]:
    return sign(_claims(workflow_id, application_id, act), FORGED)


def _expired(workflow_id: str, application_id: str, act: Action) -> dict[str, Any]:
    return Signer(ROTATING, lifetime=timedelta(seconds=-1)).signature(
        workflow_id, act, application_id=application_id, principal=PRINCIPAL, now=datetime.now(UTC)
    )


async def history_length(handle: WorkflowHandle[Any, Any]) -> int:
    return len((await handle.fetch_history()).events)


async def replays(handle: WorkflowHandle[Any, Any], *policies: SigningPolicy | None) -> None:
    """``handle``'s history replays under a worker with each of ``policies``
    (None: no interceptor at all, as ``tests/workflows/test_replay.py``)."""
    history = await handle.fetch_history()
    recorded = history.to_json()
    assert not any(secret in recorded for secret in SECRETS), "a signing key reached history"
    for policy in policies:
        await replay(history, policy)


async def replay(history: WorkflowHistory, policy: SigningPolicy | None) -> None:
    replayer = Replayer(
        workflows=[UnbindingWorkflow],
        data_converter=pydantic_data_converter,
        interceptors=[SignedActionsInterceptor(policy)] if policy else [],
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, (policy, result.replay_failure)


async def awaiting_confirmation(
    client: Client, worker: Worker, pc: SqlPartnerCenter, parties: Parties
) -> WorkflowHandle[Any, UnbindingState]:
    """``parties``' application on ``worker``, waiting for the customer to confirm."""
    return await reach(client, worker.task_queue, pc, parties, S.PENDING_CUSTOMER_CONFIRMATION)


@dataclass(frozen=True)
class Pending:
    """A direct customer's application on ``signed_worker``, waiting for them to confirm."""

    parties: Parties
    handle: WorkflowHandle[Any, UnbindingState]


@pytest_asyncio.fixture
async def pending(dev_env: WorkflowEnvironment, signed_worker: Worker, ledger: Ledger) -> Pending:
    parties = ledger.direct()
    return Pending(
        parties, await awaiting_confirmation(dev_env.client, signed_worker, ledger.pc, parties)
    )


POLICY_OFF = SigningPolicy()
ROTATED_AWAY = SigningPolicy(required=True, keys=NEW_ONLY)
OFF_WITH_KEYS = SigningPolicy(required=False, keys=ROTATING)
EVERY_WORKER = (None, POLICY_OFF, ROTATED_AWAY, OFF_WITH_KEYS, REQUIRED)


@integration
async def test_a_signed_confirmation_is_accepted_and_the_timeline_names_who_acted(
    dev_env: WorkflowEnvironment, signed_worker: Worker, ledger: Ledger
) -> None:
    parties = ledger.direct(card=False)
    handle = await awaiting_confirmation(dev_env.client, signed_worker, ledger.pc, parties)
    api = client_of(dev_env.client, signed_worker, Signer(ROTATING))
    result = await api.confirm(parties.customer, actor=parties.customer, principal=PRINCIPAL)
    assert result.accepted and result.status is S.PENDING_CARD_BINDING, result
    ledger.pc.set_account(parties.customer, card_bound=True)
    # A card claim is answered by the story once verified: the principal waits with it.
    result = await api.card_bound(parties.customer, actor=parties.customer, principal=PRINCIPAL)
    assert result.accepted and result.status is S.COMPLETED, result
    entries = [e for e in (await status(handle)).timeline if e.actor == parties.customer]
    assert [(e.action, e.accepted, e.principal) for e in entries] == [
        (K.CONFIRM, True, PRINCIPAL),
        (K.CARD_BOUND, True, PRINCIPAL),
    ]
    await replays(handle, *EVERY_WORKER)


@integration
@pytest.mark.parametrize(
    ("stamp", "reason"),
    [
        (_forged, "bad signature: it does not match the signed fields"),
        (_altered, "bad signature: it does not match the signed fields"),
        (_expired, "signature expired at"),
        (_for_another_application, "signed for another application (unbind-29999999999)"),
        (
            _for_the_customers_other_application,
            "signed for another application of this customer (the-one-before)",
        ),
        (_for_another_action_id, "signed for another action (its action_id differs)"),
        (_for_another_kind, "signed for another action (its kind differs)"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else "",
)
async def test_a_signature_that_does_not_hold_is_refused_without_a_trace(
    dev_env: WorkflowEnvironment, signed_worker: Worker, pending: Pending, stamp: Stamp, reason: str
) -> None:
    parties, handle = pending.parties, pending.handle
    warm_up = await history_length(handle)
    application_id = (await status(handle)).application_id
    await stamped(dev_env.client, signed_worker, stamp, application_id).confirm(
        parties.customer, actor=parties.customer
    )
    before = await history_length(handle)
    assert at_most_one_workflow_task(HistorySize(before - warm_up, 0))
    result = await stamped(dev_env.client, signed_worker, stamp, application_id).confirm(
        parties.customer, actor=parties.customer
    )
    assert not result.accepted
    assert result.reason is not None and result.reason.startswith(reason), result.reason
    assert result.status is S.PENDING_CUSTOMER_CONFIRMATION
    assert await history_length(handle) == before  # the validator refused it


async def raw_update(
    handle: WorkflowHandle[Any, UnbindingState], kind: ActionKind, actor: str
) -> Any:
    """An update as the Web UI or a raw client sends it: no signature."""
    return await handle.execute_update(UPDATES[kind], action(kind, actor))  # type: ignore[arg-type]


async def raw_signal(
    handle: WorkflowHandle[Any, UnbindingState], kind: ActionKind, actor: str
) -> None:
    """A signal as the Web UI's dialog sends it: never signed."""
    await handle.signal(SIGNALS[kind], action(kind, actor))  # type: ignore[arg-type]


@integration
async def test_typing_a_customers_uin_into_the_web_ui_confirms_nothing(pending: Pending) -> None:
    parties, handle = pending.parties, pending.handle
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await raw_update(handle, K.CONFIRM, parties.customer)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.type, cause.message) == (ACTION_REFUSED, UNSIGNED)
    # The signal cannot be verified at all: a party's is refused and logged.
    await raw_signal(handle, K.CONFIRM, parties.customer)
    state = await status(handle)
    assert state.status is S.PENDING_CUSTOMER_CONFIRMATION
    entry = state.timeline[-1]
    assert (entry.action, entry.accepted, entry.reason) == (K.CONFIRM, False, UNSIGNED_SIGNAL)
    # ... and the Web UI's Cancel still ends it.
    await handle.cancel()
    assert (await handle.result()).status is S.CANCELLED
    await replays(handle, *EVERY_WORKER)


@integration
async def test_an_operator_rechecks_unsigned_but_the_initiator_must_sign(
    dev_env: WorkflowEnvironment, signed_worker: Worker, ledger: Ledger, pending: Pending
) -> None:
    parties, handle = pending.parties, pending.handle
    ledger.pc.set_account(parties.customer, frozen=True)
    api = client_of(dev_env.client, signed_worker, Signer(ROTATING))
    confirmed = await api.confirm(parties.customer, actor=parties.customer)
    assert confirmed.status is S.AWAITING_REMEDIATION, confirmed
    with pytest.raises(WorkflowUpdateFailedError, match="Workflow update failed"):
        await raw_update(handle, K.RECHECK, parties.reseller)
    # The Web UI's recheck signal dialog, as an operator: still accepted.
    await raw_signal(handle, K.RECHECK, OPERATOR)
    checked_again = await eventually(
        lambda: status(handle),
        lambda state: [t.status for t in state.transitions].count(S.AWAITING_REMEDIATION) == 2,
    )
    assert checked_again.status is S.AWAITING_REMEDIATION
    ledger.pc.set_account(parties.customer, frozen=False)
    result = await raw_update(handle, K.RECHECK, OPERATOR)
    assert result.accepted and result.status is S.COMPLETED, result
    rechecks = [e for e in (await status(handle)).timeline if e.action == K.RECHECK]
    assert [(e.actor, e.accepted, e.principal) for e in rechecks] == [
        (OPERATOR, True, None),
        (OPERATOR, True, None),
    ]


@integration
async def test_a_key_rotation_keeps_old_signatures_until_the_key_is_removed(
    dev_env: WorkflowEnvironment,
    signed_worker: Worker,
    partner_center: SqlPartnerCenter,
    executor: ThreadPoolExecutor,
    ledger: Ledger,
    pending: Pending,
) -> None:
    signed_with_old = client_of(dev_env.client, signed_worker, Signer(OLD))
    parties, handle = pending.parties, pending.handle
    result = await signed_with_old.confirm(parties.customer, actor=parties.customer)
    assert result.accepted and result.status is S.COMPLETED, result
    # The old key removed: a new update signed with it is refused ...
    async with running_worker(
        dev_env.client, partner_center, executor, signing=ROTATED_AWAY
    ) as rotated:
        late = ledger.direct()
        await awaiting_confirmation(dev_env.client, rotated, ledger.pc, late)
        refused = await client_of(dev_env.client, rotated, Signer(OLD)).confirm(
            late.customer, actor=late.customer
        )
        assert refused.reason == "bad signature: unknown key id 'old'", refused
        accepted = await client_of(dev_env.client, rotated, Signer(ROTATING)).confirm(
            late.customer, actor=late.customer
        )
        assert accepted.accepted, accepted
    # ... while the history the old key signed replays without it.
    await replays(handle, *EVERY_WORKER)


@integration
async def test_with_the_policy_off_unsigned_actions_work_as_before(
    dev_env: WorkflowEnvironment, worker: Worker, ledger: Ledger
) -> None:
    by_update, by_signal = ledger.direct(), ledger.direct()
    updated = await awaiting_confirmation(dev_env.client, worker, ledger.pc, by_update)
    result = await raw_update(updated, K.CONFIRM, by_update.customer)
    assert result.accepted and result.status is S.COMPLETED, result
    signalled = await awaiting_confirmation(dev_env.client, worker, ledger.pc, by_signal)
    await raw_signal(signalled, K.CONFIRM, by_signal.customer)
    assert (await signalled.result()).status is S.COMPLETED
    # A signature is verified or refused, policy or not: this worker has no keys.
    third = ledger.direct()
    await awaiting_confirmation(dev_env.client, worker, ledger.pc, third)
    unverifiable = await client_of(dev_env.client, worker, Signer(ROTATING)).confirm(
        third.customer, actor=third.customer
    )
    assert unverifiable.reason == "bad signature: this worker has no signing keys to verify it with"
    # Turning the policy on (or rotating keys) later changes neither replay.
    await replays(updated, *EVERY_WORKER)
    await replays(signalled, *EVERY_WORKER)


@integration
async def test_under_the_policy_a_run_keeps_refusing_party_signals_once_the_flag_is_off(
    dev_env: WorkflowEnvironment,
    signed_worker: Worker,
    partner_center: SqlPartnerCenter,
    executor: ThreadPoolExecutor,
    pending: Pending,
) -> None:
    """The policy is the application's, fixed in its history: a worker restarted
    without the flag still refuses a party's signal to it, so a replay of the
    history (on any worker) takes the same path."""
    parties, handle = pending.parties, pending.handle
    await signed_worker.shutdown()
    async with running_worker(
        dev_env.client, partner_center, executor, task_queue=signed_worker.task_queue
    ):
        await raw_signal(handle, K.CONFIRM, parties.customer)
        state = await status(handle)
        assert state.status is S.PENDING_CUSTOMER_CONFIRMATION
        assert state.timeline[-1].reason == UNSIGNED_SIGNAL
        # Unsigned updates follow the worker's flag of the moment: accepted now.
        result = await raw_update(handle, K.CONFIRM, parties.customer)
        assert result.accepted and result.status is S.COMPLETED, result
    await replays(handle, *EVERY_WORKER)


@pytest.mark.parametrize("policy", EVERY_WORKER, ids=repr)
async def test_the_recorded_signed_path_replays_on_every_worker(
    policy: SigningPolicy | None,
) -> None:
    source = HISTORIES / "signed_confirmation.json"
    await replay(WorkflowHistory.from_json(source.stem, source.read_text()), policy)


@integration
async def test_a_signature_copied_from_the_last_application_is_refused_in_the_next(
    dev_env: WorkflowEnvironment, signed_worker: Worker, ledger: Ledger
) -> None:
    """The customer's confirmation, signed through the API, stays in the
    history of its application; withdrawn, and a new application submitted
    within the signature's lifetime, the same header and action sent again by
    a raw client must not confirm the new one (the workflow id is the same)."""
    parties = ledger.direct(card=False)
    handle = await awaiting_confirmation(dev_env.client, signed_worker, ledger.pc, parties)
    api = client_of(dev_env.client, signed_worker, Signer(ROTATING))
    confirmed = await api.confirm(parties.customer, actor=parties.customer)
    assert confirmed.accepted, confirmed
    withdrawn = await api.withdraw(parties.customer, actor=parties.reseller)
    assert withdrawn.status is S.WITHDRAWN, withdrawn
    first = (await status(handle)).application_id
    history = await handle.fetch_history()
    [request] = [
        event.workflow_execution_update_accepted_event_attributes.accepted_request.input
        for event in history.events
        if event.HasField("workflow_execution_update_accepted_event_attributes")
        and event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        == K.CONFIRM.value
    ]
    copied = PayloadConverter.default.from_payload(request.header.fields[SIGNATURE_HEADER])
    [confirm] = pydantic_data_converter.payload_converter.from_payloads(
        request.args.payloads, [ConfirmAction]
    )

    await awaiting_confirmation(dev_env.client, signed_worker, ledger.pc, parties)
    replayed = await stamped(
        dev_env.client, signed_worker, lambda *_: copied, application_id=""
    ).act(parties.customer, confirm)

    assert not replayed.accepted
    assert replayed.reason == f"signed for another application of this customer ({first})"
    assert replayed.status is S.PENDING_CUSTOMER_CONFIRMATION
