"""``unbind health``: is a worker ready? A container's health check."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import click

from starter.cli import app
from starter.cli.output import emit
from starter.cli.types import ENDPOINT
from starter.configuration import database_url
from starter.connection import START_A_SERVER, connect_client, connect_config, task_queue_from_env
from starter.database import ping_database, shown
from starter.errors import Unreachable
from starter.health import ANSWER_WITHIN, Check, Health, database_check, pollers_check


@app.cli.command("health")
@click.option(
    "--endpoint",
    type=ENDPOINT,
    help="Ask this worker's readiness endpoint (http://HOST:PORT or HOST:PORT, as its "
    "UNBIND_HEALTH_ADDRESS) instead of checking from here.",
)
@app.json_option
def health_command(endpoint: str | None, as_json: bool) -> None:
    """Check that a worker is ready: Temporal answers, a worker polls the task
    queue (UNBIND_TASK_QUEUE) and the database (UNBIND_DATABASE_URL) answers.

    Prints each check, and what to do about each one that fails. Exit 0 when
    all pass, 3 when one fails, 2 when the configuration is wrong.
    """
    if endpoint:
        health = asyncio.run(asyncio.to_thread(_ask_endpoint, endpoint))
    else:
        # Both configurations are checked before anything is contacted.
        url, config, task_queue = database_url(), connect_config(), task_queue_from_env()
        health = asyncio.run(_check_from_here(url, config, task_queue))
    emit(as_json, health.as_json(), lambda: "\n".join(health.lines()))
    raise click.exceptions.Exit(health.exit_code)


async def _check_from_here(url: str, config: dict, task_queue: str) -> Health:
    address = config["target_host"]
    database = database_check(lambda: ping_database(url), shown(url))
    try:
        client = await connect_client(config)
    except Unreachable as error:
        temporal = Check("temporal", False, error.message.split(";")[0], START_A_SERVER)
        pollers = Check("pollers", False, "not checked: Temporal is unreachable", "see temporal")
        return Health((temporal, pollers, await database))
    temporal = Check("temporal", True, f"answers at {address} (namespace {client.namespace})")
    return Health((temporal, *await asyncio.gather(pollers_check(client, task_queue), database)))


def _ask_endpoint(url: str) -> Health:
    try:
        with urllib.request.urlopen(url, timeout=ANSWER_WITHIN.total_seconds() * 3) as answer:
            body = answer.read()
    except urllib.error.HTTPError as error:  # 503: not ready, with the same body
        body = error.read()
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return Health(
            (
                Check(
                    "endpoint",
                    False,
                    f"no answer from {url}: {reason}",
                    "check that the worker runs with UNBIND_HEALTH_ADDRESS set to this address",
                ),
            )
        )
    try:
        return Health.from_json(json.loads(body))
    except (ValueError, KeyError, TypeError):
        return Health(
            (
                Check(
                    "endpoint", False, f"{url} did not answer with a health report", "check the URL"
                ),
            )
        )
