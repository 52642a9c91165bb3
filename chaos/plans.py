"""The paths applications take through the process, and what each must leave
in the database: its final status, its record, its cutover and invalidated
agreement (or none), and its system messages, each exactly once."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import uuid4

from activities.sql import SqlPartnerCenter
from chaos.settings import ChaosSettings
from workflows.model import (
    ActionKind,
    DeadlineActions,
    Deadlines,
    Effective,
    OnDeadline,
    PartnerKind,
    Requester,
    UnbindStatus,
)
from workflows.rules import humanize

S = UnbindStatus
OPERATOR = "operator:chaos"


class Role(StrEnum):
    CUSTOMER = "customer"
    INITIATOR = "initiator"
    RESELLER = "reseller"
    """The customer's partner (the initiator, unless the customer asked)."""
    DISTRIBUTOR = "distributor"
    OPERATOR = "operator"


LedgerChange = Callable[[SqlPartnerCenter, str], None]
"""A change to the customer's account, made right before an action."""


def _bind_card(pc: SqlPartnerCenter, customer: str) -> None:
    pc.set_account(customer, card_bound=True)


def _freeze(pc: SqlPartnerCenter, customer: str) -> None:
    pc.set_account(customer, frozen=True)


def _unfreeze(pc: SqlPartnerCenter, customer: str) -> None:
    pc.set_account(customer, frozen=False)


def _remove_card(pc: SqlPartnerCenter, customer: str) -> None:
    pc.set_account(customer, card_bound=False)


def _bind_card_and_freeze(pc: SqlPartnerCenter, customer: str) -> None:
    pc.set_account(customer, card_bound=True, frozen=True)


DISCOUNT = "Chaos 5% off"
"""The discount the reseller leaves on and then deactivates."""


def _owe_and_leave_incomplete(pc: SqlPartnerCenter, customer: str) -> None:
    """What the notice's promises and step 6 check: a bill falls overdue, a
    discount is still on, and the account information is incomplete."""
    pc.set_account(customer, overdue_bills=1, info_complete=False)
    pc.add_discount(customer, DISCOUNT)


def _settle_and_complete(pc: SqlPartnerCenter, customer: str) -> None:
    pc.set_account(customer, overdue_bills=0, info_complete=True)
    pc.end_discount(customer, DISCOUNT)


@dataclass(frozen=True)
class Step:
    """One person's action, taken once the application waits in ``wait_for``."""

    wait_for: UnbindStatus
    kind: ActionKind
    actor: Role
    approve: bool | None = None
    reason: str | None = None
    before: LedgerChange | None = None


@dataclass(frozen=True)
class PathPlan:
    name: str
    second_level: bool
    card: bool
    steps: tuple[Step, ...]
    outcome: UnbindStatus
    frozen_at_submission: bool = False
    expires: bool = False
    """No one acts: the customer confirmation deadline passes, after reminders."""
    remediation: bool = False
    card_removed: bool = False
    """The card on file at submission is removed before the customer confirms:
    the customer is asked to bind one (the card is read again on confirmation)."""
    by_customer: bool = False
    """The customer's own request (issue 13, item 4): its reseller reviews."""
    review_deadline_approves: bool = False
    """No one reviews the customer's request: its short deadline approves it, after reminders."""
    end_of_month: bool = False
    """The cutover waits for the end of the billing month (issue 13, item 5)."""

    @property
    def deadline_wait(self) -> UnbindStatus | None:
        """The wait whose deadline passes on this path, after its reminders."""
        if self.expires:
            return S.PENDING_CUSTOMER_CONFIRMATION
        if self.review_deadline_approves:
            return S.PENDING_RESELLER_REVIEW
        return None


def _confirm(before: LedgerChange | None = None) -> Step:
    return Step(S.PENDING_CUSTOMER_CONFIRMATION, ActionKind.CONFIRM, Role.CUSTOMER, before=before)


def _recheck_once_fixed(by: Role) -> Step:
    """The account is fixed, and ``by`` asks for the checks again."""
    return Step(S.AWAITING_REMEDIATION, ActionKind.RECHECK, by, before=_unfreeze)


_RESELLER_APPROVES = Step(
    S.PENDING_RESELLER_REVIEW, ActionKind.RESELLER_REVIEW, Role.RESELLER, approve=True
)
_APPROVE = Step(S.PENDING_DISTRIBUTOR_REVIEW, ActionKind.REVIEW, Role.DISTRIBUTOR, approve=True)
_CARD = Step(S.PENDING_CARD_BINDING, ActionKind.CARD_BOUND, Role.CUSTOMER, before=_bind_card)

