"""What every route needs: the process's services, the caller, and the
client API's errors turned into problems."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from temporalio.service import RPCError, RPCStatusCode

from activities.sql import SqlPartnerCenter
from starter.api.auth import Principal, TokenVerifier
from starter.api.problems import ApiProblem
from starter.client import UnbindingClient
from starter.errors import ActionUnanswered, BadInput, Refused, Unreachable

_T = TypeVar("_T")


@dataclass
class Services:
    """One per process, made at start-up: the Temporal client and the partner center."""

    client: UnbindingClient
    partner_center: SqlPartnerCenter


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


_bearer = HTTPBearer(
    auto_error=False, description="A JWT: `unbind token` makes one for development."
)


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    """The authenticated caller (401 otherwise), remembered for the audit log."""
    header = f"Bearer {credentials.credentials}" if credentials else None
    verifier: TokenVerifier = request.app.state.verifier
    principal = await verifier.principal(header)
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(caller)]
ServicesDep = Annotated[Services, Depends(services)]


@asynccontextmanager
async def client_errors(*, action_id: str | None = None) -> AsyncIterator[None]:
    """The client API's named errors as problems: bad input 422, a business
    refusal 409, Temporal unreachable or silent 503 (with the action id to
    retry with)."""
    try:
        yield
    except ActionUnanswered as error:
        raise ApiProblem(
            503, error.message, slug="unavailable", action_id=error.action_id
        ) from None
    except Unreachable as error:
        raise ApiProblem(503, error.message, slug="unavailable", action_id=action_id) from None
    except BadInput as error:
        raise ApiProblem(
            422,
            error.message,
            slug="invalid-input",
            errors=[{"field": error.model_field or error.field or "body", "rule": error.rule}],
        ) from None
    except Refused as error:
        raise ApiProblem(409, error.message, slug="conflict") from None


@asynccontextmanager
async def visibility_errors(*, blame: str | None = None) -> AsyncIterator[None]:
    """A list-view query the server refuses names the one value the caller
    gave it unchecked (``blame``: the page token), else Temporal is unavailable."""
    try:
        yield
    except RPCError as error:
        if blame is not None and error.status == RPCStatusCode.INVALID_ARGUMENT:
            raise ApiProblem(
                422,
                f"{blame} was refused: {error.message}",
                slug="invalid-input",
                errors=[{"field": blame, "rule": "must be a next_page_token from a list answer"}],
            ) from None
        raise ApiProblem(503, f"Temporal: {error.message}", slug="unavailable") from None


async def in_database(call: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """A partner-center call off the event loop; a database that cannot answer is 503."""
    try:
        return await run_in_threadpool(call, *args, **kwargs)
    except (SQLAlchemyError, OSError) as error:
        raise ApiProblem(503, f"the partner center cannot answer: {type(error).__name__}") from None
