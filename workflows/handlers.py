"""The messages the unbinding workflow answers, as the Web UI lists them.

Each action of ``workflows.actions`` is a signal (fire-and-forget; a refusal
is logged in the timeline) and an update of the same name (validated; a
refusal is answered at once and writes no history), both one-line
delegations to ``workflows.intake``, with the table's description. They are
decorated methods rather than handlers registered in a loop because only
decorated handlers carry a description in SDK 1.35 (``set_signal_handler`` /
``set_update_handler`` take none); ``tests/workflows/test_handlers.py``
checks this list against the table.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from workflows.actions import ACTIONS
from workflows.contract import STATUS_QUERY, SUBMISSION_UPDATE
from workflows.intake import Intake
from workflows.model import ActionKind, ActionResult, SubmissionResult, UnbindingState
from workflows.state import WorkflowState

K = ActionKind


class Handlers:
    """Mixed into the workflow class, which sets both attributes in ``__init__``."""

    _state: WorkflowState
    _intake: Intake

    @property
    def intake(self) -> Intake:
        """Where the worker's interceptor (``workflows.signed_actions``) hands
        the signing policy and the verified principals."""
        return self._intake

    @workflow.signal(
        name=K.RESELLER_REVIEW.value, description=ACTIONS[K.RESELLER_REVIEW].description
    )
    def reseller_review_signal(self, *payload: Any) -> None:
        self._intake.on_signal(K.RESELLER_REVIEW, payload)

    @workflow.update(
        name=K.RESELLER_REVIEW.value, description=ACTIONS[K.RESELLER_REVIEW].description
    )
    async def reseller_review_update(self, *payload: Any) -> ActionResult:
        return await self._intake.on_update(K.RESELLER_REVIEW, payload)

    @reseller_review_update.validator
    def _validate_reseller_review(self, *payload: Any) -> None:
        self._intake.validate(K.RESELLER_REVIEW, payload)

    @workflow.signal(name=K.REVIEW.value, description=ACTIONS[K.REVIEW].description)
    def review_signal(self, *payload: Any) -> None:
        self._intake.on_signal(K.REVIEW, payload)

    @workflow.update(name=K.REVIEW.value, description=ACTIONS[K.REVIEW].description)
    async def review_update(self, *payload: Any) -> ActionResult:
        return await self._intake.on_update(K.REVIEW, payload)

    @review_update.validator
    def _validate_review(self, *payload: Any) -> None:
        self._intake.validate(K.REVIEW, payload)

    @workflow.signal(name=K.CONFIRM.value, description=ACTIONS[K.CONFIRM].description)
    def confirm_signal(self, *payload: Any) -> None:
        self._intake.on_signal(K.CONFIRM, payload)

    @workflow.update(name=K.CONFIRM.value, description=ACTIONS[K.CONFIRM].description)
    async def confirm_update(self, *payload: Any) -> ActionResult:
        return await self._intake.on_update(K.CONFIRM, payload)

    @confirm_update.validator
    def _validate_confirm(self, *payload: Any) -> None:
        self._intake.validate(K.CONFIRM, payload)

    @workflow.signal(name=K.REJECT.value, description=ACTIONS[K.REJECT].description)
    def reject_signal(self, *payload: Any) -> None:
        self._intake.on_signal(K.REJECT, payload)

    @workflow.update(name=K.REJECT.value, description=ACTIONS[K.REJECT].description)
    async def reject_update(self, *payload: Any) -> ActionResult:
        return await self._intake.on_update(K.REJECT, payload)

    @reject_update.validator
    def _validate_reject(self, *payload: Any) -> None:
        self._intake.validate(K.REJECT, payload)

    @workflow.signal(name=K.CARD_BOUND.value, description=ACTIONS[K.CARD_BOUND].description)
    def card_bound_signal(self, *payload: Any) -> None:
        self._intake.on_signal(K.CARD_BOUND, payload)

    @workflow.update(name=K.CARD_BOUND.value, description=ACTIONS[K.CARD_BOUND].description)
    async def card_bound_update(self, *payload: Any) -> ActionResult:
        return await self._intake.on_update(K.CARD_BOUND, payload)

    @card_bound_update.validator
    def _validate_card_bound(self, *payload: Any) -> None:
        self._intake.validate(K.CARD_BOUND, payload)

    @workflow.signal(name=K.WITHDRAW.value, description=ACTIONS[K.WITHDRAW].description)
    def withdraw_signal(self, *payload: Any) -> None:
        self._intake.on_signal(K.WITHDRAW, payload)

    @workflow.update(name=K.WITHDRAW.value, description=ACTIONS[K.WITHDRAW].description)
    async def withdraw_update(self, *payload: Any) -> ActionResult:
        return await self._intake.on_update(K.WITHDRAW, payload)

    @withdraw_update.validator
    def _validate_withdraw(self, *payload: Any) -> None:
        self._intake.validate(K.WITHDRAW, payload)

    @workflow.signal(name=K.RECHECK.value, description=ACTIONS[K.RECHECK].description)
    def recheck_signal(self, *payload: Any) -> None:
        self._intake.on_signal(K.RECHECK, payload)

    @workflow.update(name=K.RECHECK.value, description=ACTIONS[K.RECHECK].description)
    async def recheck_update(self, *payload: Any) -> ActionResult:
        return await self._intake.on_update(K.RECHECK, payload)

    @recheck_update.validator
    def _validate_recheck(self, *payload: Any) -> None:
        self._intake.validate(K.RECHECK, payload)

    @workflow.update(
        name=SUBMISSION_UPDATE,
        description="Answers once the preconditions are checked: accepted, or which failed.",
    )
    async def submission(self) -> SubmissionResult:
        return await self._intake.on_submission()

    @workflow.query(name=STATUS_QUERY, description="Full state: parties, deadlines, timeline.")
    def status(self) -> UnbindingState:
        return self._state.public
