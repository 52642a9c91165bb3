"""Business refusals leave the worker without a stack trace; faults keep theirs.
(The Web UI side is tested in tests/browser.)"""

from __future__ import annotations

from temporalio.api.failure.v1 import Failure
from temporalio.converter import DefaultPayloadConverter
from temporalio.exceptions import ApplicationError

from workflows.contract import BusinessFailureConverter


def _failure_of(error: ApplicationError) -> Failure:
    """The failure the worker would send for ``error``, raised from a cause."""
    try:
        try:
            raise ValueError("the partner center's own error")
        except ValueError as cause:
            raise error from cause
    except ApplicationError as raised:
        failure = Failure()
        BusinessFailureConverter().to_failure(raised, DefaultPayloadConverter(), failure)
        return failure


def test_a_business_refusal_keeps_its_message_and_type_but_no_stack_trace() -> None:
    failure = _failure_of(
        ApplicationError("relationship check failed", type="RelationshipConflict")
    )

    assert failure.message == "relationship check failed"
    assert failure.application_failure_info.type == "RelationshipConflict"
    assert failure.stack_trace == ""
    assert failure.cause.message == "the partner center's own error"
    assert failure.cause.stack_trace == ""


def test_a_fault_keeps_its_stack_trace() -> None:
    failure = _failure_of(ApplicationError("database is locked", type="OperationalError"))

    assert "test_failures.py" in failure.stack_trace
    assert "test_failures.py" in failure.cause.stack_trace