PATHS: tuple[PathPlan, ...] = (
    PathPlan("direct, card bound", False, True, (_confirm(),), S.COMPLETED),
    PathPlan("direct, card binding", False, False, (_confirm(), _CARD), S.COMPLETED),
    PathPlan("second-level, card bound", True, True, (_APPROVE, _confirm()), S.COMPLETED),
    # Issue 13: early in the mix, so that the smallest runs take them too.
    PathPlan(
        "direct, the customer's request, reseller approves",
        False,
        True,
        (_RESELLER_APPROVES,),
        S.COMPLETED,
        by_customer=True,
    ),
    PathPlan(
        "direct, end of month, withdrawn before the date",
        False,
        True,
        (
            _confirm(),
            Step(S.AWAITING_EFFECTIVE_DATE, ActionKind.WITHDRAW, Role.INITIATOR, reason="not yet"),
        ),
        S.WITHDRAWN,
        end_of_month=True,
    ),
    PathPlan("second-level, card binding", True, False, (_APPROVE, _confirm(), _CARD), S.COMPLETED),
    PathPlan(
        "direct, card removed before confirmation",
        False,
        True,
        (_confirm(before=_remove_card), _CARD),
        S.COMPLETED,
        card_removed=True,
    ),
    PathPlan(
        "direct, remediation, operator recheck",
        False,
        True,
        (
            _confirm(before=_freeze),
            _recheck_once_fixed(Role.OPERATOR),
        ),
        S.COMPLETED,
        remediation=True,
    ),
    PathPlan(
        "second-level, card binding, remediation",
        True,
        False,
        (
            _APPROVE,
            _confirm(),
            Step(
                S.PENDING_CARD_BINDING,
                ActionKind.CARD_BOUND,
                Role.CUSTOMER,
                before=_bind_card_and_freeze,
            ),
            _recheck_once_fixed(Role.INITIATOR),
        ),
        S.COMPLETED,
        remediation=True,
    ),
    PathPlan(
        "direct, the notice's checks fail at the end, settled",
        False,
        True,
        (
            _confirm(before=_owe_and_leave_incomplete),
            Step(
                S.AWAITING_REMEDIATION,
                ActionKind.RECHECK,
                Role.INITIATOR,
                before=_settle_and_complete,
            ),
        ),
        S.COMPLETED,
        remediation=True,
    ),
    PathPlan(
        "direct, customer rejects",
        False,
        False,
        (
            Step(
                S.PENDING_CUSTOMER_CONFIRMATION,
                ActionKind.REJECT,
                Role.CUSTOMER,
                reason="we stay with our reseller",
            ),
        ),
        S.CUSTOMER_REJECTED,
    ),
    PathPlan(
        "second-level, distributor rejects",
        True,
        True,
        (
            Step(
                S.PENDING_DISTRIBUTOR_REVIEW,
                ActionKind.REVIEW,
                Role.DISTRIBUTOR,
                approve=False,
                reason="open invoices",
            ),
        ),
        S.DISTRIBUTOR_REJECTED,
    ),
    PathPlan(
        "direct, withdrawn during card binding",
        False,
        False,
        (
            _confirm(),
            Step(S.PENDING_CARD_BINDING, ActionKind.WITHDRAW, Role.INITIATOR, reason="by mistake"),
        ),
        S.WITHDRAWN,
    ),
    PathPlan(
        "direct, precheck fails", False, True, (), S.PRECHECK_FAILED, frozen_at_submission=True
    ),
    PathPlan(
        "second-level, expires after reminders", True, True, (_APPROVE,), S.EXPIRED, expires=True
    ),
    PathPlan(
        "direct, the customer's request approved by the deadline",
        False,
        True,
        (),
        S.COMPLETED,
        by_customer=True,
        review_deadline_approves=True,
    ),
)


