"""``python -m starter.api`` / ``unbind-api``: the HTTP API on uvicorn, on
``UNBIND_API_ADDRESS`` (``127.0.0.1:8000``). Exit 2 on a configuration
mistake (named by its variable), 3 when Temporal or the database cannot be
reached at start-up."""

from __future__ import annotations

import os
import sys

import uvicorn

from starter.api.app import create_app
from starter.api.settings import ApiSettings
from starter.configuration import database_url
from starter.database import require_migrated
from starter.errors import UnbindError
from starter.logs import configure_logging, log_format_from_env
from starter.telemetry import telemetry_from_env


def main() -> None:
    try:
        log_format = log_format_from_env()
        configure_logging(log_format)
        settings = ApiSettings.from_env()
        telemetry = telemetry_from_env("unbind-api", forward_core_logs=log_format == "json")
        app = create_app(settings, telemetry=telemetry)
        # Configuration mistakes first (exit 2 naming the variable), then the database.
        require_migrated(database_url())
    except UnbindError as error:
        print(f"unbind-api: {error.message}", file=sys.stderr)
        _leave(error.exit_code)
    server = uvicorn.Server(
        # uvicorn's loggers go through the root logger configured above.
        uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level="info", log_config=None
        )
    )
    try:
        server.run()
    except UnbindError as error:
        print(f"unbind-api: {error.message}", file=sys.stderr)
        _leave(error.exit_code)
    # A lifespan that failed (Temporal unreachable) ends run() without raising.
    _leave(0 if server.started else 3)


def _leave(code: int) -> None:
    # temporalio/sdk-python#300: the core's threads can abort interpreter
    # shutdown; leave without finalizers.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
