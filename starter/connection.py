"""How every process reaches Temporal: the standard environment configuration
(``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, TLS
variables, ``TEMPORAL_PROFILE`` and the config file) plus our task queue."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from temporalio.client import Client

from starter.configuration import temporal_connect_config
from workflows.contract import DATA_CONVERTER, DEFAULT_TASK_QUEUE

if TYPE_CHECKING:
    from starter.telemetry import Telemetry


def task_queue_from_env() -> str:
    return os.environ.get("UNBIND_TASK_QUEUE") or DEFAULT_TASK_QUEUE


def connect_config() -> dict:
    """Keyword arguments for ``Client.connect``, from the environment; a
    mistake in it is a :class:`~starter.errors.BadConfiguration`."""
    return temporal_connect_config()


async def connect_client(config: dict | None = None, telemetry: Telemetry | None = None) -> Client:
    """A client speaking the pydantic data converter, as every process must;
    with ``telemetry``, its metrics go to that runtime and it (and any worker
    built on it) is traced, outermost of the ``interceptors`` in ``config``."""
    options = dict(config if config is not None else connect_config())
    if telemetry is not None:
        extra = telemetry.client_options()
        options["interceptors"] = [*extra.pop("interceptors", []), *options.get("interceptors", [])]
        options.update(extra)
    return await Client.connect(**options, data_converter=DATA_CONVERTER)
