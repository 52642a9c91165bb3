"""Action ids are scoped to the whole action: a true repeat is recognised, by
the workflow and by the update id the client sends; another action reusing
the id is not. Pure: no server."""

from __future__ import annotations

from workflows.contract import action_fingerprint, update_id_for
from workflows.model import ConfirmAction, RejectAction, WithdrawAction
from workflows.state import Answer, WorkflowState, action_key

CUSTOMER, RESELLER = "30000000002", "30000000001"


def test_a_true_repeat_has_the_same_key_and_update_id() -> None:
    first = RejectAction(action_id="a-1", actor=CUSTOMER, reason="no")
    again = RejectAction.model_validate(first.model_dump(mode="json"))
    assert action_key(again) == action_key(first)
    assert update_id_for(again) == update_id_for(first)


def test_another_party_kind_or_field_under_the_same_id_is_another_action() -> None:
    first = RejectAction(action_id="a-1", actor=CUSTOMER, reason="no")
    others = [
        RejectAction(action_id="a-1", actor=CUSTOMER, reason="changed my mind"),
        WithdrawAction(action_id="a-1", actor=RESELLER, reason="no"),
        ConfirmAction(action_id="a-1", actor=CUSTOMER),
    ]
    keys = {action_key(first), *(action_key(o) for o in others)}
    update_ids = {update_id_for(first), *(update_id_for(o) for o in others)}
    assert len(keys) == len(update_ids) == 4


def test_an_unset_optional_field_does_not_change_the_fingerprint() -> None:
    assert action_fingerprint(RejectAction(action_id="a-1", actor=CUSTOMER)) == (
        action_fingerprint(RejectAction(action_id="a-1", actor=CUSTOMER, reason=None))
    )


def test_an_answer_remembered_by_bare_id_answers_any_action_with_that_id() -> None:
    from tests.workflows.test_handover import _waiting

    carried = _waiting().model_dump(mode="json")
    carried["answers"] = {"old-1": {"accepted": True, "reason": None}}
    state = WorkflowState.model_validate(carried)
    for action in (
        ConfirmAction(action_id="old-1", actor=CUSTOMER),
        WithdrawAction(action_id="old-1", actor=RESELLER),
    ):
        assert state.answered(action) == Answer(accepted=True)
    assert state.answered(ConfirmAction(action_id="new-1", actor=CUSTOMER)) is None
