"""Many applications at once: ``POST /applications/batch`` (a reseller leaving
the programme unbinds all its customers), the API's ``unbind apply-batch``."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from starter.api.applications import told_as_a_stranger
from starter.api.deps import Caller, ServicesDep, client_errors
from starter.api.problems import ApiProblem
from starter.batch import (
    BATCH_ID_PATTERN,
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    BatchResult,
    BatchRow,
    BatchRowError,
    build_batch,
    submit_batch,
)

router = APIRouter(tags=["applications"])

MAX_CUSTOMERS = 500
"""Per request: a larger batch is sent in several (the same batch_id resumes)."""


class BatchCustomer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Checked with the rest of the row by build_batch, so every row is named alike.
    customer_uin: str = Field(max_length=64)
    reason: str | None = Field(default=None, max_length=2000)


class BatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customers: list[BatchCustomer] = Field(min_length=1, max_length=MAX_CUSTOMERS)
    acknowledge_notice: StrictBool
    batch_id: str | None = Field(default=None, pattern=BATCH_ID_PATTERN)
    """Default: derived from the caller's root account and the customers, so
    the same request sent again resumes the same batch."""
    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1, le=MAX_CONCURRENCY)


@router.post(
    "/applications/batch",
    response_model=BatchResult,
    summary="Submit one application per customer",
)
async def submit_many(body: BatchBody, principal: Caller, services: ServicesDep) -> BatchResult:
    """Every customer is validated first (a bad one: 422 naming
    ``customers[i].field``, nothing submitted); then each is submitted, a few
    at a time. 200 with each customer's outcome: accepted, refused (with the
    failed checks), conflict (another application open) or error (send the
    same request again: what was submitted is found, not submitted twice)."""
    if principal.is_operator:
        raise ApiProblem(
            403, "operators cannot submit applications", allowed="a partner's root account"
        )
    # Row n of the request is customers[n - 1].
    rows = [
        BatchRow(index + 1, customer.customer_uin, customer.reason)
        for index, customer in enumerate(body.customers)
    ]
    try:
        batch_id, applications = build_batch(
            rows,
            initiator_uin=principal.root,
            submitter_uin=principal.sub,
            notice_acknowledged=body.acknowledge_notice,
            batch_id=body.batch_id,
        )
    except BatchRowError as error:
        field = f"customers[{error.row - 1}]" + (f".{error.column}" if error.column else "")
        raise ApiProblem(
            422,
            f"invalid input: {field}",
            slug="invalid-input",
            errors=[{"field": field, "rule": error.row_rule}],
        ) from None
    async with client_errors():
        return await submit_batch(
            services.client,
            batch_id,
            applications,
            concurrency=body.concurrency,
            checked_first=partial(told_as_a_stranger, services),
        )
