"""Errors as ``application/problem+json`` (RFC 9457), and every refusal (4xx)
written to the audit log (``audit_refusals``).

Each answer has ``type``, ``title``, ``status`` and ``detail``; a 422 adds
``errors: [{field, rule}]`` naming every bad field, a 403 ``allowed`` (who
may act), a 409 after a failed check ``failed_checks``, a 503 for an action
``action_id`` (send it again with that ``Idempotency-Key``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from starter.api.auth import Unauthenticated
from starter.errors import describe_rule
from workflows.fields import new_text_problem

log = logging.getLogger("starter.api")

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "https://reseller-unbinding.example/problems/"
TITLES = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Invalid input",
    503: "Unavailable",
}


class FieldError(BaseModel):
    field: str
    rule: str


class Problem(BaseModel):
    """The body of every error answer (OpenAPI documents it for each route)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    allowed: str | None = None
    failed_checks: list[dict[str, str]] | None = None
    """409 on submission: each failed precondition with its hint."""
    application_status: str | None = None
    """409 for an action or a submission: the application's status now."""
    workflow_id: str | None = None
    action_id: str | None = None
    """503 for an action: send it again with this Idempotency-Key."""


class ApiProblem(Exception):
    """Raised anywhere in a request to answer with a problem."""

    def __init__(self, status: int, detail: str, *, slug: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or TITLES.get(status, "error").lower().replace(" ", "-")
        self.extra = {k: v for k, v in extra.items() if v is not None}


def invalid(errors: Sequence[FieldError], detail: str | None = None) -> ApiProblem:
    named = ", ".join(e.field for e in errors)
    return ApiProblem(
        422,
        detail or f"invalid input: {named}",
        slug="invalid-input",
        errors=[e.model_dump() for e in errors],
    )


def field_errors(
    errors: Iterable[Mapping[str, Any]], *, names: Mapping[str, str] | None = None
) -> list[FieldError]:
    """pydantic/FastAPI errors as ``{field, rule}``: a body field by its dotted
    path, a header, query or path parameter by its own name."""
    found = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if error.get("type") == "json_invalid":
            field = "body"
        elif loc and loc[0] == "header":
            field = "-".join(w.capitalize() for w in loc[-1].replace("_", "-").split("-"))
        elif loc and loc[0] in ("body", "query", "path"):
            field = ".".join(loc[1:]) or loc[0]
        else:
            field = ".".join(loc) or "body"
        if names:
            field = names.get(field, field)
        found.append(FieldError(field=field, rule=describe_rule(error)))
    return found


def from_validation(
    error: ValidationError, *, names: Mapping[str, str] | None = None
) -> ApiProblem:
    return invalid(field_errors(error.errors(), names=names))


def problem_response(request: Request, problem: ApiProblem) -> JSONResponse:
    body = {
        "type": TYPE_BASE + problem.slug,
        "title": TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
        **problem.extra,
    }
    headers = (
        {"WWW-Authenticate": 'Bearer error="invalid_token"'} if problem.status == 401 else None
    )
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_TYPE, headers=headers)


async def answer(request: Request, problem: ApiProblem) -> JSONResponse:
    if 400 <= problem.status < 500:
        await audit_refusal(request, problem.status, problem.detail)
    return problem_response(request, problem)


async def audit_refusal(request: Request, status: int, reason: str) -> None:
    """One row per refused attempt; a database that cannot take it is logged,
    not the caller's problem."""
    services = getattr(request.app.state, "services", None)
    if services is None:
        return
    principal = getattr(request.state, "principal", None)
    try:
        await run_in_threadpool(
            services.partner_center.record_refusal,
            principal=principal.actor if principal is not None else None,
            method=request.method,
            path=request.url.path,
            action=_operation(request),
            customer_uin=request.path_params.get("customer_uin"),
            status_code=status,
            reason=reason,
        )
    except Exception:
        log.exception("could not write the refusal to audit_refusals")


def _operation(request: Request) -> str | None:
    """What was attempted: the action kind, or the route's name (``submit``,
    ``read_application``); None when no route matched."""
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    return name if isinstance(name, str) else None


def install(app: FastAPI) -> None:
    """Every error the app can raise, as a problem; documented as
    ``application/problem+json`` in the OpenAPI document."""
    app.openapi = lambda: problems_documented(app)  # type: ignore[method-assign]

    @app.exception_handler(ApiProblem)
    async def _problem(request: Request, error: ApiProblem) -> JSONResponse:
        return await answer(request, error)

    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(request: Request, error: Unauthenticated) -> JSONResponse:
        return await answer(request, ApiProblem(401, str(error), slug="unauthenticated"))

    async def bad_input(request: Request, problem: ApiProblem) -> JSONResponse:
        # A body that is not JSON is refused before the token is looked at:
        # a caller without a valid token learns nothing but 401.
        if getattr(request.state, "principal", None) is None:
            try:
                verifier = request.app.state.verifier
                request.state.principal = await verifier.principal(
                    request.headers.get("authorization")
                )
            except Unauthenticated as refused:
                return await answer(request, ApiProblem(401, str(refused), slug="unauthenticated"))
        return await answer(request, problem)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return await bad_input(request, invalid(field_errors(error.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400:
            # FastAPI's answer to a body it cannot even decode (not UTF-8):
            # bad input like any other, so 422 naming the body.
            body = FieldError(field="body", rule="must be a JSON document in UTF-8")
            return await bad_input(request, invalid([body]))
        return await answer(request, ApiProblem(error.status_code, str(error.detail)))


def problems_documented(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document with every error answer's schema under
    ``application/problem+json`` (FastAPI files a response model under
    ``application/json``)."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if code.startswith(("4", "5")) and "application/json" in content:
                    content[PROBLEM_TYPE] = content.pop("application/json")
    app.openapi_schema = schema
    return schema


def one_visible_line(value: object) -> object:
    """The edge's rule for new free text (``workflows.fields.new_text_problem``),
    as a validator of a request body's text fields, so a 422 names them
    together with every other bad field."""
    if isinstance(value, str):
        problem = new_text_problem(value)
        if problem:
            raise ValueError(problem)
    return value
