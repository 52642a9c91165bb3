"""``POST /applications/{customer_uin}/{action}``: one route per row of
``workflows.actions.ACTIONS``.

The body is the action model's own fields (``approve``, ``reason``); the
actor comes from the token and the ``action_id`` from the
``Idempotency-Key`` header, so the same request twice has one effect and gets
the same answer (the update id names the whole action).
"""

import inspect
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import APIRouter, Body, Header
from pydantic import BaseModel, ConfigDict, ValidationError, create_model, field_validator

from starter.api.applications import CustomerPath, visible_application
from starter.api.auth import Principal
from starter.api.deps import Caller, Services, ServicesDep, client_errors
from starter.api.problems import ApiProblem, from_validation, one_visible_line
from starter.api.visibility import roles_of
from starter.inputs import shown
from workflows.actions import ACTIONS, ActionSpec
from workflows.fields import NEW_TEXT
from workflows.model import ActionResult

router = APIRouter(tags=["actions"])

ACTION_ID_PATTERN = r"^[A-Za-z0-9._:@-]{1,128}$"
"""The ``ActionId`` rule of workflows/fields.py."""
_SET_BY_THE_API = ("actor", "action_id")
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=ACTION_ID_PATTERN,
        description="Becomes the action_id: the same key and body again has no second effect.",
    ),
]


def body_model(spec: ActionSpec) -> type[BaseModel]:
    """The action's own fields, as the request body (no actor, no action_id)."""
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in spec.model.model_fields.items()
        if name not in _SET_BY_THE_API
    }
    text_fields = [name for name, (annotation, _) in fields.items() if _holds_text(annotation)]
    validators = (
        {"one_visible_line": field_validator(*text_fields)(one_visible_line)} if text_fields else {}
    )
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{spec.model.__name__}Body",
        __config__=ConfigDict(extra="forbid"),
        __validators__=validators,
        **fields,
    )


def _holds_text(annotation: Any) -> bool:
    """``str``, ``Reason`` (an annotated ``str``), or an optional one."""
    if annotation is str:
        return True
    origin = get_origin(annotation)
    if origin is Annotated:
        return _holds_text(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return any(_holds_text(arg) for arg in get_args(annotation))
    return False


async def perform(
    spec: ActionSpec,
    customer_uin: str,
    fields: dict[str, Any],
    idempotency_key: str,
    principal: Principal,
    services: Services,
) -> ActionResult:
    """One action by the caller, in the API's order of checks (422, 404, 403,
    then send signed; 409 when the workflow refuses it). The console's forms
    go through here too."""
    try:
        action = spec.model.model_validate(
            # A decision records the text the API's clients show (GET /notice).
            {
                **shown(spec.model, fields),
                "actor": principal.actor,
                "action_id": idempotency_key,
            },
            context={NEW_TEXT: True},
        )
    except ValidationError as error:
        raise from_validation(error, names={"action_id": "Idempotency-Key"}) from None
    application = await visible_application(customer_uin, principal, services)
    if not spec.may_act(principal.actor, roles_of(application)):
        raise ApiProblem(
            403, f"{principal.actor} may not {spec.kind.value}", allowed=spec.actor_rule
        )
    async with client_errors(action_id=action.action_id):
        result = await services.client.act(
            customer_uin,
            action,
            principal=principal.sub,
            application_id=application.application_id,
        )
    if not result.accepted:
        raise ApiProblem(
            409,
            result.reason or f"{spec.kind.value} was not accepted",
            slug="refused",
            application_status=result.status.value,
        )
    return result


def _route(spec: ActionSpec) -> None:
    Model = body_model(spec)
    optional = not any(info.is_required() for info in Model.model_fields.values())

    async def act(
        customer_uin: CustomerPath,
        idempotency_key: IdempotencyKey,
        principal: Caller,
        services: ServicesDep,
        body: Annotated[Model | None, Body()] = None,  # type: ignore[valid-type]
    ) -> ActionResult:
        fields: dict[str, Any] = body.model_dump(exclude_unset=True) if body is not None else {}
        return await perform(spec, customer_uin, fields, idempotency_key, principal, services)

    # The body is required when the action has a required field (review: approve).
    signature = inspect.signature(act)
    body_param = signature.parameters["body"].replace(
        annotation=Annotated[Model | None, Body()] if optional else Annotated[Model, Body()],
        default=None if optional else inspect.Parameter.empty,
    )
    act.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*(p for n, p in signature.parameters.items() if n != "body"), body_param]
    )
    router.add_api_route(
        f"/applications/{{customer_uin}}/{spec.kind.value}",
        act,
        methods=["POST"],
        response_model=ActionResult,
        name=spec.kind.value,
        summary=spec.help,
        description=f"{spec.description} Who may: {spec.actor_rule}. "
        f"Accepted in: {', '.join(sorted(s.value for s in spec.accepted_in))}.",
    )


for _spec in ACTIONS.values():
    _route(_spec)
