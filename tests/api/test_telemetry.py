"""``unbind-api`` as deployed with ``UNBIND_METRICS_ADDRESS`` and
``UNBIND_LOG_FORMAT=json``: its runtime serves the SDK's client metrics, and
every line it writes (uvicorn's included) is a JSON object."""

from __future__ import annotations

import json

import httpx
import pytest

from starter.devstack.ports import HOST, free_port
from tests.api.conftest import Stack, bearer, start_api
from tests.conftest import fresh_uin
from tests.observability.scrape import scrape

pytestmark = pytest.mark.integration


async def test_the_api_serves_its_metrics_and_writes_json_lines(stack: Stack) -> None:
    address = f"{HOST}:{free_port()}"
    log_path = stack.run_dir / "api-observed.log"
    api = start_api(
        env={**stack.env, "UNBIND_METRICS_ADDRESS": address, "UNBIND_LOG_FORMAT": "json"},
        log_path=log_path,
        name="observed api",
    )
    try:
        await api.wait_until_healthy()
        customer = fresh_uin()
        async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as http:
            missing = await http.get(
                f"/applications/{customer}", headers=bearer(stack.tokens.account(customer))
            )
        assert missing.status_code == 404, missing.text
        metrics = await scrape(address)
    finally:
        api.child.stop()
    # The API's client asked Temporal about that application.
    assert metrics.value("temporal_request_total") > 0, sorted(metrics.names)
    written = log_path.read_text().splitlines()
    # The harness heads the log with a "==== start" line of its own.
    lines = [json.loads(line) for line in written if line.strip() and not line.startswith("====")]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line["logger"].startswith("uvicorn") for line in lines)
