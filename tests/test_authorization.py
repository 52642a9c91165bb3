"""Who may do what, exhaustively, on the real dev server with a real worker and
a real partner center.

Every action x every party (the customer, its partner, another reseller, the
customer's distributor, another distributor, a sub-user of the customer, a
sub-user of the partner, an operator), in every waiting state where the action
is otherwise accepted: a wrong party's update is rejected by the validator with
a reason naming who may act and writes no history; a wrong party's signal is
logged as refused; neither changes the state or the record. Then the right
party acts and the application moves on. And only the partner's root account
can apply.

The allowed parties are written out here from SPEC section 4, independently
of ``workflows.rules``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.partner_center import HINTS
from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.errors import BadInput
from tests.conftest import fresh_uin
from tests.workflows.scenarios import SIGNALS, UPDATES
from tests.workflows.spec_oracle import ALLOWED_ROLES, HUMAN_WAITS, ROLES, SPEC_ACCEPTED_IN
from workflows.actions import ACTION_TYPES
from workflows.contract import workflow_id_for
from workflows.model import (
    Action,
    ActionKind,
    ActionResult,
    CheckName,
    PartnerKind,
    UnbindingState,
    UnbindStatus,
)
from workflows.unbinding import UnbindingWorkflow

pytestmark = pytest.mark.integration
S = UnbindStatus
K = ActionKind

WHO_MAY: dict[ActionKind, str] = {
    K.RESELLER_REVIEW: "only the customer's reseller",
    K.REVIEW: "only the customer's distributor",
    K.CONFIRM: "only the customer",
    K.REJECT: "only the customer",
    K.CARD_BOUND: "only the customer",
    K.WITHDRAW: "only the initiator",
    K.RECHECK: "only the initiator or an operator",
}
# The waiting states, each with the actions SPEC section 4 accepts in it.
WAITING_STATES: dict[UnbindStatus, tuple[ActionKind, ...]] = {
    status: tuple(kind for kind in K if status in SPEC_ACCEPTED_IN[kind])
    for status in S
    if status in HUMAN_WAITS
}
FIELDS: dict[ActionKind, dict[str, Any]] = {
    K.REVIEW: {"approve": True},
    K.RESELLER_REVIEW: {"approve": True},
}


@dataclass(frozen=True)
class World:
    """A second-level reseller's customer and everyone around it."""

    uins: dict[str, str]

    @property
    def customer(self) -> str:
        return self.uins["customer"]

    @property
    def partner(self) -> str:
        return self.uins["initiator"]


def build_world(pc: SqlPartnerCenter) -> World:
    uins = {party: fresh_uin() for party in ROLES if party != "operator"}
    pc.add_partner(uins["distributor"], kind=PartnerKind.DISTRIBUTOR)
    pc.add_partner(uins["other_distributor"], kind=PartnerKind.DISTRIBUTOR)
    pc.add_partner(
        uins["initiator"],
        kind=PartnerKind.SECOND_LEVEL_RESELLER,
        distributor_uin=uins["distributor"],
    )
    pc.add_partner(uins["other_reseller"], kind=PartnerKind.RESELLER)
    pc.add_customer(uins["customer"], partner_uin=uins["initiator"], card=False)
    pc.add_subuser(uins["sub_user_of_customer"], owner_uin=uins["customer"])
    pc.add_subuser(uins["sub_user_of_initiator"], owner_uin=uins["initiator"])
    return World({**uins, "operator": "operator:alice"})


def new_action(kind: ActionKind, actor: str) -> Action:
    return ACTION_TYPES[kind](action_id=uuid.uuid4().hex, actor=actor, **FIELDS.get(kind, {}))


@pytest.fixture
def client(dev_env: WorkflowEnvironment, worker: Worker) -> UnbindingClient:
    return UnbindingClient(dev_env.client, task_queue=worker.task_queue)


def handle_of(dev_env: WorkflowEnvironment, customer: str) -> WorkflowHandle[Any, UnbindingState]:
    return dev_env.client.get_workflow_handle_for(UnbindingWorkflow.run, workflow_id_for(customer))


async def history_length(handle: WorkflowHandle[Any, Any]) -> int:
    return len((await handle.fetch_history()).events)


