"""Rendering: the templates, what every page knows (who is signed in, the
form token, the navigation), and every error as a page in plain words."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import uuid4

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from starter.api.auth import Principal, Unauthenticated
from starter.api.deps import Services, in_database
from starter.api.problems import ApiProblem, audit_refusal, field_errors, invalid
from starter.console.party import party_of
from starter.console.session import FormRefused, Sessions, keep_csrf_cookie
from starter.console.words import (
    ACTION_WORDS,
    FORM_REFUSED,
    Trouble,
    check_words,
    status_words,
    trouble_of,
)
from workflows.notice import CURRENT, Consent

log = logging.getLogger("starter.console")

HERE = Path(__file__).parent
PREFIX = "/console"
WEB_UI_VARIABLE = "UNBIND_TEMPORAL_UI_URL"
"""Where operators open the Temporal Web UI (the demo sets it); no link without it."""


def when(at: datetime | str | None) -> str:
    """A time to the second, in UTC (the billing boundary is one); ISO text
    (a system message's) is read first."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at else "—"


PAGE_HEADERS = {
    # Nothing but this origin's style sheet; no scripts at all; forms post
    # only here; never inside another site's frame.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show one person's applications: never kept by a shared cache.
    "Cache-Control": "no-store",
}

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["status_words"] = status_words
templates.env.filters["check_words"] = check_words
templates.env.filters["action_words"] = lambda kind: ACTION_WORDS.get(str(kind), str(kind))
# Fixed when the page is made: posting the same form twice is one action.
templates.env.globals["new_action_id"] = lambda kind: f"console-{kind}-{uuid4().hex}"
templates.env.filters["when"] = when
# The texts people decide on, as the API shows them (GET /notice): a decision
# made here records the hash of exactly this text.
templates.env.globals["consent_text"] = lambda consent: CURRENT.texts[Consent(consent)]
templates.env.globals["consent_sha256"] = lambda consent: CURRENT.sha256(Consent(consent))
templates.env.filters["customer_of"] = lambda workflow_id: workflow_id.removeprefix("unbind-")


@dataclass(frozen=True)
class Console:
    """One per process, on ``app.state.console``."""

    sessions: Sessions
    dev_tokens: bool
    web_ui_url: str | None

    def workflow_link(self, request: Request, workflow_id: str) -> str | None:
        """The workflow's page in the Temporal Web UI, for operators."""
        if not self.web_ui_url:
            return None
        namespace = quote(services_of(request).client.temporal.namespace)
        base = self.web_ui_url.rstrip("/")
        return f"{base}/namespaces/{namespace}/workflows/{quote(workflow_id)}"


def console_of(request: Request) -> Console:
    found: Console = request.app.state.console
    return found


def services_of(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def web_ui_from_env() -> str | None:
    return os.environ.get(WEB_UI_VARIABLE) or None


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    console = console_of(request)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "principal": principal,
            "csrf_field": "csrf_token",
            "csrf_token": console.sessions.form_token(request),
            "dev_tokens": console.dev_tokens,
            "prefix": PREFIX,
            **context,
        },
        status_code=status_code,
    )
    keep_csrf_cookie(request, response)
    response.headers.update(PAGE_HEADERS)
    return response


def see_other(path: str) -> RedirectResponse:
    """After a form: the page to look at (303, so a reload does not post again)."""
    return RedirectResponse(PREFIX + path, status_code=303)


async def trouble_page(request: Request, trouble: Trouble, reason: str) -> Response:
    """An error page; every refusal is audited like the API's."""
    if 400 <= trouble.status < 500:
        await audit_refusal(request, trouble.status, reason)
    principal = getattr(request.state, "principal", None)
    party = None
    if principal is not None:
        with contextlib.suppress(ApiProblem):  # the error page shows without the party's menu
            party = await in_database(party_of, services_of(request).partner_center, principal)
    return render(
        request,
        "trouble.html",
        principal,
        party=party,
        trouble=trouble,
        status_code=trouble.status,
    )


class ConsoleRoute(APIRoute):
    """A console route: the API's problems become pages in plain words, and
    a session that no longer passes leads back to the sign-in page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:  # a query parameter out of bounds
                problem = invalid(field_errors(error.errors()))
                return await trouble_page(request, trouble_of(problem), problem.detail)
            except ApiProblem as problem:
                return await trouble_page(request, trouble_of(problem), problem.detail)
            except Unauthenticated as error:
                if request.method == "GET":
                    return see_other("/sign-in")
                expired = ApiProblem(401, str(error), slug="unauthenticated")
                return await trouble_page(request, trouble_of(expired), str(error))
            except FormRefused:
                return await trouble_page(
                    request, FORM_REFUSED, "form posted without its CSRF token"
                )

        return handle
