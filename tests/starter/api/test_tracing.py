"""One action, one trace: the caller's span, the API's request, the client's
call to Temporal, the workflow and the activities that write the ledger share
one trace id (OpenTelemetry, recorded by an in-memory exporter)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from opentelemetry import propagate
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.connection import connect_client
from starter.telemetry import Telemetry, with_tracer_provider
from tests.conftest import Ledger, eventually, history_length, running_worker
from tests.starter.api.conftest import LiveApi
from workflows.contract import workflow_id_for
from workflows.model import ConfirmAction, Deadlines, UnbindStatus
from workflows.unbinding import UnbindingWorkflow

pytestmark = pytest.mark.integration

REMINDED_SOON = Deadlines(
    customer_confirmation=timedelta(minutes=1), reminders_before=(timedelta(seconds=40),)
)
"""The customer's wait reminds 20 s after it begins: after its run continued."""
REMINDER_WITHIN = 60.0


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.shutdown()


@pytest.fixture(scope="module")
def provider(spans: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider


@pytest.fixture
def api_telemetry(provider: TracerProvider) -> Telemetry:
    return with_tracer_provider(provider)


@pytest.fixture
async def api_temporal(dev_env: WorkflowEnvironment, api_telemetry: Telemetry) -> Client:
    """The API's client and the worker's, traced: the worker built on it
    traces workflows and activities."""
    target = dev_env.client.service_client.config.target_host
    return await connect_client({"target_host": target, "namespace": "default"}, api_telemetry)


def _trace(spans: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]


def _ancestry(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    """``span``'s name and its ancestors', up to the root of what was recorded."""
    names = [span.name]
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


async def test_a_submission_is_one_trace_from_the_caller_to_the_ledger(
    live_api: LiveApi,
    ledger: Ledger,
    provider: TracerProvider,
    spans: InMemorySpanExporter,
) -> None:
    parties = ledger.direct()
    caller = provider.get_tracer("caller")
    with caller.start_as_current_span("reseller portal: unbind customer") as root:
        headers = live_api.headers(parties.reseller)
        propagate.inject(headers)
        submitted = await live_api.http.post(
            "/applications",
            json={"customer_uin": parties.customer, "acknowledge_notice": True},
            headers=headers,
        )
    assert submitted.status_code == 201, submitted.text
    trace_id = root.get_span_context().trace_id

    # The run goes on after the answer: wait for its record to be written.
    async def in_trace() -> list[ReadableSpan]:
        return _trace(spans, trace_id)

    recorded = await eventually(
        in_trace,
        lambda found: any(s.name == "RunActivity:commit" for s in found),
    )
    by_id = {s.context.span_id: s for s in recorded}
    names = {s.name for s in recorded}
    assert "POST /applications" in names
    assert "RunWorkflow:Unbinding" in names
    assert {"RunActivity:check_application", "RunActivity:commit"} <= names
    write = next(s for s in recorded if s.name == "RunActivity:commit")
    chain = _ancestry(write, by_id)
    # The ledger write descends from the caller through the API request.
    assert chain[-1] == "reseller portal: unbind customer", chain
    assert "POST /applications" in chain, chain
    # The URL's customer UIN stays out of span names.
    assert not [s.name for s in recorded if parties.customer in s.name]


async def test_a_confirmation_is_one_trace_from_the_caller_to_the_ledger(
    live_api: LiveApi,
    ledger: Ledger,
    provider: TracerProvider,
    spans: InMemorySpanExporter,
) -> None:
    """A later action's handler and the activities it leads to (the cutover
    that writes the ledger) join the caller's trace; the handler links to the
    application's trace."""
    parties = ledger.direct()
    submitted = await live_api.http.post(
        "/applications",
        json={"customer_uin": parties.customer, "acknowledge_notice": True},
        headers=live_api.headers(parties.reseller),
    )
    assert submitted.status_code == 201, submitted.text
    caller = provider.get_tracer("caller")
    with caller.start_as_current_span("customer portal: confirm") as root:
        headers = live_api.headers(parties.customer, key="confirm-1")
        propagate.inject(headers)
        confirmed = await live_api.http.post(
            f"/applications/{parties.customer}/confirm", headers=headers
        )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "COMPLETED"
    # The cutover wrote the ledger: the customer has no partner any more.
    assert ledger.pc.show(parties.customer)["partner"] is None

    action_trace = _trace(spans, root.get_span_context().trace_id)
    by_id = {s.context.span_id: s for s in action_trace}
    write = next(s for s in action_trace if s.name == "RunActivity:cut_over")
    assert _ancestry(write, by_id) == [
        "RunActivity:cut_over",
        "StartActivity:cut_over",
        "HandleUpdate:confirm",
        "StartWorkflowUpdate:confirm",
        "POST /applications/{customer_uin}/confirm",
        "customer portal: confirm",
    ]
    # The confirmation's other activity too (the account read, which is the
    # card check and the final check at once; the cutover writes the ending
    # itself), none of the submission's.
    names = {s.name for s in action_trace}
    assert "RunActivity:check_account" in names
    assert "RunActivity:commit" not in names
    assert "RunWorkflow:Unbinding" not in names
    [handler] = [s for s in action_trace if s.name == "HandleUpdate:confirm"]
    [start] = [
        s
        for s in spans.get_finished_spans()
        if s.name == "RunWorkflow:Unbinding"
        and s.attributes is not None
        and s.attributes.get("temporalWorkflowID") == handler.attributes.get("temporalWorkflowID")
    ]
    assert [link.context.trace_id for link in handler.links] == [start.context.trace_id]


async def test_a_continued_run_keeps_the_waits_activities_in_the_actions_trace(
    api_temporal: Client,
    partner_center: SqlPartnerCenter,
    executor: ThreadPoolExecutor,
    ledger: Ledger,
    lower_history_bound: Callable[[int], None],
    provider: TracerProvider,
    spans: InMemorySpanExporter,
) -> None:
    """The distributor's review is accepted, the customer's wait continues as
    new, and that wait's reminder, written by the next run, is in the review's
    trace (not in the application's, where the SDK's own header would put it)."""
    parties = ledger.second_level()
    assert parties.distributor is not None
    async with running_worker(api_temporal, partner_center, executor) as worker:
        client = UnbindingClient(api_temporal, task_queue=worker.task_queue)
        await client.apply(
            customer_uin=parties.customer,
            initiator_uin=parties.reseller,
            notice_acknowledged=True,
            deadlines=REMINDED_SOON,
        )
        caller = provider.get_tracer("caller")
        with caller.start_as_current_span("distributor portal") as root:
            reviewed = await client.review(
                parties.customer, actor=parties.distributor, approve=True
            )
        assert reviewed.status is UnbindStatus.PENDING_CUSTOMER_CONFIRMATION, reviewed
        handle = api_temporal.get_workflow_handle(workflow_id_for(parties.customer))
        first_run = (await handle.describe()).run_id
        # Past the bound now: the next message the wait hears hands it over.
        lower_history_bound(await history_length(handle))
        await handle.signal("confirm", ConfirmAction(action_id="noise-1", actor=parties.reseller))
        state = await eventually(
            lambda: handle.query(UnbindingWorkflow.status), lambda s: s.runs == 2
        )
        assert state.runs == 2 and state.status is UnbindStatus.PENDING_CUSTOMER_CONFIRMATION
        second_run = (await handle.describe()).run_id
        assert second_run != first_run

        async def written() -> list[ReadableSpan]:
            """The reminder's write: the second run's only activity so far."""
            return [
                s
                for s in spans.get_finished_spans()
                if s.name == "RunActivity:commit"
                and s.attributes is not None
                and s.attributes.get("temporalRunID") == second_run
            ]

        [write] = await eventually(written, bool, within=REMINDER_WITHIN)
    assert write.context.trace_id == root.get_span_context().trace_id
    review_trace = _trace(spans, root.get_span_context().trace_id)
    by_id = {s.context.span_id: s for s in review_trace}
    assert _ancestry(write, by_id)[:2] == ["RunActivity:commit", "StartActivity:commit"]
    assert "distributor portal" in _ancestry(write, by_id)
