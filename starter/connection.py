"""How every process reaches Temporal: the standard environment configuration
(``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, TLS
variables, ``TEMPORAL_PROFILE`` and the config file), our task queue, and the
payload keys (``UNBIND_PAYLOAD_KEYS``, ``starter.payload_codec``)."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from temporalio.client import Client

from starter.configuration import temporal_connect_config
from starter.errors import Unreachable
from starter.payload_codec import data_converter_from_env
from workflows.contract import DEFAULT_TASK_QUEUE

if TYPE_CHECKING:
    from starter.telemetry import Telemetry


def task_queue_from_env() -> str:
    return os.environ.get("UNBIND_TASK_QUEUE") or DEFAULT_TASK_QUEUE


def connect_config() -> dict:
    """Keyword arguments for ``Client.connect``, from the environment, data
    converter included; a mistake in it is a
    :class:`~starter.errors.BadConfiguration`."""
    return {**temporal_connect_config(), "data_converter": data_converter_from_env()}


async def connect_client(config: dict | None = None, telemetry: Telemetry | None = None) -> Client:
    """A client speaking the contract's data converter, as every process
    must, encrypting payloads when ``UNBIND_PAYLOAD_KEYS`` says so; a server
    that cannot be reached is an :class:`Unreachable` saying where we looked
    and how to start one. With ``telemetry``, its metrics go to that runtime
    and it (and any worker built on it) is traced, outermost of the
    ``interceptors`` in ``config``."""
    config = dict(config if config is not None else connect_config())
    if "data_converter" not in config:  # connect_config() has already read the keys
        config["data_converter"] = data_converter_from_env()
    if telemetry is not None:
        extra = telemetry.client_options()
        config["interceptors"] = [*extra.pop("interceptors", []), *config.get("interceptors", [])]
        config.update(extra)
    try:
        return await Client.connect(**config)
    except Exception as error:  # the core reports every connect failure as RuntimeError
        raise temporal_unreachable(config["target_host"], error) from error


START_A_SERVER = (
    "start a local one with `make server` (or `temporal server start-dev`), "
    "or set TEMPORAL_ADDRESS (or a TEMPORAL_PROFILE) to yours"
)

# The core's message ends in the OS's own words: ... message: "Connection refused" }
_OS_MESSAGE = re.compile(r'message: "([^"]+)"')


def temporal_unreachable(address: str, error: BaseException) -> Unreachable:
    """ "cannot reach Temporal at HOST:PORT (why); start a local one with ..."."""
    text = str(error)
    found = _OS_MESSAGE.search(text)
    reason = found.group(1) if found else (text.splitlines() or [type(error).__name__])[0]
    reason = reason.removeprefix("Failed client connect: ")
    return Unreachable(f"cannot reach Temporal at {address} ({reason}); {START_A_SERVER}")
