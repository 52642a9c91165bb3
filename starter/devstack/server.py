"""``temporal server start-dev`` on a database file: state survives a restart
(or a SIGKILL) on the same file. Started with our search attributes and, unless
told otherwise, the SQLite pragmas every local stack uses."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from starter.connection import connect_client
from starter.devstack.binaries import binary
from starter.devstack.environment import NAMESPACE
from starter.devstack.ports import HOST, free_port, listening
from starter.devstack.process import ChildProcess, StackFailed
from workflows import search_attributes as sa

DEV_SERVER_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
"""The local dev server's SQLite in WAL mode: about half the server CPU per
application of its default rollback journal (docs/PERFORMANCE.md)."""
DEV_SERVER_DYNAMIC_CONFIG = ("history.transferProcessorMaxPollRPS=1000",)
"""The history service reads its transfer queue (the workflow tasks that
follow an activity's completion, among others) at most 20 times a second by
default, and the dev server has a single shard: each activity round trip then
waited ~40 ms for the next read. At 1000 reads a second the idle round trip is
a few ms (docs/PERFORMANCE.md, "Where the idle 50 ms went"). It is a ceiling,
not a polling rate: an idle server still reads only when told of new tasks."""
START_TIMEOUT = 30.0
"""Seconds for a new dev server to accept connections (about 2 here)."""
STOP_TIMEOUT = 15.0
POLL_EVERY = 0.25


def dev_server_flags(
    sqlite_pragmas: Sequence[str] = DEV_SERVER_SQLITE_PRAGMAS,
    dynamic_config: Sequence[str] = DEV_SERVER_DYNAMIC_CONFIG,
) -> list[str]:
    """``temporal server start-dev`` flags of every local stack (demo, bench,
    ``make server``): our search attributes, the SQLite pragmas and the
    dynamic configuration (``KEY=VALUE``)."""
    pragmas = [flag for pragma in sqlite_pragmas for flag in ("--sqlite-pragma", pragma)]
    return [*sa.registration_flags(), *pragmas, *dynamic_config_flags(dynamic_config)]


def dynamic_config_flags(values: Sequence[str] = DEV_SERVER_DYNAMIC_CONFIG) -> list[str]:
    """``--dynamic-config-value KEY=VALUE`` for each of ``values``."""
    return [flag for value in values for flag in ("--dynamic-config-value", value)]


async def register_search_attributes(client: Client) -> None:
    """Adds those of our search attributes the server lacks: a server started
    here got them as flags, one reused or started by the SDK may not have them.
    The time-skipping test server cannot list them: it is told all of them."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        known = set(listed.custom_attributes)
    except RPCError as error:
        if error.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        known = set()
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in sa.ALL
        if key.name not in known
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )


async def connect(address: str) -> Client:
    """A client of the local server at ``address``, in the default namespace."""
    return await connect_client({"target_host": address, "namespace": NAMESPACE})


class DevServer(ChildProcess):
    """The dev server on ``db_file``; with a ``ui_port`` its Web UI is on
    (decoding payloads through ``ui_codec_endpoint`` when given), otherwise
    it runs headless; ``dynamic_config`` replaces our server settings."""

    def __init__(
        self,
        *,
        db_file: Path,
        sqlite_pragmas: Sequence[str] = DEV_SERVER_SQLITE_PRAGMAS,
        port: int | None = None,
        ui_port: int | None = None,
        log_path: Path | None = None,
        ui_codec_endpoint: str | None = None,
        dynamic_config: Sequence[str] = DEV_SERVER_DYNAMIC_CONFIG,
    ) -> None:
        self.port = port or free_port()
        self.ui_port = ui_port
        self.address = f"{HOST}:{self.port}"
        ui = ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
        if ui_port and ui_codec_endpoint:
            # The Web UI decodes encrypted payloads through this codec server.
            ui += ["--ui-codec-endpoint", ui_codec_endpoint]
        command = [
            binary("temporal"),
            "server",
            "start-dev",
            "--ip",
            HOST,
            "--port",
            str(self.port),
            *ui,
            "--db-filename",
            str(db_file),
            "--log-level",
            "error",
            *dev_server_flags(sqlite_pragmas, dynamic_config),
        ]
        log_path = log_path or db_file.with_suffix(".log")
        super().__init__("Temporal dev server", command, log_path=log_path)

    async def start_serving(self, *, within: float = START_TIMEOUT) -> Client:
        """Start it and wait until it answers a client (connecting asks the
        server for its system info); that client. Stopped again if it does not
        answer in time."""
        self.start()
        loop = asyncio.get_running_loop()
        give_up = loop.time() + within
        while True:
            if not self.running:
                raise self.died()
            if listening(self.port):
                with contextlib.suppress(Exception):
                    return await asyncio.wait_for(self.client(), 5)
            if loop.time() > give_up:
                self.stop(STOP_TIMEOUT)
                raise StackFailed(
                    f"the {self.name} did not accept connections on {self.address} within "
                    f"{within:g}s; last lines of its log:\n{self.tail()}"
                )
            await asyncio.sleep(POLL_EVERY)

    async def client(self) -> Client:
        return await connect(self.address)
