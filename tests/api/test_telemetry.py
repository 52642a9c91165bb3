"""``unbind-api`` as deployed with ``UNBIND_METRICS_ADDRESS``,
``UNBIND_LOG_FORMAT=json`` and ``OTEL_EXPORTER_OTLP_ENDPOINT``: its runtime
serves the SDK's client metrics, every line it writes (uvicorn's included) is
a JSON object, and its request spans reach the collector."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from starter.devstack.ports import HOST, free_port
from tests.api.conftest import Stack, bearer, start_api
from tests.conftest import fresh_uin
from tests.observability.collector import serving
from tests.observability.scrape import scrape

pytestmark = pytest.mark.integration


@asynccontextmanager
async def api_asked_once(stack: Stack, name: str, **variables: str) -> AsyncIterator[None]:
    """The API with ``variables`` set, asked once for an application that
    does not exist (so its client asks Temporal); stopped when the block ends."""
    api = start_api(
        env={**stack.env, **variables}, log_path=stack.run_dir / f"{name}.log", name=name
    )
    try:
        await api.wait_until_healthy()
        customer = fresh_uin()
        async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as http:
            missing = await http.get(
                f"/applications/{customer}", headers=bearer(stack.tokens.account(customer))
            )
        assert missing.status_code == 404, missing.text
        yield
    finally:
        api.child.stop()


async def test_the_api_serves_its_metrics_and_writes_json_lines(stack: Stack) -> None:
    address = f"{HOST}:{free_port()}"
    json_lines = {"UNBIND_METRICS_ADDRESS": address, "UNBIND_LOG_FORMAT": "json"}
    async with api_asked_once(stack, "observed-api", **json_lines):
        metrics = await scrape(address)
    # The API's client asked Temporal about that application.
    assert metrics.value("temporal_request_total") > 0, sorted(metrics.names)
    written = (stack.run_dir / "observed-api.log").read_text().splitlines()
    # The harness heads the log with a "==== start" line of its own.
    lines = [json.loads(line) for line in written if line.strip() and not line.startswith("====")]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line["logger"].startswith("uvicorn") for line in lines)


async def test_the_api_exports_a_span_per_request_to_the_otlp_endpoint(stack: Stack) -> None:
    """Spans still buffered when the API is stopped are exported on the way out."""
    with serving() as collector:
        async with api_asked_once(
            stack,
            "traced-api",
            OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint,
            OTEL_SERVICE_NAME="unbind-api-under-test",
        ):
            pass
        spans = set(collector.spans)
    assert ("unbind-api-under-test", "GET /applications/{customer_uin}") in spans, spans
    assert ("unbind-api-under-test", "GET /healthz") in spans
