"""How failures leave the worker: a business refusal reaches the Web UI (and
every client) as its message and type, never as a Python stack trace.

The Temporal SDK's extension point for this is the data converter's failure
converter. :func:`with_business_failures` puts ours on a client, whatever
payload converter it already uses, so the worker built from it reports
business refusals cleanly while technical errors keep their stack trace for
whoever debugs them.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from temporalio.api.failure.v1 import Failure
from temporalio.client import Client
from temporalio.converter import DefaultFailureConverter, PayloadConverter

BUSINESS_ERROR_TYPES: Final = frozenset(
    {
        # The relationship changed behind the process's back (activities/).
        "RelationshipConflict",
        # An update refused by the workflow's rules (wrong actor or state).
        "ActionRefused",
        # A malformed action or start from a raw client: the caller's mistake,
        # named field by field (workflows/unbinding.py, _one_message).
        "InvalidAction",
        "InvalidApplication",
    }
)
"""``ApplicationError`` types that are answers, not bugs."""


class BusinessFailureConverter(DefaultFailureConverter):
    """The default conversion, minus the stack traces of business refusals."""

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


def with_business_failures(client: Client) -> Client:
    """The same connection and payload converter, with business refusals
    reported without stack traces."""
    config = client.config()
    converter = config["data_converter"]
    if converter.failure_converter_class is BusinessFailureConverter:
        return client
    config["data_converter"] = dataclasses.replace(
        converter, failure_converter_class=BusinessFailureConverter
    )
    return Client(**config)
