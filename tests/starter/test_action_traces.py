"""Which trace a workflow's later activities join (starter/action_tracing.py):
the latest accepted action's, the timers' reminders and the expiry included;
a refused action's, never. On the time-skipping server with a real worker,
spans recorded by an in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from starter.telemetry import with_tracer_provider
from tests.conftest import Ledger, running_worker
from tests.workflows.scenarios import SIGNALS, act, action, status, submit
from workflows.model import ActionKind, UnbindStatus
from workflows.unbinding import UnbindingWorkflow

S = UnbindStatus
pytestmark = pytest.mark.timeskipping


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.shutdown()


@pytest.fixture
def provider(spans: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider


@pytest.fixture
def traced(time_skipping_env: WorkflowEnvironment, provider: TracerProvider) -> Client:
    """The time-skipping client (it skips time while a result is awaited),
    traced; a worker built on it traces workflows and activities."""
    config = time_skipping_env.client.config()
    interceptors = [*with_tracer_provider(provider).interceptors, *config["interceptors"]]
    return Client(**{**config, "interceptors": interceptors})


def _activities(spans: InMemorySpanExporter, workflow_id: str) -> list[ReadableSpan]:
    return [
        s
        for s in spans.get_finished_spans()
        if s.name.startswith(("StartActivity:", "RunActivity:"))
        and s.attributes is not None
        and s.attributes.get("temporalWorkflowID") == workflow_id
    ]


async def _replays_without_spans(
    history: WorkflowHistory, traced: Client, provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    """The history, with the actions' trace headers, replays under the
    tracing interceptor without a nondeterminism error and emits no span."""
    before = len(spans.get_finished_spans())
    replayer = Replayer(
        workflows=[UnbindingWorkflow],
        data_converter=traced.data_converter,
        interceptors=with_tracer_provider(provider).interceptors,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
    assert len(spans.get_finished_spans()) == before


def _names(spans: list[ReadableSpan], trace_id: int) -> list[str]:
    return sorted(s.name for s in spans if s.context.trace_id == trace_id)


async def test_reminders_and_the_expiry_after_an_accepted_review_are_in_its_trace(
    traced: Client,
    provider: TracerProvider,
    spans: InMemorySpanExporter,
    ledger: Ledger,
    executor: ThreadPoolExecutor,
) -> None:
    parties = ledger.second_level()
    assert parties.distributor is not None
    caller = provider.get_tracer("caller")
    async with running_worker(traced, ledger.pc, executor) as worker:
        with caller.start_as_current_span("reseller portal: unbind customer") as submission:
            handle, submitted = await submit(traced, worker.task_queue, parties)
        assert submitted.status is S.PENDING_DISTRIBUTOR_REVIEW, submitted
        with caller.start_as_current_span("distributor portal: approve") as review:
            reviewed = await act(handle, ActionKind.REVIEW, parties.distributor, approve=True)
        assert reviewed.accepted and reviewed.status is S.PENDING_CUSTOMER_CONFIRMATION
        # Nobody confirms: two reminders, then the deadline ends it.
        outcome = await handle.result()
    assert outcome.status is S.EXPIRED
    reminders = [m for m in ledger.pc.inbox(parties.customer) if m["event"].startswith("reminder:")]
    assert len(reminders) == 2, reminders

    activities = _activities(spans, handle.id)
    in_review = _names(activities, review.get_span_context().trace_id)
    # The reminders and the expiry's record and notices (one write each)
    # follow the review; nothing after it stays in the submission's trace.
    assert in_review.count("RunActivity:commit") >= 2 + 1, in_review
    assert len(in_review) + len(_names(activities, submission.get_span_context().trace_id)) == len(
        activities
    )
    assert "RunActivity:check_application" in _names(
        activities, submission.get_span_context().trace_id
    )
    await _replays_without_spans(await handle.fetch_history(), traced, provider, spans)


async def test_a_refused_action_leaves_the_activities_that_follow_where_they_were(
    traced: Client,
    provider: TracerProvider,
    spans: InMemorySpanExporter,
    ledger: Ledger,
    executor: ThreadPoolExecutor,
) -> None:
    parties = ledger.direct()
    caller = provider.get_tracer("caller")
    async with running_worker(traced, ledger.pc, executor) as worker:
        with caller.start_as_current_span("reseller portal: unbind customer") as submission:
            handle, submitted = await submit(traced, worker.task_queue, parties)
        assert submitted.status is S.PENDING_CUSTOMER_CONFIRMATION, submitted
        # Only the customer confirms: the reseller's signal is refused.
        with caller.start_as_current_span("reseller portal: confirm") as refused:
            await handle.signal(
                SIGNALS[ActionKind.CONFIRM], action(ActionKind.CONFIRM, parties.reseller)
            )
        timeline = (await status(handle)).timeline
        assert [(e.action, e.accepted) for e in timeline][-1] == ("confirm", False), timeline
        outcome = await handle.result()
    assert outcome.status is S.EXPIRED

    refused_trace = [
        s.name
        for s in spans.get_finished_spans()
        if s.context.trace_id == refused.get_span_context().trace_id
    ]
    assert "HandleSignal:confirm" in refused_trace
    assert not [n for n in refused_trace if "Activity:" in n], refused_trace
    # The reminders and the expiry stay in the submission's trace.
    activities = _activities(spans, handle.id)
    in_submission = _names(activities, submission.get_span_context().trace_id)
    assert in_submission == sorted(s.name for s in activities)
    assert in_submission.count("RunActivity:commit") >= 2 + 1, in_submission
    await _replays_without_spans(await handle.fetch_history(), traced, provider, spans)
