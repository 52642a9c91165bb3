"""How every process reaches Temporal: the standard environment configuration
(``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, TLS
variables, ``TEMPORAL_PROFILE`` and the config file) plus our task queue."""

from __future__ import annotations

import os

from temporalio.client import Client

from starter.configuration import temporal_connect_config
from workflows.contract import DATA_CONVERTER, DEFAULT_TASK_QUEUE
from workflows.search_attributes import registration_flags

DEV_SERVER_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
"""The local dev server's SQLite in WAL mode: about half the server CPU per
application of its default rollback journal (docs/PERFORMANCE.md)."""


def dev_server_flags() -> list[str]:
    """``temporal server start-dev`` flags of every local stack (demo, ``make
    server``): our search attributes and the SQLite pragmas."""
    pragmas = [flag for p in DEV_SERVER_SQLITE_PRAGMAS for flag in ("--sqlite-pragma", p)]
    return [*registration_flags(), *pragmas]


def task_queue_from_env() -> str:
    return os.environ.get("UNBIND_TASK_QUEUE") or DEFAULT_TASK_QUEUE


def connect_config() -> dict:
    """Keyword arguments for ``Client.connect``, from the environment; a
    mistake in it is a :class:`~starter.errors.BadConfiguration`."""
    return temporal_connect_config()


async def connect_client(config: dict | None = None) -> Client:
    """A client speaking the pydantic data converter, as every process must."""
    return await Client.connect(
        **(config if config is not None else connect_config()),
        data_converter=DATA_CONVERTER,
    )