@dataclass
class Application:
    """One application of the run: its parties, its plan, what happened to it."""

    index: int
    plan: PathPlan
    customer: str
    initiator: str
    distributor: str | None
    application_id: str = field(default_factory=lambda: uuid4().hex)
    channels: tuple[str, ...] = ()
    """Per step: "signal" or "update"."""
    action_ids: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    """Answers the workflow gave that the path does not expect (a refused
    action, a submission accepted or refused wrongly)."""
    driver_error: str | None = None

    def actor(self, role: Role) -> str:
        match role:
            case Role.CUSTOMER:
                return self.customer
            case Role.INITIATOR:
                return self.customer if self.plan.by_customer else self.initiator
            case Role.RESELLER:
                return self.initiator
            case Role.DISTRIBUTOR:
                assert self.distributor is not None
                return self.distributor
            case Role.OPERATOR:
                return OPERATOR

    @property
    def requested_by(self) -> Requester:
        return Requester.CUSTOMER if self.plan.by_customer else Requester.RESELLER

    @property
    def effective(self) -> Effective:
        return Effective.END_OF_MONTH if self.plan.end_of_month else Effective.AT_ONCE

    def deadlines(self, settings: ChaosSettings) -> Deadlines:
        if self.plan.review_deadline_approves:
            return Deadlines(
                reseller_review=settings.expiry_deadline,
                reminders_before=settings.expiry_reminders_before,
                on_deadline=DeadlineActions(reseller_review=OnDeadline.APPROVE),
            )
        if not self.plan.expires:
            return Deadlines()
        return Deadlines(
            customer_confirmation=settings.expiry_deadline,
            reminders_before=settings.expiry_reminders_before,
        )

    # ---- what the database must show -----------------------------------------

    @property
    def expected_records(self) -> int:
        # A precheck that fails never validates the parties: no record.
        return 0 if self.plan.outcome is S.PRECHECK_FAILED else 1

    @property
    def expected_cutovers(self) -> int:
        return 1 if self.plan.outcome is S.COMPLETED else 0

    def expected_inbox(self, settings: ChaosSettings) -> Counter[tuple[str, str]]:
        """(event, recipient) pairs, each exactly once; reminders with their
        offset (``reminder:<status>:55s``), the final check's failure without
        its attempt number."""
        plan = self.plan
        r, c, d = self.initiator, self.customer, self.distributor
        everyone = [r, c] + ([d] if d else [])
        messages: list[tuple[str, str]] = []

        def send(event: str, *recipients: str | None) -> None:
            messages.extend((event, who) for who in recipients if who)

        if plan.outcome is S.PRECHECK_FAILED:
            return Counter()
        if plan.by_customer:
            return self._customer_request_inbox(settings)
        send("submitted", r)
        if plan.second_level:
            send("review_requested", d)
            approved = plan.outcome is not S.DISTRIBUTOR_REJECTED
            send(f"review_decision:{'approved' if approved else 'rejected'}", r)
            if not approved:
                send("distributor_rejected", *everyone)
                return Counter(messages)
        send("confirmation_requested", c)
        if plan.expires:
            for before in settings.expiry_reminders_before:
                send(f"reminder:{S.PENDING_CUSTOMER_CONFIRMATION}:{humanize(before)}", c)
            send("expired", *everyone)
            return Counter(messages)
        rejected = plan.outcome is S.CUSTOMER_REJECTED
        send(f"customer_decision:{'rejected' if rejected else 'confirmed'}", r, d)
        if rejected:
            send("customer_rejected", *everyone)
            return Counter(messages)
        if not plan.card or plan.card_removed:
            send("card_binding_requested", c)
        if plan.end_of_month:
            send("cutover_scheduled", *everyone)
        if plan.outcome is S.WITHDRAWN:
            send("withdrawn", *everyone)
            return Counter(messages)
        if plan.remediation:
            send("final_check_failed", r)
        send("completed", *everyone)
        return Counter(messages)

    def _customer_request_inbox(self, settings: ChaosSettings) -> Counter[tuple[str, str]]:
        """The customer's own request (a direct reseller's customer, card on
        file): the customer initiates, the reseller reviews or its deadline
        approves, and both hear of the end."""
        r, c = self.initiator, self.customer
        review = S.PENDING_RESELLER_REVIEW
        messages = [("submitted", c), ("reseller_review_requested", r)]
        if self.plan.review_deadline_approves:
            messages += [
                (f"reminder:{review}:{humanize(before)}", r)
                for before in settings.expiry_reminders_before
            ]
            messages += [(f"deadline:{review}:approve", c), (f"deadline:{review}:approve", r)]
        else:
            messages.append(("reseller_review_decision:approved", c))
        messages += [("completed", c), ("completed", r)]
        return Counter(messages)


def normalized_event(event: str) -> str:
    """``final_check_failed:check-3`` (``final_check_failed:3`` from older
    workers) carries a suffix that depends on how often the check ran, not on
    the path: compare without it. Reminders keep theirs: each offset is owed
    exactly once."""
    if event.startswith("final_check_failed:"):
        return "final_check_failed"
    return event


class UinSource:
    """Fresh, valid UINs (11 digits, no leading zero), reproducible per seed."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def __call__(self) -> str:
        while True:
            uin = str(self._rng.randrange(30_000_000_000, 99_999_999_999))
            if uin not in self._used:
                self._used.add(uin)
                return uin


def set_up_applications(
    pc: SqlPartnerCenter, *, count: int, rng: random.Random
) -> list[Application]:
    """Partners and customers in the ledger for ``count`` applications spread
    evenly over every path, in a shuffled order; each step's channel (signal or
    update) alternates."""
    fresh = UinSource(rng)
    applications = []
    for index in range(count):
        plan = PATHS[index % len(PATHS)]
        distributor = None
        initiator = fresh()
        if plan.second_level:
            distributor = fresh()
            pc.add_partner(distributor, kind=PartnerKind.DISTRIBUTOR)
            pc.add_partner(
                initiator, kind=PartnerKind.SECOND_LEVEL_RESELLER, distributor_uin=distributor
            )
        else:
            pc.add_partner(initiator, kind=PartnerKind.RESELLER)
        customer = fresh()
        pc.add_customer(customer, partner_uin=initiator, card=plan.card)
        if plan.frozen_at_submission:
            pc.set_account(customer, frozen=True)
        channels = tuple(
            "signal" if (index + step) % 2 else "update" for step in range(len(plan.steps))
        )
        applications.append(
            Application(
                index=index,
                plan=plan,
                customer=customer,
                initiator=initiator,
                distributor=distributor,
                channels=channels,
            )
        )
    rng.shuffle(applications)
    return applications