async def wrong_parties_are_refused(
    handle: WorkflowHandle[Any, UnbindingState],
    pc: SqlPartnerCenter,
    world: World,
    status: UnbindStatus,
) -> int:
    """Every wrong party tries every action accepted in ``status``, as an update
    and as a signal; returns how many attempts were made."""
    before = await handle.query(UnbindingWorkflow.status)
    assert before.status is status
    record_before = pc.records(world.customer)
    events_before = await history_length(handle)
    signalled: dict[str, str] = {}

    wrong = [
        (kind, party, world.uins[party])
        for kind in WAITING_STATES[status]
        for party in ROLES
        if party not in ALLOWED_ROLES[kind]
    ]
    for kind, party, actor in wrong:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(UPDATES[kind], new_action(kind, actor))  # type: ignore[arg-type]
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError), (kind, party)
        assert cause.type == "ActionRefused", (kind, party)
        assert cause.message.startswith(f"{actor} may not {kind}: {WHO_MAY[kind]} may"), (
            kind,
            party,
            cause.message,
        )
    # A refused update is answered by the validator: not one history event.
    assert await history_length(handle) == events_before

    for kind, _party, actor in wrong:
        attempt = new_action(kind, actor)
        signalled[attempt.action_id] = f"{actor} may not {kind}: {WHO_MAY[kind]} may"
        await handle.signal(SIGNALS[kind], attempt)

    after = await handle.query(UnbindingWorkflow.status)
    assert after.status is status
    assert after.transitions == before.transitions
    assert pc.records(world.customer) == record_before
    new_entries = after.timeline[len(before.timeline) :]
    assert {e.action_id for e in new_entries} == set(signalled)
    for entry in new_entries:
        assert entry.accepted is False
        assert entry.reason is not None and entry.reason.startswith(signalled[entry.action_id])
    return 2 * len(wrong)


async def right_party_acts(
    handle: WorkflowHandle[Any, UnbindingState], kind: ActionKind, actor: str
) -> ActionResult:
    result: ActionResult = await handle.execute_update(UPDATES[kind], new_action(kind, actor))  # type: ignore[arg-type]
    assert result.accepted, result
    return result


async def test_every_action_by_every_party_in_every_waiting_state(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, client: UnbindingClient
) -> None:
    world = build_world(partner_center)
    submitted = await client.apply(
        customer_uin=world.customer, initiator_uin=world.partner, notice_acknowledged=True
    )
    assert submitted.accepted and submitted.status is S.PENDING_DISTRIBUTOR_REVIEW
    handle = handle_of(dev_env, world.customer)
    attempts = 0

    attempts += await wrong_parties_are_refused(
        handle, partner_center, world, S.PENDING_DISTRIBUTOR_REVIEW
    )
    moved = await right_party_acts(handle, K.REVIEW, world.uins["distributor"])
    assert moved.status is S.PENDING_CUSTOMER_CONFIRMATION

    attempts += await wrong_parties_are_refused(
        handle, partner_center, world, S.PENDING_CUSTOMER_CONFIRMATION
    )
    moved = await right_party_acts(handle, K.CONFIRM, world.customer)
    assert moved.status is S.PENDING_CARD_BINDING

    attempts += await wrong_parties_are_refused(
        handle, partner_center, world, S.PENDING_CARD_BINDING
    )
    # The card is bound, but the account was frozen meanwhile: remediation.
    partner_center.set_account(world.customer, card_bound=True, frozen=True)
    moved = await right_party_acts(handle, K.CARD_BOUND, world.customer)
    assert moved.status is S.AWAITING_REMEDIATION

    attempts += await wrong_parties_are_refused(
        handle, partner_center, world, S.AWAITING_REMEDIATION
    )
    # Both who may recheck can; still frozen, so the check fails again.
    for who in ("operator", "initiator"):
        moved = await right_party_acts(handle, K.RECHECK, world.uins[who])
        assert moved.status is S.AWAITING_REMEDIATION
    moved = await right_party_acts(handle, K.WITHDRAW, world.partner)
    assert moved.status is S.WITHDRAWN

    final = await handle.result()
    accepted = [(e.action, e.actor) for e in final.timeline if e.accepted]
    assert accepted == [
        ("review", world.uins["distributor"]),
        ("confirm", world.customer),
        ("card_bound", world.customer),
        ("recheck", "operator:alice"),
        ("recheck", world.partner),
        ("withdraw", world.partner),
    ]
    refused_signals = [e for e in final.timeline if not e.accepted]
    assert len(refused_signals) == attempts // 2
    [record] = partner_center.records(world.customer)
    assert record.status is S.WITHDRAWN
    # Nothing was cut over: the customer is still the partner's.
    assert partner_center.show(world.customer)["partner"]["uin"] == world.partner


