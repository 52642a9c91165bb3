"""The FastAPI application: one :class:`~starter.client.UnbindingClient` and
one partner center per process, connected at start-up."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from temporalio.client import Client

from activities.sql import SqlPartnerCenter
from starter.api import actions, applications, batch, evidence, me
from starter.api.auth import TokenVerifier
from starter.api.deps import Services, ServicesDep, in_database
from starter.api.problems import Problem, install
from starter.api.settings import ApiSettings
from starter.api.tracing import trace_requests
from starter.client import UnbindingClient
from starter.configuration import database_url
from starter.connection import task_queue_from_env
from starter.console import install as install_console
from starter.payload_codec import payload_codec_from_env
from starter.signing import signer_from_env, signing
from starter.telemetry import Telemetry

log = logging.getLogger("starter.api")

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": Problem} for status in (401, 403, 404, 409, 422, 503)
}


async def api_client(
    temporal: Client | None = None,
    *,
    task_queue: str | None = None,
    telemetry: Telemetry | None = None,
) -> UnbindingClient:
    """The one client the API sends everything through: over ``temporal`` when
    given (tests), else connected from the standard environment. With
    ``UNBIND_ACTION_SIGNING_KEYS`` every action it sends is signed (docs/HTTP_API.md,
    "Signed actions"), naming the token's ``sub`` as the principal
    (``actions.py`` passes it to ``UnbindingClient.act``)."""
    signer = signer_from_env()
    if temporal is not None:
        if signer is not None:
            temporal = signing(temporal, signer)
        return UnbindingClient(temporal, task_queue=task_queue or task_queue_from_env())
    return await UnbindingClient.connect(task_queue=task_queue, signer=signer, telemetry=telemetry)


def create_app(
    settings: ApiSettings | None = None,
    *,
    temporal: Client | None = None,
    task_queue: str | None = None,
    database: str | None = None,
    telemetry: Telemetry | None = None,
) -> FastAPI:
    """The API; ``temporal``, ``task_queue`` and ``database`` override the
    environment (tests). ``telemetry`` (``starter.telemetry``) adds metrics to
    the client it connects and a span to every request."""
    settings = settings or ApiSettings.from_env()
    if temporal is None:
        payload_codec_from_env()  # a key mistake stops it here (exit 2), not in the lifespan
    verifier = TokenVerifier(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.dev_tokens:
            log.warning(
                "UNBIND_API_DEV_TOKENS=1: accepting DEVELOPMENT tokens signed with %s. "
                "Anyone who can read that key can act as anyone. Never in production.",
                verifier.source,
            )
        else:
            log.info("checking tokens with %s", verifier.source)
        client = await api_client(temporal, task_queue=task_queue, telemetry=telemetry)
        partner_center = SqlPartnerCenter(database or database_url())
        app.state.services = Services(client, partner_center)
        try:
            yield
        finally:
            partner_center.dispose()
            # uvicorn ends the process by the signal that stopped it: export
            # the buffered spans now.
            if telemetry is not None:
                telemetry.flush()

    app = FastAPI(
        title="Reseller unbinding",
        summary="Submit, decide and watch unbinding applications.",
        version="1",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.verifier = verifier
    install(app)
    tracer = telemetry.tracer() if telemetry is not None else None
    if tracer is not None:
        trace_requests(app, tracer)
    app.include_router(batch.router)
    app.include_router(evidence.router)
    app.include_router(applications.router)
    app.include_router(actions.router)
    app.include_router(me.router)
    install_console(app, verifier, dev_tokens=settings.dev_tokens)

    @app.get("/healthz", tags=["health"], responses={503: ERROR_RESPONSES[503]})
    async def healthz(services: ServicesDep) -> JSONResponse:
        """200 when Temporal and the database answer."""
        problems = {}
        try:
            await services.client.temporal.service_client.check_health()
        except Exception as error:
            problems["temporal"] = str(error) or type(error).__name__
        try:
            await in_database(services.partner_center.ping)
        except Exception as error:
            problems["database"] = str(error) or type(error).__name__
        if problems:
            return JSONResponse(
                {
                    "type": "https://reseller-unbinding.example/problems/unavailable",
                    "title": "Unavailable",
                    "status": 503,
                    "detail": "; ".join(f"{k}: {v}" for k, v in problems.items()),
                },
                status_code=503,
                media_type="application/problem+json",
            )
        return JSONResponse({"status": "ok", "temporal": "ok", "database": "ok"})

    return app
