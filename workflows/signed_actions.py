"""The worker's side of signed actions: a Temporal interceptor.

The **update validator** (never replayed) verifies each action's signature
against the worker's keys and refuses, with ``ActionRefused`` naming why, an
unsigned party action (when the worker requires signatures: an operator's may
come unsigned) and any signature that does not verify, policy or not: a
signature on an accepted update is then always one that verified, so the
**update handler** (replayed) may take its principal for the timeline without
verifying again, and a key rotated away later changes no replay.

**Signals** cannot be verified replay-safely, so a party's signal is refused
outright in an application running under the policy; the workflow decides that
once per run (``Intake.party_signals_refused``), from the flag this interceptor
hands it, and records it as a patch marker.
"""

from __future__ import annotations

from typing import Any, ClassVar

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadConverter
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from workflows.contract import ACTION_REFUSED
from workflows.fields import is_operator
from workflows.intake import action_in
from workflows.model import Action, ActionKind
from workflows.signing import (
    SIGNATURE_HEADER,
    SignatureRefused,
    SigningPolicy,
    principal_of,
    verify,
)

_ACTION_KINDS = frozenset(kind.value for kind in ActionKind)

UNSIGNED = "unsigned: a party's action must come signed through the API"


def _decoded(header: Payload) -> Any:
    return PayloadConverter.default.from_payload(header)


def signature_refusal(
    policy: SigningPolicy,
    *,
    workflow_id: str,
    application_id: str,
    action: Action,
    header: Payload | None,
    now: Any,
) -> str | None:
    """Why ``action``'s signature (or its absence) is refused, or None."""
    if header is None:
        if policy.required and not is_operator(action.actor):
            return UNSIGNED
        return None
    try:
        signed = _decoded(header)
    except Exception:
        return "bad signature: the signature header is not JSON"
    if policy.keys is None:
        return "bad signature: this worker has no signing keys to verify it with"
    try:
        verify(
            signed,
            policy.keys,
            workflow_id=workflow_id,
            application_id=application_id,
            action=action,
            now=now,
        )
    except SignatureRefused as refusal:
        return str(refusal)
    return None


class SignedActionsInterceptor(Interceptor):
    """``Worker(interceptors=[SignedActionsInterceptor(policy)])``; the policy
    (flag and keys) is read from the environment by the process, not here."""

    def __init__(self, policy: SigningPolicy) -> None:
        self.policy = policy
        self._inbound = type("SignedActionsInbound", (_SignedActionsInbound,), {"policy": policy})

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return self._inbound


class _SignedActionsInbound(WorkflowInboundInterceptor):
    policy: ClassVar[SigningPolicy]

    @staticmethod
    def _intake() -> Any:
        # Duck-typed: another workflow type on the same worker passes untouched.
        return getattr(workflow.instance(), "intake", None)

    def _hand_over_the_flag(self) -> None:
        intake = self._intake()
        if intake is not None:
            intake.signatures_required = self.policy.required

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        self._hand_over_the_flag()
        return await super().execute_workflow(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        # A signal may come before the run starts (signal-with-start).
        self._hand_over_the_flag()
        await super().handle_signal(input)

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        if input.update in _ACTION_KINDS:
            try:
                action = action_in(ActionKind(input.update), tuple(input.args))
            except ApplicationError:
                action = None  # malformed: the workflow's validator names the field
            intake = self._intake()
            if action is not None and intake is not None:
                refusal = signature_refusal(
                    self.policy,
                    workflow_id=workflow.info().workflow_id,
                    application_id=intake.application_id,
                    action=action,
                    header=input.headers.get(SIGNATURE_HEADER),
                    now=workflow.now(),
                )
                if refusal is not None:
                    raise ApplicationError(refusal, type=ACTION_REFUSED, non_retryable=True)
        super().handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        header = input.headers.get(SIGNATURE_HEADER)
        intake = self._intake()
        if header is not None and intake is not None and input.update in _ACTION_KINDS:
            # Verified by the validator when it was accepted; not again here.
            try:
                principal = principal_of(_decoded(header))
            except Exception:
                principal = None
            if principal is not None:
                intake.principals[input.id] = principal
        return await super().handle_update_handler(input)
