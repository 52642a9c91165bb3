"""One trace per action, from the caller to the ledger (docs/OPERATIONS.md, "Traces").

The SDK's ``TracingInterceptor`` keeps every span of a workflow in the trace
its start began: a later action's handler span only *links* to the caller's
trace, and the activities the action leads to (the cutover writing the ledger,
the notifications) land in the application's trace. This subclass, the
customisation the SDK documents, changes two things on the workflow side:

- a signal's or an update's handler span (and an update validator's) is a
  child of the caller's span carried in the message's headers, and links to
  the application's trace;
- once the workflow accepts an action (``Intake.on_accepted``, called inside
  the handler), the context of that action is remembered, and every activity
  the workflow starts afterwards, the timers' reminders included, is started
  under it: its ``StartActivity`` span, and so the activity's
  ``RunActivity`` span, join the action's trace, until another action is
  accepted. Before any action, activities stay in the submission's trace.
  A run that continues as new hands that context to the next run in a header
  of its own, so the reminders and deadlines of the same wait stay in the
  action's trace.

Only OpenTelemetry contexts are handled: no command changes (a
continue-as-new carries one header more, which replay does not compare), so
histories replay as before; the SDK emits no span on replay. Refused actions (a
validator's refusal, a refused signal) capture nothing.

Needs the ``telemetry`` extra; imported only when tracing is on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

import opentelemetry.context
import opentelemetry.trace
from opentelemetry.context import Context
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.contrib.opentelemetry import (
    TracingInterceptor,
    TracingWorkflowInboundInterceptor,
)

# Private to the SDK, and the only way to run before its outbound span: the
# tests in tests/starter/api/test_tracing.py fail if an SDK upgrade moves them.
from temporalio.contrib.opentelemetry._context import attached_context
from temporalio.contrib.opentelemetry._interceptor import _TracingWorkflowOutboundInterceptor
from temporalio.worker import (
    ContinueAsNewInput,
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    StartActivityInput,
    StartLocalActivityInput,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

ACTION_HEADER = "_unbind-action-tracer-data"
"""The continue-as-new header that carries the latest accepted action's context."""


class ActionTracingInterceptor(TracingInterceptor):
    """The SDK's tracing interceptor, for clients and workers, with each
    accepted action's activities in the action's trace."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)  # registers the SDK's externs
        return ActionTracingWorkflowInbound


@dataclass
class _Headers:
    """Where the SDK writes a new span's context (its ``add_to_outbound``)."""

    headers: Mapping[str, Payload] = field(default_factory=dict)


class ActionTracingWorkflowInbound(TracingWorkflowInboundInterceptor):
    def __init__(self, next: Any) -> None:
        super().__init__(next)
        self._action_context: Context | None = None
        """The context of the latest accepted action, or None before any."""
        self._listening = False

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        # Ours first, so the SDK's StartActivity span opens under the action.
        outbound = _ActionOutbound(_TracingWorkflowOutboundInterceptor(outbound, self), self)
        super(TracingWorkflowInboundInterceptor, self).init(outbound)

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        # A continued run takes over the action its predecessor was in.
        carried = self._carrier(input.headers, ACTION_HEADER)
        if carried is not None:
            self._action_context = self._set_on_context(self.text_map_propagator.extract(carried))
        return await super().execute_workflow(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        await self._handle(f"HandleSignal:{input.signal}", input.headers, input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        return await self._handle(f"HandleUpdate:{input.update}", input.headers, input)

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        with self._caller_context(f"ValidateUpdate:{input.update}", input.headers):
            self.next.handle_update_validator(input)

    async def _handle(
        self,
        name: str,
        headers: Mapping[str, Payload],
        input: HandleSignalInput | HandleUpdateInput,
    ) -> Any:
        self._listen()
        with self._caller_context(name, headers):
            if isinstance(input, HandleSignalInput):
                return await self.next.handle_signal(input)
            return await self.next.handle_update_handler(input)

    @contextmanager
    def _caller_context(self, name: str, headers: Mapping[str, Payload]) -> Iterator[None]:
        """Run a handler under a span that is a child of the caller's span in
        ``headers`` (the SDK's behaviour, in the application's trace, when the
        message carries none)."""
        caller = self._carrier(headers)
        # The SDK's context first: it records a workflow failure in the
        # application's trace.
        with self._top_level_workflow_context(success_is_complete=False):
            if caller is None:
                self._completed_span(name, kind=opentelemetry.trace.SpanKind.SERVER)
                yield
                return
            with attached_context(self._set_on_context(self.text_map_propagator.extract(caller))):
                written = _Headers()
                self._completed_span(
                    name,
                    link_context_carrier=self._load_workflow_context_carrier(),
                    add_to_outbound=written,
                    kind=opentelemetry.trace.SpanKind.SERVER,
                )
                # Under the handler's span when one was made (never on replay:
                # then under the caller's, in the same trace).
                handler = self._carrier(written.headers)
                with attached_context(
                    None
                    if handler is None
                    else self._set_on_context(self.text_map_propagator.extract(handler))
                ):
                    yield

    def _carrier(
        self, headers: Mapping[str, Payload], key: str | None = None
    ) -> dict[str, Any] | None:
        payload = headers.get(key or self.header_key)
        if not payload:
            return None
        carrier = self.payload_converter.from_payloads([payload])[0]
        return carrier if isinstance(carrier, dict) and carrier else None

    def _listen(self) -> None:
        """Be told when the workflow accepts an action (``workflows.intake``)."""
        if self._listening:
            return
        self._listening = True
        intake = getattr(workflow.instance(), "intake", None)
        if intake is not None:
            intake.on_accepted = self._remember

    def _remember(self) -> None:
        # Called inside the accepting handler, under the action's context.
        self._action_context = opentelemetry.context.get_current()

    def hand_over(self, input: ContinueAsNewInput) -> None:
        """Put the latest accepted action's context on the continue-as-new."""
        if self._action_context is None:
            return
        carrier: dict[str, Any] = {}
        self.text_map_propagator.inject(carrier, context=self._action_context)
        if carrier:
            payload = self.payload_converter.to_payloads([carrier])[0]
            input.headers = {**input.headers, ACTION_HEADER: payload}

    @contextmanager
    def in_action(self) -> Iterator[None]:
        """The latest accepted action's context, if any, for the block."""
        with attached_context(self._action_context):
            yield


class _ActionOutbound(WorkflowOutboundInterceptor):
    def __init__(self, next: WorkflowOutboundInterceptor, root: ActionTracingWorkflowInbound):
        super().__init__(next)
        self._root = root

    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        with self._root.in_action():
            return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle[Any]:
        with self._root.in_action():
            return super().start_local_activity(input)

    def continue_as_new(self, input: ContinueAsNewInput) -> NoReturn:
        self._root.hand_over(input)
        super().continue_as_new(input)
