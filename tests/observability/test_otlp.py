"""``python worker.py`` with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set exports its
spans over OTLP/HTTP: a collector (here, a small HTTP server that decodes
what it receives) gets the workflow's and activities' spans, named for the
service; and configuration mistakes stop the process naming the variable."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.errors import BadConfiguration
from starter.telemetry import telemetry_from_env
from tests.conftest import Ledger
from tests.observability.collector import Collector, serving
from tests.worker_process import spawn_worker
from workflows.model import UnbindStatus


@pytest.fixture
def collector() -> Iterator[Collector]:
    with serving() as collector:
        yield collector


@pytest.mark.integration
async def test_the_worker_exports_its_spans_to_the_otlp_endpoint(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    database_url: str,
    collector: Collector,
) -> None:
    task_queue = f"otlp-{uuid.uuid4().hex}"
    process = await spawn_worker(
        dev_env,
        task_queue=task_queue,
        database_url=database_url,
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint,
        OTEL_SERVICE_NAME="unbind-worker-under-test",
    )
    try:
        parties = ledger.direct()
        client = UnbindingClient(dev_env.client, task_queue=task_queue)
        await client.apply(
            customer_uin=parties.customer, initiator_uin=parties.reseller, notice_acknowledged=True
        )
        confirmed = await client.confirm(parties.customer, actor=parties.customer)
        assert confirmed.status is UnbindStatus.COMPLETED
    finally:
        process.terminate()
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, output.decode()
    # Shutting down flushed what the batch exporter still held.
    services = {service for service, _ in collector.spans}
    names = {name for _, name in collector.spans}
    assert services == {"unbind-worker-under-test"}
    # (The caller here is not traced, so the workflow's spans start at its activities.)
    assert {"RunActivity:check_application", "RunActivity:cut_over"} <= names


@pytest.mark.parametrize(
    ("variable", "value"),
    [("UNBIND_METRICS_ADDRESS", "9464"), ("UNBIND_METRICS_ADDRESS", "localhost:http")],
)
def test_a_wrong_metrics_address_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(BadConfiguration) as raised:
        telemetry_from_env("unbind-worker")
    assert raised.value.field == variable and "host:port" in raised.value.message
    assert raised.value.exit_code == 2


def test_without_the_variables_a_process_exports_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in (
        "UNBIND_METRICS_ADDRESS",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ):
        monkeypatch.delenv(variable, raising=False)
    telemetry = telemetry_from_env("unbind-worker")
    assert telemetry.runtime is None and telemetry.tracer_provider is None
    assert telemetry.client_options() == {}
