"""The forms that act: submit an application, each party's action, and the
demo's card binding. Each checks its CSRF token first, then goes through the
API's own functions (the same checks, audit and signed actions as the JSON
routes), and answers with the page to look at next."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from starter.api.actions import body_model, perform
from starter.api.applications import SubmitBody, submit
from starter.api.deps import in_database
from starter.api.problems import ApiProblem, from_validation
from starter.console.pages import CsrfField, signed_in
from starter.console.view import ConsoleRoute, console_of, see_other, services_of
from workflows.actions import ACTIONS
from workflows.model import ActionKind, Effective, Requester

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form()]


@router.post("/customers/{customer_uin}/unbind")
async def submit_application(
    request: Request,
    customer_uin: str,
    csrf: CsrfField = None,
    acknowledge_notice: Text = "",
    reason: Text = "",
    effective: Text = Effective.AT_ONCE.value,
) -> Response:
    """Submit Application: the notice must be ticked (422 otherwise, as in the API)."""
    principal, _ = await signed_in(request)
    console_of(request).sessions.check_form(request, csrf)
    body = _submission(customer_uin, Requester.RESELLER, acknowledge_notice, reason, effective)
    await submit(body, principal, services_of(request))
    return see_other(f"/applications/{customer_uin}")


@router.post("/account/request")
async def request_to_leave(
    request: Request,
    csrf: CsrfField = None,
    acknowledge_notice: Text = "",
    reason: Text = "",
    effective: Text = Effective.AT_ONCE.value,
) -> Response:
    """The customer's own request to leave its reseller (``requested_by:
    customer``): the request text must be ticked; its reseller reviews."""
    principal, _ = await signed_in(request)
    console_of(request).sessions.check_form(request, csrf)
    body = _submission(principal.sub, Requester.CUSTOMER, acknowledge_notice, reason, effective)
    await submit(body, principal, services_of(request))
    return see_other("/account")


def _submission(
    customer_uin: str, requested_by: Requester, acknowledge: str, reason: str, effective: str
) -> SubmitBody:
    """The API's submission body from a form; 422 naming the field otherwise."""
    try:
        body = SubmitBody.model_validate(
            {
                "customer_uin": customer_uin,
                "acknowledge_notice": acknowledge == "yes",
                "reason": reason.strip() or None,
                "requested_by": requested_by,
                "effective": effective,
            }
        )
    except ValidationError as error:
        raise from_validation(error) from None
    if not body.acknowledge_notice:
        what = "notice" if requested_by is Requester.RESELLER else "request"
        raise ApiProblem(
            422,
            f"the {what} was not acknowledged",
            errors=[{"field": what, "rule": f"tick the box to confirm you read the {what}"}],
        )
    return body


@router.post("/applications/{customer_uin}/{kind}")
async def act(
    request: Request,
    customer_uin: str,
    kind: str,
    csrf: CsrfField = None,
    action_id: Text = "",
    approve: Text = "",
    reason: Text = "",
) -> Response:
    """One party's action; ``action_id`` was fixed when the page was made, so
    posting the form twice has one effect."""
    principal, _ = await signed_in(request)
    console_of(request).sessions.check_form(request, csrf)
    try:
        spec = ACTIONS[ActionKind(kind)]
    except ValueError:
        raise ApiProblem(404, f"no action {kind}") from None
    fields: dict[str, object] = {}
    if "approve" in body_model(spec).model_fields:
        fields["approve"] = approve == "true"
    if reason.strip() and "reason" in body_model(spec).model_fields:
        fields["reason"] = reason.strip()
    try:
        body_model(spec).model_validate(fields)
    except ValidationError as error:
        raise from_validation(error) from None
    await perform(spec, customer_uin, fields, action_id, principal, services_of(request))
    if principal.sub == customer_uin:
        return see_other("/account")
    return see_other(f"/applications/{customer_uin}")


@router.post("/account/bind-card")
async def bind_card(request: Request, csrf: CsrfField = None, action_id: Text = "") -> Response:
    """The demo's card binding: the ledger records a card, then the customer
    reports it (the workflow checks the ledger before it believes it)."""
    principal, _ = await signed_in(request)
    console = console_of(request)
    console.sessions.check_form(request, csrf)
    if not console.dev_tokens:
        raise ApiProblem(
            403, "binding a card here is for the demo", allowed="your billing settings"
        )
    services = services_of(request)
    await in_database(services.partner_center.set_account, principal.sub, card_bound=True)
    spec = ACTIONS[ActionKind.CARD_BOUND]
    await perform(spec, principal.sub, {}, action_id, principal, services)
    return see_other("/account")
