"""Applications: submit one, list what the caller may see, read one."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from activities.partner_center import submission_checks, told_only_the_relationship
from starter.api.auth import Principal
from starter.api.deps import (
    Caller,
    Services,
    ServicesDep,
    client_errors,
    in_database,
    visibility_errors,
)
from starter.api.problems import ApiProblem, FieldError, from_validation, invalid, one_visible_line
from starter.api.visibility import list_clause, may_see
from starter.errors import Refused
from starter.inputs import acknowledged_text
from starter.reading import ApplicationSummary, summary_of
from workflows.contract import APPLICATIONS_LISTED, workflow_id_for
from workflows.fields import NEW_TEXT, UIN_PATTERN, Reason
from workflows.model import (
    ApplicationInput,
    DeadlineActions,
    Deadlines,
    Effective,
    FailedCheck,
    OnDeadline,
    Requester,
    SubmissionResult,
    UnbindingState,
    UnbindStatus,
)
from workflows.notice import CURRENT
from workflows.search_attributes import (
    CUSTOMER_UIN,
    DISTRIBUTOR_UIN,
    RESELLER_UIN,
    UNBIND_DEADLINE,
    UNBIND_STATUS,
)
from workflows.settings import SETTINGS

router = APIRouter(tags=["applications"])

CustomerPath = Annotated[str, Path(pattern=UIN_PATTERN, description="The sub-customer's UIN.")]
UinQuery = Annotated[str | None, Query(pattern=UIN_PATTERN)]
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
NOT_FOUND = "no application for customer {customer} that you may see"


class DeadlineDays(BaseModel):
    """Per-application deadlines in days (fractions allowed), within the
    bounds in workflows/settings.py; the defaults otherwise."""

    model_config = ConfigDict(extra="forbid")

    reseller_review: float | None = Field(default=None, gt=0)
    distributor_review: float | None = Field(default=None, gt=0)
    customer_confirmation: float | None = Field(default=None, gt=0)
    card_binding: float | None = Field(default=None, gt=0)
    remediation: float | None = Field(default=None, gt=0)


class SubmitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_uin: str = Field(pattern=UIN_PATTERN)
    acknowledge_notice: StrictBool
    reason: Reason | None = None
    deadlines: DeadlineDays | None = None
    requested_by: Requester = Requester.RESELLER
    """``customer``: the caller is the customer applying for itself (its
    reseller reviews); ``reseller`` (default): the caller's root is the initiator."""
    effective: Effective = Effective.AT_ONCE
    """When the cutover takes effect: at once, or at the end of the billing month."""
    on_deadline: DeadlineActions | None = None
    """What each wait's deadline does (default: the reseller's review is
    approved automatically, every other wait expires)."""

    _reason_is_one_visible_line = field_validator("reason")(one_visible_line)


class ApplicationPage(BaseModel):
    applications: list[ApplicationSummary]
    next_page_token: str | None = None


class ApplicationView(UnbindingState):
    """The full state and timeline, with Temporal's view of the latest run."""

    execution_status: str
    run_id: str


# The model's names for what the body calls otherwise.
_SUBMIT_FIELDS = {"notice_acknowledged": "acknowledge_notice", "initiator_uin": "customer_uin"}


_REVIEWS_AT_LEAST = {
    "reseller_review": SETTINGS.reseller_review_deadline,
    "distributor_review": SETTINGS.distributor_review_deadline,
}


def reviews_cut_short(deadlines: Deadlines) -> list[FieldError]:
    """A review whose deadline approves it is the reviewer's time, not the
    submitter's to cut: below the default, the party reviewed could have itself
    approved in a minute. (A deadline that expires or hands over may be shorter:
    it costs the submitter only.)"""
    return [
        FieldError(
            field=f"deadlines.{wait}",
            rule=f"a review approved when its deadline passes keeps at least the default "
            f"{least.days} days (or set on_deadline.{wait} to expire)",
        )
        for wait, least in _REVIEWS_AT_LEAST.items()
        if getattr(deadlines.on_deadline, wait) is OnDeadline.APPROVE
        and getattr(deadlines, wait) < least
    ]


