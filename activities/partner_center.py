"""The one narrow interface between the orchestrator and the system of record
(the provider's "partner center"), plus the precondition checks over it.

Activities see only :class:`PartnerCenter`. The SQL implementation lives in
``activities.sql`` (a package, one module per role); any other backend implements the same protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from workflows.model import (
    CheckName,
    CutoverRequest,
    CutoverResult,
    FailedCheck,
    GroupRole,
    Notification,
    OverduePrivilege,
    PartnerKind,
    Requester,
    UnbindingRecord,
)


class PartnerCenterError(Exception):
    """Base of the partner center's business refusals."""


class RelationshipConflict(PartnerCenterError):
    """The customer is no longer bound to the partner the application names.

    Not retryable: retrying cannot make the relationship come back.
    """


class ReusedApplicationId(RelationshipConflict):
    """The application id belongs to another customer's application.

    A kind of :class:`RelationshipConflict`, and reported as one (the same
    non-retryable error type): this run has no relationship to cut over.
    """


class ApplicationClosed(RelationshipConflict):
    """The application's record is already closed (ended by the workflow, or by
    ``unbind close-terminated`` after a terminate): its cutover may not run.

    Reported as a :class:`RelationshipConflict`, so no retry can commit it.
    """


class UnknownAccount(PartnerCenterError):
    """No account with that UIN exists."""


class LedgerConflict(PartnerCenterError):
    """A ledger change contradicts what is already recorded."""


@dataclass(frozen=True)
class AccountSnapshot:
    """What the checks need to know about one account, read in one go."""

    uin: str
    name: str | None
    owner_uin: str | None
    frozen: bool
    credit_cents: int
    overdue_privilege: OverduePrivilege
    group_role: GroupRole
    savings_unit: str | None
    card_bound: bool
    partner_uin: str | None
    """The partner this account is bound to through an active agreement."""
    partner_kind: PartnerKind | None
    distributor_uin: str | None
    """The distributor of ``partner_uin`` when that is a second-level reseller."""
    agreement_id: int | None
    agreement_state: str | None


class PartnerCenter(Protocol):
    """Everything the activities read from and write to the system of record.

    Every write is idempotent, keyed by the application id, so an activity can
    be retried any number of times with one effect.
    """

    def account(self, uin: str) -> AccountSnapshot | None: ...

    def discounts(self, customer_uin: str) -> tuple[str, ...]:
        """The names of the reseller's active discounts on the customer's account."""
        ...

    def open_application_for(self, customer_uin: str, *, other_than: str) -> str | None:
        """The id of another not-yet-ended application for this customer."""
        ...

    def record_of(self, application_id: str) -> UnbindingRecord | None:
        """The record an application id already has, whoever's it is."""
        ...

    def save_record(self, record: UnbindingRecord) -> None:
        """Upsert the "Unbinding Customers" row; an older revision never wins,
        another customer's row with the same application id is left alone, and
        a closed row is never reopened."""
        ...

    def deliver(self, notification: Notification) -> int:
        """Put one message per recipient in the inbox, once per application,
        workflow (customer) and event; returns how many were new."""
        ...

    def cut_over(self, request: CutoverRequest) -> CutoverResult:
        """In one transaction: end the relationship, invalidate the agreement and
        record the effective time (the commit's, never before ``request.not_before``,
        the effective date of a cutover at the end of the month). Repeating it returns the first
        result while the application is open; raises :class:`RelationshipConflict`
        when the customer is bound to someone else and was never cut over by this
        application, :class:`ReusedApplicationId` when the application id is
        another customer's, :class:`ApplicationClosed` once its record is closed."""
        ...


# ---- the precondition checks (SPEC section 3) ------------------------------

HINTS: dict[CheckName, str] = {
    CheckName.RELATIONSHIP: "the customer must exist and be bound to the initiator",
    CheckName.ROOT_ACCOUNT: "log in with the root account of the partner to submit",
    CheckName.ACCOUNT_FROZEN: "unfreeze the customer account first",
    CheckName.CREDIT: "allocate credit so that the available credit is at least 0",
    CheckName.OVERDUE_PRIVILEGE: (
        "disable the uninterrupted-service-during-arrears privilege "
        "in the service suspension policy"
    ),
    CheckName.GROUP_MEMBERSHIP: "remove the customer from its group",
    CheckName.SAVINGS_PLAN_UNIT: "remove the customer from its savings plan shared unit",
    CheckName.OPEN_APPLICATION: "wait for the open application to end, or withdraw it",
    CheckName.CARD: "have the customer bind a credit card in Expense Center > Account Information",
}


