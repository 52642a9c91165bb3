"""Log lines of a long-lived process: plain text (the default, for a
terminal) or JSON lines (``UNBIND_LOG_FORMAT=json``, for a log pipeline).

A JSON line carries the workflow id, run id, workflow type, activity type and
id, and the application id of the record that produced it. It carries only
those named fields and the message: never a payload, so no token, key,
signature, name or reason reaches the logs.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from temporalio import activity, workflow
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from starter.errors import BadConfiguration

LOG_FORMAT = "UNBIND_LOG_FORMAT"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# The application an activity works for, when its input names one.
_application_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "unbind_application_id", default=None
)


def log_format_from_env() -> str:
    value = (os.environ.get(LOG_FORMAT) or "text").strip().lower()
    if value not in ("json", "text"):
        raise BadConfiguration(LOG_FORMAT, f"{value!r} is neither json nor text")
    return value


class JsonLines(logging.Formatter):
    """One JSON object per record, with the Temporal context the SDK's
    workflow and activity loggers attach."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        running = getattr(record, "temporal_workflow", None) or {}
        doing = getattr(record, "temporal_activity", None) or {}
        context = {
            "workflow_id": running.get("workflow_id") or doing.get("workflow_id"),
            "run_id": running.get("run_id") or doing.get("workflow_run_id"),
            "workflow_type": running.get("workflow_type") or doing.get("workflow_type"),
            "activity_type": doing.get("activity_type"),
            "activity_id": doing.get("activity_id"),
            "application_id": getattr(record, "application_id", None) or _application_id.get(),
        }
        line.update((key, value) for key, value in context.items() if value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(
    log_format: str | None = None, *, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Send the root logger's records to ``stream`` (stderr) as ``log_format``
    (default: ``UNBIND_LOG_FORMAT``)."""
    log_format = log_format or log_format_from_env()
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonLines())
        # The context is in the line's fields; don't repeat it in the message.
        workflow.logger.workflow_info_on_message = False
        activity.logger.activity_info_on_message = False
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)


class ApplicationLogContext(Interceptor):
    """Worker interceptor: an activity's log lines name the application its
    input belongs to, and each activity that succeeds says so (the SDK logs failures)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityLogContext(next)


class _ActivityLogContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        application_id = next(
            (getattr(arg, "application_id", None) for arg in input.args if arg is not None),
            None,
        )
        token = _application_id.set(application_id if isinstance(application_id, str) else None)
        try:
            # The SDK logs a failed attempt itself.
            result = await super().execute_activity(input)
            activity.logger.info("activity done")
            return result
        finally:
            _application_id.reset(token)
