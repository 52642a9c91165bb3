"""The texts people agree to (``GET /notice``) and one application's consent
evidence (``GET /applications/{customer_uin}/evidence``), from the database."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from starter.api.applications import NOT_FOUND, CustomerPath
from starter.api.auth import Principal
from starter.api.deps import Caller, Services, ServicesDep, in_database
from starter.api.problems import ApiProblem
from starter.api.visibility import is_party
from starter.errors import Refused
from starter.evidence import EvidenceFormat, evidence, rendered
from workflows.notice import CURRENT, Consent

router = APIRouter(tags=["evidence"])


@router.get("/notice", summary="The texts people agree to")
async def current_notice(principal: Caller) -> dict[str, Any]:
    """The current version of the notice the submitter acknowledges and of
    what the distributor and the customer decide on, each with its SHA-256:
    show these, and the application records the hash as evidence."""
    return {
        "version": CURRENT.version,
        "texts": {
            consent.value: {"text": CURRENT.texts[consent], "sha256": CURRENT.sha256(consent)}
            for consent in Consent
        },
    }


@router.get(
    "/applications/{customer_uin}/evidence",
    summary="Export an application's consent evidence",
    responses={200: {"content": {"text/markdown": {}, "text/html": {}}}},
)
async def export_evidence(
    customer_uin: CustomerPath,
    principal: Caller,
    services: ServicesDep,
    format: EvidenceFormat = EvidenceFormat.JSON,
    application_id: str | None = Query(default=None, pattern=r"^[A-Za-z0-9-]{8,64}$"),
) -> Any:
    """Who acknowledged or decided what, when, through which principal, on
    which text (with the texts, to check the hashes): for its parties and
    operators, read from the database (404 for anyone else)."""
    data = await visible_evidence(customer_uin, principal, services, application_id)
    if format is EvidenceFormat.JSON:
        return data
    page = rendered(data, format)
    response: Response
    if format is EvidenceFormat.HTML:
        response = HTMLResponse(page)
    else:
        response = PlainTextResponse(page, media_type="text/markdown")
    return response


async def visible_evidence(
    customer_uin: str, principal: Principal, services: Services, application_id: str | None = None
) -> dict[str, Any]:
    """The evidence as JSON-ready data, for its parties and operators; the
    same 404 for a missing application and for one the caller is no party to
    (the console's evidence page goes through here too)."""
    not_found = ApiProblem(404, NOT_FOUND.format(customer=customer_uin), slug="not-found")
    try:
        data = await in_database(evidence, services.partner_center, customer_uin, application_id)
    except Refused:
        raise not_found from None
    app = data["application"]
    if not is_party(
        principal,
        customer_uin=app["customer_uin"],
        initiator_uin=app["initiator_uin"],
        reseller_uin=app["reseller_uin"],
        distributor_uin=app["distributor_uin"],
    ):
        raise not_found
    return data