CUSTOMER_HINTS: dict[CheckName, str] = {
    CheckName.RELATIONSHIP: "the customer must exist and be bound to a reseller",
    CheckName.ROOT_ACCOUNT: "log in with the customer's own root account to apply",
}
"""The hints that differ when the customer applies for itself."""


def _is_root_of(initiator: AccountSnapshot | None, submitter: AccountSnapshot | None) -> bool:
    """The submitter is the initiator's root account itself (not a sub-user)."""
    return (
        initiator is not None
        and initiator.owner_uin is None
        and submitter is not None
        and submitter.uin == initiator.uin
    )


def failed(check: CheckName, hint: str | None = None) -> FailedCheck:
    return FailedCheck(check=check, hint=hint or HINTS[check])


def account_checks(customer: AccountSnapshot) -> list[FailedCheck]:
    """The account's own conditions, checked at submission and again before cutover."""
    checks = []
    if customer.frozen:
        checks.append(failed(CheckName.ACCOUNT_FROZEN))
    if customer.credit_cents < 0:
        checks.append(failed(CheckName.CREDIT))
    if customer.overdue_privilege is not OverduePrivilege.NONE:
        checks.append(failed(CheckName.OVERDUE_PRIVILEGE))
    if customer.group_role is not GroupRole.NONE:
        checks.append(failed(CheckName.GROUP_MEMBERSHIP))
    if customer.savings_unit is not None:
        checks.append(failed(CheckName.SAVINGS_PLAN_UNIT))
    return checks


def final_checks(customer: AccountSnapshot) -> list[FailedCheck]:
    """The checks right before cutover: the account checks again, and a card,
    because a card bound weeks ago may have been removed since and the customer
    is billed directly from the cutover on. (At submission a missing card is no
    failure: it only means the card-binding step later.)"""
    checks = account_checks(customer)
    if not customer.card_bound:
        checks.append(failed(CheckName.CARD))
    return checks


def submission_checks(
    *,
    customer: AccountSnapshot | None,
    initiator: AccountSnapshot | None,
    submitter: AccountSnapshot | None,
    initiator_uin: str,
    open_application: str | None,
    earlier_record: UnbindingRecord | None = None,
    requested_by: Requester = Requester.RESELLER,
) -> list[FailedCheck]:
    """Every check of a new application, each reported by name.

    ``earlier_record`` is a record the application id already has: a reused
    id (a raw start, a backend retrying a submission that already finished)
    never runs a second application under the first one's id."""
    checks = []
    if requested_by is Requester.CUSTOMER:
        # The customer applies for itself: it must be bound to a reseller, and
        # only its own root account may apply (the initiator is the customer).
        if customer is None or customer.partner_uin is None:
            checks.append(failed(CheckName.RELATIONSHIP, CUSTOMER_HINTS[CheckName.RELATIONSHIP]))
        if not _is_root_of(initiator, submitter):
            checks.append(failed(CheckName.ROOT_ACCOUNT, CUSTOMER_HINTS[CheckName.ROOT_ACCOUNT]))
    else:
        if customer is None or customer.partner_uin != initiator_uin:
            checks.append(failed(CheckName.RELATIONSHIP))
        if not _is_root_of(initiator, submitter):
            checks.append(failed(CheckName.ROOT_ACCOUNT))
    if customer is not None:
        checks.extend(account_checks(customer))
    if open_application is not None:
        checks.append(
            failed(
                CheckName.OPEN_APPLICATION,
                f"application {open_application} is still open: "
                f"{HINTS[CheckName.OPEN_APPLICATION]}",
            )
        )
    elif earlier_record is not None:
        checks.append(
            failed(
                CheckName.OPEN_APPLICATION,
                f"application id {earlier_record.application_id} was already used "
                f"(customer {earlier_record.customer_uin}, {earlier_record.status}): "
                "submit with a new application id",
            )
        )
    return checks
