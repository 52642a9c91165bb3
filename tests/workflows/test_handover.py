"""What a run hands to its continuation: the whole state, nothing forgotten,
only the memory of earlier actions bounded; and the older ``CarriedOver``
hand-overs recorded in tests/workflows/histories still decode."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from workflows.actions import Decision
from workflows.handover import hand_over, take_over
from workflows.model import (
    ApplicationInput,
    CheckName,
    Deadlines,
    FailedCheck,
    PartnerKind,
    RecheckAction,
    RejectAction,
    ReviewAction,
    TimelineEntry,
    UnbindingState,
    UnbindStatus,
)
from workflows.settings import SETTINGS
from workflows.state import Answer, WorkflowState, action_key

S = UnbindStatus
HISTORIES = Path(__file__).parent / "histories"
AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _waiting() -> WorkflowState:
    return WorkflowState(
        public=UnbindingState(
            application_id="app-12345678",
            workflow_id="unbind-30000000002",
            status=S.AWAITING_REMEDIATION,
            customer_uin="30000000002",
            initiator_uin="30000000001",
            submitter_uin="30000000001",
            reseller_uin="30000000001",
            partner_kind=PartnerKind.SECOND_LEVEL_RESELLER,
            distributor_uin="30000000000",
            submitted_at=AT,
            notice_acknowledged_by="30000000001",
            notice_acknowledged_at=AT,
            deadlines=Deadlines(),
            deadline=AT + timedelta(days=7),
            failed_checks=[FailedCheck(check=CheckName.CREDIT, hint="allocate credit")],
        ),
        revision=7,
        decisions={
            Decision.REVIEW: ReviewAction(action_id="r-1", actor="30000000000", approve=True),
            Decision.CUSTOMER_DECISION: RejectAction(
                action_id="c-1", actor="30000000002", reason="no"
            ),
        },
        answers={
            action_key(ReviewAction(action_id="r-1", actor="30000000000", approve=True)): Answer(
                accepted=True
            ),
            action_key(RecheckAction(action_id="x-1", actor="30000000002")): Answer(
                accepted=False, reason="wrong"
            ),
        },
        reminded=["reminder:AWAITING_REMEDIATION:3d"],
        notified_checks=[FailedCheck(check=CheckName.CREDIT, hint="allocate credit")],
        final_checks=3,
        settled=True,
    )


def test_a_continued_run_starts_from_the_whole_state_one_run_later() -> None:
    state = _waiting()
    recheck_at = AT + timedelta(hours=6)
    carried = json.loads(hand_over(state, next_auto_recheck_at=recheck_at).model_dump_json())
    continued = take_over(carried)

    expected = state.model_copy(deep=True)
    expected.public.runs = 2
    expected.next_auto_recheck_at = recheck_at
    expected.resume_in = S.AWAITING_REMEDIATION
    expected.settled = False
    assert continued == expected
    # The decisions keep their kinds.
    assert isinstance(continued.decisions[Decision.CUSTOMER_DECISION], RejectAction)


def test_the_memory_of_earlier_actions_is_bounded_refusals_first() -> None:
    state = _waiting()
    accepted = SETTINGS.remembered_accepted_actions
    refused = SETTINGS.remembered_refused_actions

    def key(action_id: str) -> str:
        return action_key(RecheckAction(action_id=action_id, actor="30000000001"))

    state.answers = {key(f"ok-{i}"): Answer(accepted=True) for i in range(accepted + 5)}
    state.answers |= {
        key(f"no-{i}"): Answer(accepted=False, reason="x") for i in range(refused + 5)
    }
    state.public.timeline = [
        TimelineEntry(at=AT, actor="30000000001", action="recheck", accepted=False)
    ] * (SETTINGS.carried_timeline_entries + 3)

    continued = take_over(hand_over(state, next_auto_recheck_at=None))

    assert len(continued.answers) == accepted + refused
    assert key("ok-5") in continued.answers and key("ok-4") not in continued.answers
    assert key("no-5") in continued.answers and key("no-4") not in continued.answers
    assert len(continued.public.timeline) == SETTINGS.carried_timeline_entries
    assert continued.public.forgotten_entries == 3


def _inputs(history: Path) -> list[Any]:
    events = json.loads(history.read_text())["events"]
    payloads = events[0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"]
    return [json.loads(base64.b64decode(p["data"])) for p in payloads]


def _first_input(history: Path) -> dict[str, Any]:
    first: dict[str, Any] = _inputs(history)[0]
    return first


def test_an_older_carried_over_hand_over_still_decodes() -> None:
    for run in ("continued_as_new_run2", "continued_as_new_run3"):
        history = HISTORIES / "2026-11-29-carried-over" / f"{run}.json"
        application = ApplicationInput.model_validate(_first_input(history))
        old = application.carried_over
        assert old is not None
        continued = take_over(old)
        assert continued.public == old.state.model_copy(update={"runs": old.state.runs + 1})
        assert continued.revision == old.revision
        assert continued.resume_in is old.state.status
        # Remembered by bare id: any action with that id gets the answer it had.
        assert old.answers
        for remembered in old.answers:
            repeat = RecheckAction(action_id=remembered.action_id, actor="operator:anyone")
            assert continued.answered(repeat) == Answer(
                accepted=remembered.accepted, reason=remembered.reason
            )
        assert len(continued.answers) == len(old.answers)
        assert sorted(continued.reminded) == sorted(old.reminded)
        assert continued.notified_checks == old.notified_checks
        assert continued.next_auto_recheck_at == old.next_auto_recheck_at


def test_a_recorded_hand_over_is_the_application_and_the_whole_state() -> None:
    application, carried = _inputs(
        HISTORIES / "2026-11-30-before-issue-12" / "continued_as_new_run2.json"
    )
    assert ApplicationInput.model_validate(application).carried_over is None
    continued = take_over(carried)
    assert continued.public.runs == 2
    assert continued.resume_in is continued.public.status
    assert "settled" not in carried and "resume_in" not in carried, "per-run flags handed over"
    # Recorded before action ids were scoped: remembered by bare id, still answered.
    assert carried["answers"] and all("/" not in key for key in carried["answers"])
    for action_id, given in carried["answers"].items():
        repeat = RecheckAction(action_id=action_id, actor="operator:anyone")
        assert continued.answered(repeat) == Answer.model_validate(given)
