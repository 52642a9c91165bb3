"""The one narrow interface between the orchestrator and the system of record
(the provider's "partner center"), plus the precondition checks over it.

Activities see only :class:`PartnerCenter`. The SQL implementation lives in
``activities.sql`` (a package, one module per role); any other backend implements the same protocol.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from workflows.model import (
    CheckName,
    CutoverRequest,
    CutoverResult,
    FailedCheck,
    GroupRole,
    Notification,
    Outbox,
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
    overdue_bills: int = 0
    """The reseller's unsettled overdue bills with this customer (the notice:
    "settling ALL overdue payments")."""
    active_discounts: int = 0
    """Sub-customer discounts still active (the notice: "deactivating ALL
    sub-customer discounts"): the active rows of the ``discounts`` table."""
    info_complete: bool = True
    """The customer's account information is complete (step 6, beside the card)."""


@dataclass(frozen=True)
class Quota:
    """At most ``limit`` applications in any ``months`` calendar months;
    ``limit`` 0 switches the quota off."""

    limit: int = 3
    months: int = 3

    def __post_init__(self) -> None:
        if self.limit < 0 or not 1 <= self.months <= 120:
            raise ValueError(f"a quota is a limit of 0 or more in 1-120 months, not {self}")

    def __str__(self) -> str:
        return f"{self.limit} in {self.months} month{'' if self.months == 1 else 's'}"


@dataclass(frozen=True)
class Quotas:
    """How many applications a customer, and one reseller for one customer,
    may submit over a window (Huawei's rule: 3 in 3 months). Counted from the
    records: every application that passed its submission checks."""

    per_customer: Quota = field(default_factory=Quota)
    per_pair: Quota = field(default_factory=Quota)

    @property
    def window_months(self) -> int:
        return max(self.per_customer.months, self.per_pair.months)


@dataclass(frozen=True)
class Submitted:
    """An earlier application of a customer, as the quotas count it."""

    reseller_uin: str
    """The reseller of the pair, whoever applied (the reseller or the customer)."""
    submitted_at: datetime


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the month's
    last day when it is shorter)."""
    return _shifted(moment, -months)


def counted_since(now: datetime, quotas: Quotas) -> datetime:
    """How far back the records must be read for the quotas at ``now``: the
    window, and the few days a month's clamped last day can add."""
    return months_before(now, quotas.window_months) - timedelta(days=4)


def months_after(moment: datetime, months: int) -> datetime:
    return _shifted(moment, months)