async def test_the_customer_alone_may_reject(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, client: UnbindingClient
) -> None:
    world = build_world(partner_center)
    assert (
        await client.apply(
            customer_uin=world.customer, initiator_uin=world.partner, notice_acknowledged=True
        )
    ).accepted
    handle = handle_of(dev_env, world.customer)
    await right_party_acts(handle, K.REVIEW, world.uins["distributor"])
    # Through the client API too: a wrong party is answered, not raised.
    for party in ROLES:
        if party not in ALLOWED_ROLES[K.REJECT]:
            answer = await client.reject(world.customer, actor=world.uins[party], reason="no")
            assert not answer.accepted and answer.status is S.PENDING_CUSTOMER_CONFIRMATION
            assert answer.reason is not None and WHO_MAY[K.REJECT] in answer.reason

    answer = await client.reject(world.customer, actor=world.customer, reason="staying")
    assert answer.accepted and answer.status is S.CUSTOMER_REJECTED
    [record] = partner_center.records(world.customer)
    assert record.status is S.CUSTOMER_REJECTED


def hints(*checks: CheckName) -> list[tuple[CheckName, str]]:
    return [(check, HINTS[check]) for check in checks]


async def test_only_the_partners_root_account_can_apply(
    partner_center: SqlPartnerCenter, client: UnbindingClient
) -> None:
    world = build_world(partner_center)
    uins = world.uins
    refused_by_checks = {
        # (initiator, submitter): the checks that fail
        "partner's sub-user submits": (
            (uins["initiator"], uins["sub_user_of_initiator"]),
            hints(CheckName.ROOT_ACCOUNT),
        ),
        "partner's sub-user as initiator": (
            (uins["sub_user_of_initiator"], uins["sub_user_of_initiator"]),
            hints(CheckName.RELATIONSHIP, CheckName.ROOT_ACCOUNT),
        ),
        "customer's sub-user": (
            (uins["sub_user_of_customer"], uins["sub_user_of_customer"]),
            hints(CheckName.RELATIONSHIP, CheckName.ROOT_ACCOUNT),
        ),
        "another reseller": (
            (uins["other_reseller"], uins["other_reseller"]),
            hints(CheckName.RELATIONSHIP),
        ),
        "the distributor": (
            (uins["distributor"], uins["distributor"]),
            hints(CheckName.RELATIONSHIP),
        ),
        "another distributor": (
            (uins["other_distributor"], uins["other_distributor"]),
            hints(CheckName.RELATIONSHIP),
        ),
        "another reseller submits for the partner": (
            (uins["initiator"], uins["other_reseller"]),
            hints(CheckName.ROOT_ACCOUNT),
        ),
        "an unknown account": (
            (fresh_uin(), fresh_uin()),
            hints(CheckName.RELATIONSHIP, CheckName.ROOT_ACCOUNT),
        ),
    }
    for case, ((initiator, submitter), expected) in refused_by_checks.items():
        result = await client.apply(
            customer_uin=world.customer,
            initiator_uin=initiator,
            submitter_uin=submitter,
            notice_acknowledged=True,
        )
        assert not result.accepted and result.status is S.PRECHECK_FAILED, case
        assert [(c.check, c.hint) for c in result.failed_checks] == expected, case
    # Neither the customer itself nor an operator is an account that can apply.
    for initiator, submitter, field in (
        (world.customer, None, "--customer"),
        (world.partner, "operator:alice", "--operator"),
    ):
        with pytest.raises(BadInput) as bad:
            await client.apply(
                customer_uin=world.customer,
                initiator_uin=initiator,
                submitter_uin=submitter,
                notice_acknowledged=True,
            )
        assert bad.value.field == field
    assert partner_center.records(world.customer) == []

    accepted = await client.apply(
        customer_uin=world.customer, initiator_uin=world.partner, notice_acknowledged=True
    )
    assert accepted.accepted and accepted.status is S.PENDING_DISTRIBUTOR_REVIEW
    [record] = partner_center.records(world.customer)
    assert record.initiator_uin == world.partner
    assert record.notice_acknowledged_by == world.partner