def application_input(principal: Principal, body: SubmitBody) -> ApplicationInput:
    """The application the caller submits: initiator its root account (the
    token's owner, else itself), submitter itself. Every bad field is named."""
    given_days = body.deadlines.model_dump(exclude_none=True) if body.deadlines else {}
    fields: dict[str, Any] = {
        "application_id": uuid4().hex,
        "customer_uin": body.customer_uin,
        "initiator_uin": principal.root,
        "submitter_uin": principal.sub,
        "notice_acknowledged": body.acknowledge_notice,
        "acknowledged_at": datetime.now().astimezone(),
        "reason": body.reason,
        "deadlines": Deadlines(),
        # The notice the API's clients show (GET /notice), kept as evidence.
        "notice_version": CURRENT.version,
        "notice_sha256": CURRENT.sha256(acknowledged_text(body.requested_by)),
        "requested_by": body.requested_by,
        "effective": body.effective,
    }
    try:
        given: dict[str, Any] = {name: timedelta(days=days) for name, days in given_days.items()}
        if body.on_deadline is not None:
            given["on_deadline"] = body.on_deadline
        fields["deadlines"] = Deadlines.model_validate(given)
    except ValidationError as error:
        problem = from_validation(error)
        for item in problem.extra["errors"]:
            item["field"] = f"deadlines.{item['field']}"
        raise problem from None
    if shortened := reviews_cut_short(fields["deadlines"]):
        raise invalid(shortened)
    try:
        return ApplicationInput.model_validate(fields, context={NEW_TEXT: True})
    except ValidationError as error:
        problem = from_validation(error, names=_SUBMIT_FIELDS)
        for item in problem.extra["errors"]:
            if item["field"] == "body":
                item["field"] = "customer_uin"
        raise problem from None


async def told_as_a_stranger(
    services: Services, application: ApplicationInput
) -> list[FailedCheck] | None:
    """The submission checks a stranger fails (``relationship``: the initiator
    is not the customer's partner), read from the partner center before
    anything starts; None for the customer's own parties. A stranger's
    application would otherwise start a run that fails its checks and, as the
    customer's latest, hide the real application from its parties."""
    pc = services.partner_center

    def checks() -> list[FailedCheck]:
        initiator = pc.account(application.initiator_uin)
        same = application.submitter_uin == application.initiator_uin
        return submission_checks(
            customer=pc.account(application.customer_uin),
            initiator=initiator,
            submitter=initiator if same else pc.account(application.submitter_uin),
            initiator_uin=application.initiator_uin,
            open_application=None,
            requested_by=application.requested_by,
        )

    failed = await in_database(checks)
    return failed if told_only_the_relationship(failed) else None


def refused(result: SubmissionResult) -> ApiProblem:
    names = ", ".join(check.check.value for check in result.failed_checks)
    return ApiProblem(
        409,
        f"the application was not accepted: {names}",
        slug="failed-checks",
        failed_checks=[check.model_dump(mode="json") for check in result.failed_checks],
        application_status=result.status.value,
        workflow_id=result.workflow_id,
    )


@router.post(
    "/applications",
    status_code=status.HTTP_201_CREATED,
    response_model=SubmissionResult,
    summary="Submit an application",
)
async def submit(body: SubmitBody, principal: Caller, services: ServicesDep) -> SubmissionResult:
    """Checks the preconditions at once: 201 when accepted, 409 naming the
    failed checks (or the application already open)."""
    if principal.is_operator:
        raise ApiProblem(
            403, "operators cannot submit applications", allowed="a partner's root account"
        )
    application = application_input(principal, body)
    if (failed := await told_as_a_stranger(services, application)) is not None:
        raise refused(
            SubmissionResult(
                accepted=False,
                workflow_id=workflow_id_for(application.customer_uin),
                status=UnbindStatus.PRECHECK_FAILED,
                failed_checks=failed,
            )
        )
    async with client_errors():
        result = await services.client.submit(application)
    if not result.accepted:
        raise refused(result)
    return result