def _shifted(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


class PartnerCenter(Protocol):
    """Everything the activities read from and write to the system of record.

    Every write is idempotent, keyed by the application id, so an activity can
    be retried any number of times with one effect.
    """

    def snapshot(self) -> AbstractContextManager[None]:
        """The reads made inside, on this thread, see one state of the partner
        center (one read transaction)."""
        ...

    def account(self, uin: str) -> AccountSnapshot | None: ...

    def discounts(self, customer_uin: str) -> tuple[str, ...]:
        """The names of the reseller's active discounts on the customer's account."""
        ...

    def open_application_for(self, customer_uin: str, *, other_than: str) -> str | None:
        """The id of another not-yet-ended application for this customer."""
        ...

    def submitted_since(
        self, customer_uin: str, since: datetime, *, other_than: str
    ) -> list[Submitted]:
        """The customer's other applications submitted at or after ``since``
        that passed their submission checks (the ones a quota counts)."""
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

    def commit(self, outbox: Outbox) -> int:
        """``save_record`` and ``deliver`` of everything in ``outbox``, in one
        transaction; returns how many messages were new."""
        ...

    def cut_over(self, request: CutoverRequest) -> CutoverResult:
        """In one transaction: end the relationship, invalidate the agreement and
        record the effective time (the commit's, never before ``request.not_before``,
        the effective date of a cutover at the end of the month), with the
        request's outbox first and its ending (``texts.completed_on``) last.
        Repeating it returns the first result while the application is open or
        closed by that ending; raises :class:`RelationshipConflict`
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
    CheckName.OVERDUE_BILLS: "settle ALL overdue payments with this sub-customer",
    CheckName.ACTIVE_DISCOUNTS: "deactivate ALL sub-customer discounts for this sub-customer",
    CheckName.CUSTOMER_QUOTA: "this customer has had too many unbinding applications lately",
    CheckName.PAIR_QUOTA: (
        "this reseller has submitted too many unbinding applications for this customer lately"
    ),
    CheckName.ACCOUNT_INFORMATION: (
        "have the customer complete its account information in Expense Center > Account Information"
    ),
}


def _counted(check: CheckName, count: int, what: str) -> FailedCheck:
    """A failed check whose hint says how many are left."""
    return failed(check, f"{HINTS[check]}: {count} {what}{'' if count == 1 else 's'} left")


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


def notice_checks(customer: AccountSnapshot) -> list[FailedCheck]:
    """What the unbinding notice makes the reseller promise before it applies:
    overdue bills settled, discounts deactivated. Only the reseller's own
    application promises them: a customer leaving on its own request cannot
    settle the reseller's bills or end its discounts (the discounts end at the
    cutover and the plan lists them; delayed bills stay with the reseller)."""
    checks = []
    if customer.overdue_bills > 0:
        checks.append(_counted(CheckName.OVERDUE_BILLS, customer.overdue_bills, "overdue bill"))
    if customer.active_discounts > 0:
        checks.append(
            _counted(CheckName.ACTIVE_DISCOUNTS, customer.active_discounts, "active discount")
        )
    return checks


def final_checks(
    customer: AccountSnapshot, requested_by: Requester = Requester.RESELLER
) -> list[FailedCheck]:
    """The checks right before cutover: the account checks again, and a card,
    because a card bound weeks ago may have been removed since and the customer
    is billed directly from the cutover on, and its account information
    complete (step 6). (At submission a missing card is no failure: it only
    means the card-binding step later.)"""
    checks = account_checks(customer)
    if requested_by is Requester.RESELLER:
        checks.extend(notice_checks(customer))
    if not customer.card_bound:
        checks.append(failed(CheckName.CARD))
    if not customer.info_complete:
        checks.append(failed(CheckName.ACCOUNT_INFORMATION))
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
    never runs a second application under the first one's id.

    An initiator who is not the customer's partner (``relationship``) learns
    nothing more: the account's state and its other applications are told
    only to the customer's own parties (``told_only_the_relationship``)."""
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
    if told_only_the_relationship(checks):
        return checks
    if customer is not None:
        checks.extend(account_checks(customer))
        if requested_by is Requester.RESELLER:
            checks.extend(notice_checks(customer))
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


def told_only_the_relationship(checks: Iterable[FailedCheck]) -> bool:
    """Whether a submission failed as a stranger's: nothing but who may apply
    is told (no account state, no other application, no quota, no parties)."""
    return any(c.check is CheckName.RELATIONSHIP for c in checks)


def quota_checks(
    *, reseller_uin: str, earlier: Iterable[Submitted], quotas: Quotas, now: datetime
) -> list[FailedCheck]:
    """The quotas a new application would exceed, each with the first moment
    another one is allowed: when enough of the counted applications have left
    the window."""
    earlier = list(earlier)
    checks = []
    for check, quota, counted in (
        (CheckName.CUSTOMER_QUOTA, quotas.per_customer, earlier),
        (
            CheckName.PAIR_QUOTA,
            quotas.per_pair,
            [e for e in earlier if e.reseller_uin == reseller_uin],
        ),
    ):
        if quota.limit == 0:
            continue
        # Each application counts until the same moment ``months`` later.
        leave = sorted(
            left for e in counted if now < (left := months_after(e.submitted_at, quota.months))
        )
        if len(leave) < quota.limit:
            continue
        # Allowed again once len(leave) - quota.limit + 1 of them have left the window.
        next_allowed = leave[len(leave) - quota.limit]
        checks.append(
            FailedCheck(
                check=check,
                hint=f"{HINTS[check]} ({len(leave)} of at most {quota}): "
                f"the next one is allowed from {next_allowed:%Y-%m-%d %H:%M} UTC",
                next_allowed_at=next_allowed,
            )
        )
    return checks
