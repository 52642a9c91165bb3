"""Every operation of the live ``/openapi.json``, fuzzed by schemathesis with a
development token (``unbind token``) on an API started with
``UNBIND_API_DEV_TOKENS=1``: no 5xx, and every answer has the status codes,
content type and body its schema declares. Bounded to ``EXAMPLES`` per
operation so the run takes a minute or two."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from starter.devstack.process import ROOT
from tests.api.conftest import ApiProcess, Stack, build_world, start_api, submitted

pytestmark = pytest.mark.integration

EXAMPLES = 50
CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
)
SEED = int(os.environ.get("UNBIND_SCHEMATHESIS_SEED", "20261129"))
"""Fixed, so a failure reproduces; set the variable to explore other inputs."""
RUN_WITHIN = 400.0
"""Seconds the whole schemathesis run may take."""


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


def config_for(customers: list[str]) -> str:
    """Half the generated paths name a customer with an open application, so
    the fuzzer also reaches the visibility, who-may-act and state checks."""
    values = ", ".join(f'"{uin}"' for uin in customers)
    return (
        f"[dictionaries.customers]\nvalues = [{values}]\n\n[parameters]\n"
        '"path.customer_uin" = { dictionary = "customers", probability = 0.5 }\n'
    )


async def test_every_operation_keeps_its_schema(
    http: httpx.AsyncClient, stack: Stack, dev_api: ApiProcess, dev_token: str
) -> None:
    worlds = [build_world(stack), build_world(stack, second_level=False, card=True)]
    for world in worlds:
        await submitted(http, world)
    report = stack.run_dir / "schemathesis"
    report.mkdir(exist_ok=True)
    config = report / "schemathesis.toml"
    config.write_text(config_for([w.customer for w in worlds]))
    # The CLI rather than the pytest plugin: schemathesis 4's from_fixture reads
    # a pytest internal (Function._nodeid) that pytest 9 no longer has.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{dev_api.base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {dev_token}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(EXAMPLES),
        "--phases",
        "examples,fuzzing",
        "--request-timeout",
        "30",
        "--seed",
        str(SEED),
        "--continue-on-failure",
        "--suppress-health-check",
        "all",
        "--report",
        "junit",
        "--report-dir",
        str(report),
        # Its crash cache (.schemathesis/) goes to the run directory, not the repository.
        cwd=report,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), RUN_WITHIN)
    text = out.decode(errors="replace")
    (report / "output.txt").write_text(text)
    assert process.returncode == 0, text[-12000:]