@router.get("/applications", response_model=ApplicationPage, summary="List applications")
async def list_applications(
    principal: Caller,
    services: ServicesDep,
    status: UnbindStatus | None = None,
    reseller: UinQuery = None,
    distributor: UinQuery = None,
    customer: UinQuery = None,
    deadline_before: datetime | None = None,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    page_token: str | None = None,
) -> ApplicationPage:
    """Only what the caller may see, newest first, a page at a time (the
    visibility store is eventually consistent: a change may take a moment)."""
    # Every value below is an enum, a UIN or a datetime: nothing to escape.
    clauses = [APPLICATIONS_LISTED]
    own = list_clause(principal)
    if own:
        clauses.append(own)
    for attribute, value in (
        (UNBIND_STATUS, status.value if status else None),
        (RESELLER_UIN, reseller),
        (DISTRIBUTOR_UIN, distributor),
        (CUSTOMER_UIN, customer),
    ):
        if value is not None:
            clauses.append(f"{attribute.name} = '{value}'")
    if deadline_before is not None:
        if deadline_before.tzinfo is None:
            deadline_before = deadline_before.replace(tzinfo=UTC)
        clauses.append(f"{UNBIND_DEADLINE.name} < '{deadline_before.isoformat()}'")
    query = " AND ".join(clauses)
    pages = services.client.temporal.list_workflows(
        query, page_size=page_size, next_page_token=_opened(page_token, query)
    )
    async with visibility_errors(blame="page_token"):
        await pages.fetch_next_page()
    following = pages.next_page_token
    return ApplicationPage(
        applications=[summary_of(execution) for execution in pages.current_page or []],
        next_page_token=_sealed(following, query) if following else None,
    )


# Page tokens are Temporal's, sealed with a key of this process and bound to
# the query they continue: a token the API never gave out (or one for another
# caller's query) is refused as bad input instead of reaching the server,
# which answers such bytes with an internal error. A restarted API refuses
# the tokens of the one before: the caller starts the list again.
_PAGE_TOKEN_KEY = secrets.token_bytes(32)
_SEAL_LENGTH = 16


def _seal(token: bytes, query: str) -> bytes:
    mac = hmac.new(_PAGE_TOKEN_KEY, query.encode() + b"\0" + token, hashlib.sha256)
    return mac.digest()[:_SEAL_LENGTH]


def _sealed(token: bytes, query: str) -> str:
    return base64.urlsafe_b64encode(_seal(token, query) + token).decode()


def _opened(page_token: str | None, query: str) -> bytes | None:
    if not page_token:
        return None
    try:
        raw = base64.urlsafe_b64decode(page_token.encode())
        seal, token = raw[:_SEAL_LENGTH], raw[_SEAL_LENGTH:]
        if token and hmac.compare_digest(seal, _seal(token, query)):
            return token
    except (binascii.Error, ValueError):
        pass
    raise ApiProblem(
        422,
        "page_token is not a token this API gave out",
        slug="invalid-input",
        errors=[{"field": "page_token", "rule": "must be a next_page_token from a list answer"}],
    ) from None


@router.get(
    "/applications/{customer_uin}", response_model=ApplicationView, summary="Read an application"
)
async def read_application(
    customer_uin: CustomerPath, principal: Caller, services: ServicesDep
) -> ApplicationView:
    """The latest application of the customer, open or ended, with its
    timeline: for its parties and operators; 404 for anyone else."""
    return await visible_application(customer_uin, principal, services)


async def visible_application(
    customer_uin: str, principal: Principal, services: ServicesDep
) -> ApplicationView:
    """The application as its party sees it; the same 404 for a missing one
    and for one the caller is no party to."""
    not_found = ApiProblem(404, NOT_FOUND.format(customer=customer_uin), slug="not-found")
    async with client_errors():
        try:
            report = await services.client.report(customer_uin)
        except Refused as error:
            if error.message.startswith("no application"):
                raise not_found from None
            raise
    if not may_see(principal, report.state):
        raise not_found
    return ApplicationView(
        **report.state.model_dump(), execution_status=report.execution_status, run_id=report.run_id
    )
