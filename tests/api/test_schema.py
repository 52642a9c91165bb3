"""Every operation of the live ``/openapi.json``, fuzzed by schemathesis with a
development token (``unbind token``) on an API started with
``UNBIND_API_DEV_TOKENS=1``: no 5xx, and every answer has the status codes,
content type and body its schema declares. Bounded to ``EXAMPLES`` per
operation so the run takes a minute or two."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks
from schemathesis.schemas import BaseSchema

from starter.devstack.process import ROOT
from tests.api.conftest import ApiProcess, Stack, start_api

pytestmark = pytest.mark.integration

EXAMPLES = 50
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.status_code_conformance,
    checks.content_type_conformance,
]


def dev_environment(stack: Stack) -> dict[str, str]:
    own_key = ("UNBIND_API_PUBLIC_KEY", "UNBIND_API_ISSUER", "UNBIND_API_AUDIENCE")
    env = {k: v for k, v in stack.env.items() if k not in own_key}
    env["UNBIND_DEV_KEY_DIR"] = str(stack.run_dir / "dev-keys")
    return env


@pytest_asyncio.fixture(scope="module")
async def dev_api(stack: Stack) -> AsyncIterator[ApiProcess]:
    api = start_api(
        env={**dev_environment(stack), "UNBIND_API_DEV_TOKENS": "1"},
        log_path=stack.run_dir / "schema-api.log",
        name="dev-token api",
    )
    try:
        await api.wait_until_healthy()
        yield api
    finally:
        api.child.stop()


@pytest.fixture(scope="module")
def dev_token(stack: Stack, dev_api: ApiProcess) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "starter.cli", "token", "--operator", "fuzzer", "--json"],
        cwd=ROOT,
        env=dev_environment(stack),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    token: str = json.loads(done.stdout)["token"]
    return token


@pytest.fixture(scope="module")
def live_schema(dev_api: ApiProcess) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{dev_api.base_url}/openapi.json")


schema = schemathesis.pytest.from_fixture("live_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_schema(
    case: schemathesis.Case, dev_api: ApiProcess, dev_token: str
) -> None:
    case.call_and_validate(
        base_url=dev_api.base_url,
        headers={"Authorization": f"Bearer {dev_token}"},
        checks=CHECKS,
        timeout=30,
    )
