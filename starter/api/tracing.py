"""A span per HTTP request, the parent of the client's Temporal spans: one
trace runs from the caller (whose ``traceparent`` header it continues) through
the workflow to the activities that write the ledger."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response


def trace_requests(app: FastAPI, tracer: Any) -> None:
    """Wrap every request of ``app`` in a server span from ``tracer`` (an
    OpenTelemetry tracer). The span is named by the route's template, never
    by the path, which carries customer UINs."""
    from opentelemetry import propagate, trace

    @app.middleware("http")
    async def span_per_request(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        with tracer.start_as_current_span(
            request.method,
            context=propagate.extract(request.headers),
            kind=trace.SpanKind.SERVER,
        ) as span:
            span.set_attribute("http.request.method", request.method)
            response = await call_next(request)
            route = request.scope.get("route")
            if route is not None:
                span.update_name(f"{request.method} {route.path}")
                span.set_attribute("http.route", route.path)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(trace.StatusCode.ERROR)
            return response
