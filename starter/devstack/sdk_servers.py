"""The SDK's own server launchers (``temporalio.testing.WorkflowEnvironment``)
on the binaries the ``[local]`` extra installs, with our search attributes
and converter: the dev server for real-time runs, the time-skipping test
server for runs where days of timers pass in a moment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from temporalio.testing import WorkflowEnvironment

from starter.devstack.binaries import binary
from starter.devstack.ports import HOST
from starter.devstack.server import dynamic_config_flags, register_search_attributes
from workflows import search_attributes as sa
from workflows.contract import DATA_CONVERTER


@asynccontextmanager
async def dev_server_environment(**options: Any) -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server, on loopback, in memory, with the dynamic
    configuration of every local stack (``DEV_SERVER_DYNAMIC_CONFIG``: no
    50 ms wait per activity); ``options`` go to ``WorkflowEnvironment.start_local``,
    ``dev_server_extra_args`` after ours."""
    extra_args = [*dynamic_config_flags(), *options.pop("dev_server_extra_args", [])]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=DATA_CONVERTER,
        search_attributes=list(sa.ALL),
        ip=HOST,
        dev_server_log_level="error",
        dev_server_extra_args=extra_args,
        **options,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@asynccontextmanager
async def time_skipping_environment() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    try:
        # The test server knows no custom search attributes until told.
        await register_search_attributes(env.client)
        yield env
    finally:
        await env.shutdown()
