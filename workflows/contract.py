"""The Temporal contract: the names and encoding every process must agree on.

Worker, client, CLI, tests, replayer, demo, bench and fault suite import these
from here, and so does a service written with another SDK (docs/PROCESS.md,
"From another SDK"). Nothing here imports the workflow itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Final

from temporalio.api.failure.v1 import Failure
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverter, PayloadConverter

from workflows.model import Action

WORKFLOW_TYPE: Final = "Unbinding"
DEFAULT_TASK_QUEUE: Final = "reseller-unbinding"
SUBMISSION_UPDATE: Final = "submission"
STATUS_QUERY: Final = "status"
APPLICATIONS_LISTED: Final = (
    f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus != 'ContinuedAsNew'"
)
"""Visibility's applications, one row each: a run that continued as new keeps
the search attributes it had then, and its successor is the application."""


def workflow_id_for(customer_uin: str) -> str:
    """One open application per customer: the id says whose it is."""
    return f"unbind-{customer_uin}"


def action_fingerprint(action: Action) -> str:
    """A short hash of the whole action (kind and every field set), so two
    actions sharing an ``action_id`` can be told apart. Unset optional fields
    are left out: adding one to a message keeps earlier fingerprints."""
    canonical = json.dumps(
        {"kind": action.kind.value, **action.model_dump(mode="json", exclude_none=True)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def update_id_for(action: Action) -> str:
    """The update id an action is sent with. The server answers a repeated
    update id from the finished update without asking the workflow, so the id
    names the whole action: a true repeat is answered for free, while another
    party's (or another) action reusing the ``action_id`` reaches the workflow
    and is refused there."""
    return f"{action.kind.value}:{action.actor}:{action.action_id}:{action_fingerprint(action)}"


# ``ApplicationError`` types that are answers, not bugs.
RELATIONSHIP_CONFLICT: Final = "RelationshipConflict"
"""The relationship changed behind the process's back (activities/)."""
ACTION_REFUSED: Final = "ActionRefused"
"""An update refused by the workflow's rules (wrong actor or state)."""
INVALID_ACTION: Final = "InvalidAction"
"""A malformed action from a raw client, named field by field."""
INVALID_APPLICATION: Final = "InvalidApplication"
"""The type a run fails with when started with a malformed application."""

BUSINESS_ERROR_TYPES: Final = frozenset(
    {RELATIONSHIP_CONFLICT, ACTION_REFUSED, INVALID_ACTION, INVALID_APPLICATION}
)


class BusinessFailureConverter(DefaultFailureConverter):
    """The default conversion, minus the stack traces of business refusals: a
    refusal reaches the Web UI (and every client) as its message and type."""

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        super().to_failure(exception, payload_converter, failure)
        if (
            failure.HasField("application_failure_info")
            and failure.application_failure_info.type in BUSINESS_ERROR_TYPES
        ):
            _drop_stack_traces(failure)


def _drop_stack_traces(failure: Failure) -> None:
    # The cause chain repeats the refusal (the partner center's own error).
    while True:
        failure.stack_trace = ""
        if not failure.HasField("cause"):
            return
        failure = failure.cause


DATA_CONVERTER: Final[DataConverter] = dataclasses.replace(
    pydantic_data_converter, failure_converter_class=BusinessFailureConverter
)
"""Pydantic payloads (every message is a pydantic model), business refusals
without stack traces. Every client and worker connects with it."""


def with_business_failures(client: Client) -> Client:
    """The same connection and payload converter, with business refusals
    reported without stack traces (for a client built elsewhere, e.g. a test
    environment's)."""
    config = client.config()
    converter = config["data_converter"]
    # A subclass (starter.payload_codec's sealed failures) does that too.
    if issubclass(converter.failure_converter_class, BusinessFailureConverter):
        return client
    config["data_converter"] = dataclasses.replace(
        converter, failure_converter_class=BusinessFailureConverter
    )
    return Client(**config)
