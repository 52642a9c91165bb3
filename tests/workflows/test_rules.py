"""The process rules without any server: every action in every state, taken
by every kind of party."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.workflows.scenarios import ACTIONS
from tests.workflows.spec_oracle import (
    ACTORS,
    ALLOWED_ROLES,
    FINAL_CHECKS,
    SPEC_ACCEPTED_IN,
    SUBMISSION_CHECKS,
)
from workflows import rules
from workflows.model import (
    ActionKind,
    CheckName,
    FailedCheck,
    PartnerKind,
    ReviewAction,
    UnbindStatus,
)

S = UnbindStatus
ROLES = rules.Roles(
    customer_uin=ACTORS["customer"],
    initiator_uin=ACTORS["initiator"],
    distributor_uin=ACTORS["distributor"],
    reseller_uin=ACTORS["initiator"],
)
EXTRA = {ActionKind.REVIEW: {"approve": True}, ActionKind.RESELLER_REVIEW: {"approve": True}}


@pytest.mark.cross_product
@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("kind", list(ActionKind))
@pytest.mark.parametrize("who", list(ACTORS))
def test_every_action_in_every_state_by_every_party(
    status: UnbindStatus, kind: ActionKind, who: str
) -> None:
    action = ACTIONS[kind](action_id="a-1", actor=ACTORS[who], **EXTRA.get(kind, {}))
    refusal = rules.refusal(status, action, ROLES)
    allowed = who in ALLOWED_ROLES[kind] and status in SPEC_ACCEPTED_IN[kind]
    assert (refusal is None) is allowed, refusal
    if who not in ALLOWED_ROLES[kind]:
        assert refusal == f"{ACTORS[who]} may not {kind}: {rules.ACTOR_RULE[kind]}"
    elif status.is_terminal:
        assert refusal is not None and "already ended" in refusal


def test_no_one_reviews_a_direct_resellers_customer() -> None:
    roles = rules.Roles(customer_uin="20000000001", initiator_uin="10000000002")
    review = ReviewAction(action_id="r", actor="10000000001", approve=True)
    assert rules.refusal(S.PENDING_DISTRIBUTOR_REVIEW, review, roles) is not None


def test_nothing_leaves_a_terminal_state_and_cutover_only_ends() -> None:
    for status in S:
        if status.is_terminal:
            assert status not in rules.TRANSITIONS
    assert rules.TRANSITIONS[S.CUTTING_OVER] == {S.COMPLETED, S.FAILED}
    # Withdrawal and cancellation are possible from every state before cutover.
    for status, after in rules.TRANSITIONS.items():
        if status is not S.CUTTING_OVER:
            assert {S.WITHDRAWN, S.CANCELLED} <= after


def test_the_path_depends_on_the_partner_and_the_card() -> None:
    assert rules.first_wait(PartnerKind.SECOND_LEVEL_RESELLER) is S.PENDING_DISTRIBUTOR_REVIEW
    assert rules.first_wait(PartnerKind.RESELLER) is S.PENDING_CUSTOMER_CONFIRMATION
    assert rules.first_wait(PartnerKind.DISTRIBUTOR) is S.PENDING_CUSTOMER_CONFIRMATION
    assert rules.after_review(ReviewAction(action_id="r", actor="10000000001", approve=False)) is (
        S.DISTRIBUTOR_REJECTED
    )
    assert rules.after_confirmation(card_bound=True) is S.FINAL_CHECK
    assert rules.after_confirmation(card_bound=False) is S.PENDING_CARD_BINDING
    assert rules.after_final_check([]) is S.CUTTING_OVER
    failed = [FailedCheck(check="credit", hint="allocate credit")]
    assert rules.after_final_check(failed) is S.AWAITING_REMEDIATION
    for before, after in [
        (S.PENDING_CUSTOMER_CONFIRMATION, S.FINAL_CHECK),
        (S.AWAITING_REMEDIATION, S.FINAL_CHECK),
        (S.FINAL_CHECK, S.CUTTING_OVER),
    ]:
        assert rules.is_legal(before, after)
    assert not rules.is_legal(S.CUTTING_OVER, S.CANCELLED)
    assert not rules.is_legal(S.COMPLETED, S.FINAL_CHECK)


def test_reminders_fall_before_the_deadline_and_past_ones_are_dropped() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    deadline = start + timedelta(days=10)
    offsets = [timedelta(days=3), timedelta(days=1)]
    assert rules.reminder_times(deadline=deadline, reminders_before=offsets, now=start) == [
        start + timedelta(days=7),
        start + timedelta(days=9),
    ]
    late = start + timedelta(days=8)
    assert rules.reminder_times(deadline=deadline, reminders_before=offsets, now=late) == [
        start + timedelta(days=9)
    ]
    # A reminder longer than the whole wait is never sent.
    short = start + timedelta(days=2)
    assert rules.reminder_times(deadline=short, reminders_before=offsets, now=start) == [
        start + timedelta(days=1)
    ]


@pytest.mark.parametrize(
    ("duration", "label"),
    [(timedelta(days=3), "3d"), (timedelta(hours=36), "36h"), (timedelta(seconds=90), "90s")],
)
def test_durations_get_stable_labels(duration: timedelta, label: str) -> None:
    assert rules.humanize(duration) == label


def test_every_check_name_is_one_the_spec_names() -> None:
    """Each check reported, at submission or at the final check, has its name
    in the spec's table (or is the final check's ``card``), and no other."""
    assert {str(check) for check in CheckName} == set(SUBMISSION_CHECKS) | set(FINAL_CHECKS)


@pytest.mark.parametrize("check", FINAL_CHECKS)
def test_a_failed_final_check_of_any_kind_waits_for_remediation(check: str) -> None:
    failed = [FailedCheck(check=CheckName(check), hint="-")]
    assert rules.after_final_check(failed) is S.AWAITING_REMEDIATION
