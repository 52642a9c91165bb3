"""Metrics and traces of a long-lived process (the worker, the API), chosen
by its environment; docs/OPERATIONS.md, "Metrics" and "Traces".

- ``UNBIND_METRICS_ADDRESS`` (``host:port``): a Prometheus endpoint at
  ``http://host:port/metrics`` with the SDK's own metrics (``temporal_*``)
  and the business metrics (``unbinding_*``, ``workflows/metrics.py``).
  Unset: no endpoint.
- ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``):
  OpenTelemetry spans of clients, workflows, activities and HTTP requests,
  exported over OTLP/HTTP (``OTEL_SERVICE_NAME`` names the service). Unset:
  no tracing. Needs the ``telemetry`` extra.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, Interceptor
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
)

from starter.errors import BadConfiguration
from workflows import metrics
from workflows import search_attributes as sa
from workflows.contract import WORKFLOW_TYPE

log = logging.getLogger("starter.telemetry")

METRICS_ADDRESS = "UNBIND_METRICS_ADDRESS"
TRACES_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")

# Human waits last minutes in tests and up to 90 days in production; the SDK's
# default buckets stop at 10 s.
WAIT_BUCKETS_SECONDS = tuple(
    float(s) for s in (1, 10, 60, 600, 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400)
) + tuple(float(d * 86400) for d in (14, 30, 60, 90))

PAST_DEADLINE = "unbinding_applications_past_deadline"
# A wait's deadline timer ends the application within seconds when a worker
# polls; one still open this long after its deadline is stuck (no worker, a
# failing workflow task).
PAST_DEADLINE_GRACE = timedelta(minutes=5)
PAST_DEADLINE_EVERY = timedelta(minutes=1)


def metrics_address_from_env() -> str | None:
    """``UNBIND_METRICS_ADDRESS`` as ``host:port``, or None when unset."""
    address = os.environ.get(METRICS_ADDRESS, "").strip()
    if not address:
        return None
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadConfiguration(
            METRICS_ADDRESS, f"{address!r} is not host:port; set e.g. 127.0.0.1:9464, or unset it"
        )
    return address


def metrics_runtime(address: str) -> Runtime:
    """A runtime serving its metrics at ``http://address/metrics``."""
    runtime = process_runtime(address, forward_core_logs=False)
    assert runtime is not None
    return runtime


def process_runtime(address: str | None, *, forward_core_logs: bool) -> Runtime | None:
    """The runtime a process needs: metrics at ``http://address/metrics``
    when given, and the SDK core's own log lines sent through Python's
    logging (so they come out as JSON lines too) when ``forward_core_logs``;
    None when the default runtime does."""
    if address is None and not forward_core_logs:
        return None
    prometheus = (
        PrometheusConfig(
            bind_address=address,
            counters_total_suffix=True,
            durations_as_seconds=True,
            histogram_bucket_overrides={metrics.WAIT_DURATION: WAIT_BUCKETS_SECONDS},
        )
        if address
        else None
    )
    core_logs = (
        LoggingConfig(
            filter=LoggingConfig.default.filter,
            forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
        )
        if forward_core_logs
        else LoggingConfig.default
    )
    try:
        return Runtime(telemetry=TelemetryConfig(logging=core_logs, metrics=prometheus))
    except Exception as error:  # the port is taken, the host is not ours
        raise BadConfiguration(
            METRICS_ADDRESS, f"cannot serve metrics at {address!r} ({error}); pick a free port"
        ) from None


@dataclass(frozen=True)
class Telemetry:
    """What a process exports: a runtime with a metrics endpoint and a tracer
    provider, either or both absent."""

    runtime: Runtime | None = None
    metrics_address: str | None = None
    tracer_provider: Any | None = None
    """An ``opentelemetry.sdk.trace.TracerProvider`` (optional dependency)."""
    interceptors: tuple[Interceptor, ...] = field(default=())

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``Client.connect``; a worker built on that
        client traces its workflows and activities too."""
        options: dict[str, Any] = {}
        if self.runtime is not None:
            options["runtime"] = self.runtime
        if self.interceptors:
            options["interceptors"] = list(self.interceptors)
        return options

    def tracer(self) -> Any | None:
        if self.tracer_provider is None:
            return None
        return self.tracer_provider.get_tracer("reseller-unbinding")

    def flush(self) -> None:
        """Export the spans still buffered, and go on tracing."""
        if self.tracer_provider is not None:
            self.tracer_provider.force_flush()

    def shutdown(self) -> None:
        """Export the spans still buffered, and stop tracing."""
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()


def with_tracer_provider(provider: Any, metrics: Telemetry | None = None) -> Telemetry:
    """Telemetry tracing through ``provider`` (the OTLP one, or a test's),
    with the runtime of ``metrics`` if given."""
    # Each accepted action's activities in the action's trace (the SDK keeps
    # them in the application's): starter/action_tracing.py.
    from starter.action_tracing import ActionTracingInterceptor

    interceptor = ActionTracingInterceptor(provider.get_tracer("temporalio"))
    return dataclasses.replace(
        metrics or Telemetry(), tracer_provider=provider, interceptors=(interceptor,)
    )


def telemetry_from_env(service_name: str, *, forward_core_logs: bool = False) -> Telemetry:
    """The process's telemetry, as its environment asks; a mistake is a
    :class:`BadConfiguration` naming the variable. ``forward_core_logs``: see
    :func:`process_runtime`."""
    address = metrics_address_from_env()
    runtime = process_runtime(address, forward_core_logs=forward_core_logs)
    measured = Telemetry(runtime=runtime, metrics_address=address)
    if not any(os.environ.get(name) for name in TRACES_ENDPOINTS):
        return measured
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise BadConfiguration(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "set, but OpenTelemetry is not installed: "
            "pip install 'reseller-unbinding[telemetry]', or unset it",
        ) from None
    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return with_tracer_provider(provider, measured)


# ---- applications past their deadline ---------------------------------------


def past_deadline_query(
    task_queue: str, now: datetime, grace: timedelta = PAST_DEADLINE_GRACE
) -> str:
    cutoff = (now - grace).astimezone(UTC).isoformat().replace("+00:00", "Z")
    return (
        f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' "
        f"AND TaskQueue = '{task_queue}' AND {sa.UNBIND_DEADLINE.name} < '{cutoff}'"
    )


async def applications_past_deadline(
    client: Client, task_queue: str, *, now: datetime, grace: timedelta = PAST_DEADLINE_GRACE
) -> int:
    """Open applications on ``task_queue`` whose wait's deadline passed more
    than ``grace`` before ``now`` (a visibility count: the search attribute
    holds the current wait's deadline)."""
    return (await client.count_workflows(past_deadline_query(task_queue, now, grace))).count


async def report_applications_past_deadline(
    client: Client, runtime: Runtime, task_queue: str, *, every: timedelta = PAST_DEADLINE_EVERY
) -> None:
    """Keep the ``unbinding_applications_past_deadline`` gauge of ``task_queue``
    current until cancelled. No workflow can report this itself: a stuck one
    runs no code."""
    gauge = runtime.metric_meter.create_gauge(
        PAST_DEADLINE, "Open applications past their deadline (by more than the grace)"
    ).with_additional_attributes({"task_queue": task_queue})
    while True:
        try:
            now = datetime.now(UTC)
            gauge.set(await applications_past_deadline(client, task_queue, now=now))
        except Exception as error:  # a visibility outage must not stop the worker
            log.warning("cannot count applications past their deadline: %s", error)
        await asyncio.sleep(every.total_seconds())
