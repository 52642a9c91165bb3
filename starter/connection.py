"""How every process reaches Temporal: the standard environment configuration
(``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, TLS
variables, ``TEMPORAL_PROFILE`` and the config file), our task queue, and the
payload keys (``UNBIND_PAYLOAD_KEYS``, ``starter.payload_codec``)."""

from __future__ import annotations

import os

from temporalio.client import Client

from starter.configuration import temporal_connect_config
from starter.payload_codec import data_converter_from_env
from workflows.contract import DEFAULT_TASK_QUEUE


def task_queue_from_env() -> str:
    return os.environ.get("UNBIND_TASK_QUEUE") or DEFAULT_TASK_QUEUE


def connect_config() -> dict:
    """Keyword arguments for ``Client.connect``, from the environment, data
    converter included; a mistake in it is a
    :class:`~starter.errors.BadConfiguration`."""
    return {**temporal_connect_config(), "data_converter": data_converter_from_env()}


async def connect_client(config: dict | None = None) -> Client:
    """A client speaking the contract's data converter, as every process
    must, encrypting payloads when ``UNBIND_PAYLOAD_KEYS`` says so."""
    config = dict(config if config is not None else connect_config())
    config.setdefault("data_converter", data_converter_from_env())
    return await Client.connect(**config)
