"""The caller's own views: system messages, worklist; and the operators' audit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from pydantic.dataclasses import dataclass as pydantic_dataclass

from activities.sql.audit import Refusal
from starter.api.deps import Caller, ServicesDep, in_database, visibility_errors
from starter.api.problems import ApiProblem
from starter.api.visibility import WAITING_STATUSES, awaited_actions, list_clause, status_clause
from starter.reading import summary_of
from workflows.actions import Roles
from workflows.contract import APPLICATIONS_LISTED
from workflows.model import ActionKind, UnbindStatus

router = APIRouter()

WORKLIST_LIMIT = 500
"""A worklist longer than this is a backlog for the list view, not a to-do list."""
MAX_AUDIT_ROWS = 1000


class Message(BaseModel):
    at: datetime
    event: str
    workflow_id: str
    application_id: str
    subject: str
    body: str


class WorkItem(BaseModel):
    workflow_id: str
    customer_uin: str
    status: UnbindStatus
    actions: list[ActionKind]
    deadline: datetime | None
    reseller_uin: str | None
    distributor_uin: str | None


# A refused attempt as ``GET /audit`` answers it: the audit row's own fields, so
# the two cannot drift apart. (No docstring: it would become the schema's description.)
@pydantic_dataclass(frozen=True)
class AuditEntry(Refusal):
    pass


@router.get("/me/messages", response_model=list[Message], tags=["me"])
async def my_messages(principal: Caller, services: ServicesDep) -> list[dict[str, Any]]:
    """The caller's system messages, newest first (an operator has none)."""
    if principal.is_operator:
        return []
    messages = await in_database(services.partner_center.inbox, principal.sub)
    return list(reversed(messages))


@router.get("/me/worklist", response_model=list[WorkItem], tags=["me"])
async def my_worklist(principal: Caller, services: ServicesDep) -> list[WorkItem]:
    """What waits for the caller, soonest deadline first: reviews for a
    distributor or a customer's reseller, confirmation and card binding for a
    customer, remediation for an initiator (and for operators, who may recheck)."""
    clauses = [APPLICATIONS_LISTED, status_clause(WAITING_STATUSES)]
    own = list_clause(principal)
    if own:
        clauses.append(own)
    async with visibility_errors():
        listed = [
            summary_of(execution)
            async for execution in services.client.temporal.list_workflows(
                " AND ".join(clauses), limit=WORKLIST_LIMIT
            )
        ]
    # The initiator is the reseller, or the customer in its own request: the
    # system of record says which (an application not written yet has none).
    initiators = await in_database(
        services.partner_center.initiators, [s.workflow_id for s in listed]
    )
    items = []
    for summary in listed:
        if summary.status is None or summary.customer_uin is None:
            continue
        roles = Roles(
            customer_uin=summary.customer_uin,
            initiator_uin=initiators.get(summary.workflow_id, ""),
            distributor_uin=summary.distributor_uin,
            reseller_uin=summary.reseller_uin,
        )
        actions = awaited_actions(principal, summary.status, roles)
        if actions:
            items.append(
                WorkItem(
                    workflow_id=summary.workflow_id,
                    customer_uin=summary.customer_uin,
                    status=summary.status,
                    actions=actions,
                    deadline=summary.deadline,
                    reseller_uin=summary.reseller_uin,
                    distributor_uin=summary.distributor_uin,
                )
            )
    far = datetime.max.replace(tzinfo=None)
    items.sort(key=lambda item: item.deadline.replace(tzinfo=None) if item.deadline else far)
    return items


@router.get("/audit", response_model=list[AuditEntry], tags=["operators"])
async def audit(
    principal: Caller,
    services: ServicesDep,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_ROWS)] = 100,
) -> list[dict[str, Any]]:
    """Refused attempts through the API, newest first: operators only."""
    if not principal.is_operator:
        raise ApiProblem(403, "the audit log is for operators", allowed="operators")
    rows = await in_database(services.partner_center.refusals, since=since, limit=limit)
    return [row.as_json() for row in rows]
