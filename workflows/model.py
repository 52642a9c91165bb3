"""Every message that crosses a boundary: workflow input and outcome, people's
actions, queries, and activity requests and replies.

Each is its own pydantic model so it can grow backward-compatibly, and each
validates at the edge (UIN format, reason length, enums), so bad input is
refused before anything starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

from workflows.fields import ActionId, Actor, Reason, Uin
from workflows.notice import VERSIONS, Consent, text_with_hash
from workflows.settings import SETTINGS

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def _unless_none() -> Any:
    """An optional field left out of the JSON while unset: messages recorded
    before it existed read, hash and compare as they always did."""
    return Field(default=None, exclude_if=lambda value: value is None)


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UnbindStatus(StrEnum):
    VALIDATING = "VALIDATING"
    PENDING_RESELLER_REVIEW = "PENDING_RESELLER_REVIEW"
    """The customer's own request (``Requester.CUSTOMER``): its reseller reviews."""
    PENDING_DISTRIBUTOR_REVIEW = "PENDING_DISTRIBUTOR_REVIEW"
    PENDING_CUSTOMER_CONFIRMATION = "PENDING_CUSTOMER_CONFIRMATION"
    PENDING_CARD_BINDING = "PENDING_CARD_BINDING"
    AWAITING_EFFECTIVE_DATE = "AWAITING_EFFECTIVE_DATE"
    """Agreed, cutover at the end of the billing month: a durable timer to the date."""
    FINAL_CHECK = "FINAL_CHECK"
    AWAITING_REMEDIATION = "AWAITING_REMEDIATION"
    CUTTING_OVER = "CUTTING_OVER"
    PRECHECK_FAILED = "PRECHECK_FAILED"
    RESELLER_REJECTED = "RESELLER_REJECTED"
    DISTRIBUTOR_REJECTED = "DISTRIBUTOR_REJECTED"
    CUSTOMER_REJECTED = "CUSTOMER_REJECTED"
    EXPIRED = "EXPIRED"
    WITHDRAWN = "WITHDRAWN"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        UnbindStatus.PRECHECK_FAILED,
        UnbindStatus.RESELLER_REJECTED,
        UnbindStatus.DISTRIBUTOR_REJECTED,
        UnbindStatus.CUSTOMER_REJECTED,
        UnbindStatus.EXPIRED,
        UnbindStatus.WITHDRAWN,
        UnbindStatus.CANCELLED,
        UnbindStatus.COMPLETED,
        UnbindStatus.FAILED,
    }
)


class PartnerKind(StrEnum):
    RESELLER = "reseller"
    DISTRIBUTOR = "distributor"
    SECOND_LEVEL_RESELLER = "second_level_reseller"


class OverduePrivilege(StrEnum):
    NONE = "none"
    POSTPAID = "postpaid"
    PREPAID = "prepaid"


class GroupRole(StrEnum):
    NONE = "none"
    ADMIN = "admin"
    MEMBER = "member"


class CheckName(StrEnum):
    RELATIONSHIP = "relationship"
    ROOT_ACCOUNT = "root_account"
    ACCOUNT_FROZEN = "account_frozen"
    CREDIT = "credit"
    OVERDUE_PRIVILEGE = "overdue_privilege"
    GROUP_MEMBERSHIP = "group_membership"
    SAVINGS_PLAN_UNIT = "savings_plan_unit"
    OPEN_APPLICATION = "open_application"
    CARD = "card"
    """Final check only: at submission a missing card means the card-binding step later."""
    OVERDUE_BILLS = "overdue_bills"
    """The notice's "settled ALL overdue payments", checked at submission and at the end."""
    ACTIVE_DISCOUNTS = "active_discounts"
    """The notice's "deactivated ALL sub-customer discounts", checked likewise."""
    ACCOUNT_INFORMATION = "account_information"
    """Final check only: step 6's "information completed", beside the card."""
    CUSTOMER_QUOTA = "customer_quota"
    """Submission only: too many applications for this customer in the window."""
    PAIR_QUOTA = "pair_quota"
    """Submission only: too many by this reseller for this customer in the window."""


class FailedCheck(_Message):
    check: CheckName
    hint: str
    next_allowed_at: datetime | None = Field(default=None, exclude_if=lambda v: v is None)
    """A quota's: the first moment another application is allowed. Left out
    when unset, so every other check reads and hashes as it always did."""


class ActionKind(StrEnum):
    RESELLER_REVIEW = "reseller_review"
    REVIEW = "review"
    CONFIRM = "confirm"
    REJECT = "reject"
    CARD_BOUND = "card_bound"
    WITHDRAW = "withdraw"
    RECHECK = "recheck"


class Requester(StrEnum):
    """Who asked for the unbinding."""

    RESELLER = "reseller"
    """The reseller (or its distributor's second-level reseller) initiates: the help page's flow."""
    CUSTOMER = "customer"
    """The customer applies to leave its reseller: the mirror flow."""


class OnDeadline(StrEnum):
    """What a human wait's deadline does."""

    EXPIRE = "expire"
    """The application ends as ``EXPIRED``."""
    APPROVE = "approve"
    """The review is approved automatically (a review wait only)."""
    DISTRIBUTOR = "distributor"
    """The review is handed to the distributor (the reseller's review only;
    without a distributor the application expires)."""


DEADLINE_CHOICES: dict[str, frozenset[OnDeadline]] = {
    "reseller_review": frozenset(OnDeadline),
    "distributor_review": frozenset({OnDeadline.EXPIRE, OnDeadline.APPROVE}),
    # A deadline may decide a review, never the customer's consent or a fact (a card, a fix).
    "customer_confirmation": frozenset({OnDeadline.EXPIRE}),
    "card_binding": frozenset({OnDeadline.EXPIRE}),
    "remediation": frozenset({OnDeadline.EXPIRE}),
}
"""What each wait's deadline may do."""


class DeadlineActions(BaseModel):
    """What each wait's deadline does (``DEADLINE_CHOICES`` says what it may)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reseller_review: OnDeadline = OnDeadline.APPROVE
    """Tencent's rule: a customer's request the reseller leaves unreviewed is approved."""
    distributor_review: OnDeadline = OnDeadline.EXPIRE
    customer_confirmation: OnDeadline = OnDeadline.EXPIRE
    card_binding: OnDeadline = OnDeadline.EXPIRE
    remediation: OnDeadline = OnDeadline.EXPIRE

    @model_validator(mode="after")
    def _allowed(self) -> DeadlineActions:
        for wait, allowed in DEADLINE_CHOICES.items():
            chosen = getattr(self, wait)
            if chosen not in allowed:
                names = ", ".join(sorted(choice.value for choice in allowed))
                raise ValueError(f"{wait}: the deadline may only {names}, not {chosen.value}")
        return self


class Effective(StrEnum):
    """When the cutover takes effect."""

    AT_ONCE = "at_once"
    """As soon as everyone agreed and the final check passed (today)."""
    END_OF_MONTH = "end_of_month"
    """At the end of the current billing month (AWS's rule for billing transfers)."""


def _bounded(default: timedelta) -> timedelta:
    return Field(default=default, ge=SETTINGS.min_deadline, le=SETTINGS.max_deadline)


class Deadlines(_Message):
    """How long each human wait may last, resolved at submission."""

    reseller_review: timedelta = _bounded(SETTINGS.reseller_review_deadline)
    distributor_review: timedelta = _bounded(SETTINGS.distributor_review_deadline)
    customer_confirmation: timedelta = _bounded(SETTINGS.customer_confirmation_deadline)
    card_binding: timedelta = _bounded(SETTINGS.card_binding_deadline)
    remediation: timedelta = _bounded(SETTINGS.remediation_deadline)
    reminders_before: tuple[timedelta, ...] = SETTINGS.reminders_before
    auto_recheck_every: timedelta = Field(
        default=SETTINGS.auto_recheck_every,
        ge=SETTINGS.min_auto_recheck_every,
        le=SETTINGS.max_deadline,
    )
    on_deadline: DeadlineActions = DeadlineActions()

    @field_validator("reminders_before")
    @classmethod
    def _reminders_positive(cls, value: tuple[timedelta, ...]) -> tuple[timedelta, ...]:
        if len(value) > SETTINGS.max_reminders:
            raise ValueError(f"at most {SETTINGS.max_reminders} reminders")
        if any(offset <= timedelta(0) for offset in value):
            raise ValueError("each reminder must come a positive time before the deadline")
        return tuple(sorted(set(value), reverse=True))


class ApplicationInput(_Message):
    """What the initiator submits; recorded as the workflow's input."""

    application_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{8,64}$")]
    customer_uin: Uin
    initiator_uin: Uin
    submitter_uin: Uin
    # Strict: a decision is true or false, never "yes", 1 or "off".
    notice_acknowledged: StrictBool
    acknowledged_at: datetime
    reason: Reason | None = None
    deadlines: Deadlines = Deadlines()
    notice_version: str | None = _unless_none()
    """The version of the notice acknowledged (``workflows.notice``); absent
    in applications submitted before notices were versioned."""
    notice_sha256: Sha256 | None = _unless_none()
    """The SHA-256 of that version's text, as the submitter's client showed it."""
    requested_by: Requester = Requester.RESELLER
    """``CUSTOMER``: the customer applies for itself (initiator, submitter and
    customer are then the same account) and its reseller reviews."""
    effective: Effective = Effective.AT_ONCE
    carried_over: CarriedOver | None = None
    """Set only in runs continued by older workers (a long history); ignored
    on a fresh start. Newer runs hand their state over as a second argument."""

    @field_validator("notice_acknowledged")
    @classmethod
    def _must_acknowledge(cls, value: bool) -> bool:
        if not value:
            raise ValueError("the unbinding notice must be read and acknowledged")
        return value

    @model_validator(mode="after")
    def _notice_is_a_known_version(self) -> ApplicationInput:
        if self.notice_version is None and self.notice_sha256 is None:
            return self
        version = VERSIONS.get(self.notice_version or "")
        if version is None:
            raise ValueError(f"notice_version must be one of {', '.join(VERSIONS)}")
        # A customer applying for itself acknowledges its own text, not the reseller's notice.
        consent = Consent.REQUEST if self.requested_by is Requester.CUSTOMER else Consent.NOTICE
        if self.notice_sha256 != version.sha256(consent):
            raise ValueError(
                f"notice_sha256 must be the SHA-256 of the {consent} text of notice version "
                f"{version.version}"
            )
        return self

    @model_validator(mode="after")
    def _customer_is_not_initiator(self) -> ApplicationInput:
        if self.requested_by is Requester.CUSTOMER:
            # Only the customer applies for itself.
            if self.initiator_uin != self.customer_uin:
                raise ValueError("a customer's request is initiated by the customer itself")
            return self
        if self.customer_uin == self.initiator_uin:
            raise ValueError("customer_uin and initiator_uin must differ")
        return self


# ---- people's actions -----------------------------------------------------


class Action(_Message):
    """Fields every action carries: who acts, and a client-chosen id that makes
    a repeat of the same action harmless."""

    kind: ClassVar[ActionKind]
    action_id: ActionId
    actor: Actor


class DecisionAction(Action):
    """A decision on a text shown to the party (``workflows.notice``)."""

    consent: ClassVar[Consent]
    text_sha256: Sha256 | None = _unless_none()
    """The SHA-256 of the text the party was shown, kept as evidence."""

    @field_validator("text_sha256")
    @classmethod
    def _a_text_of_ours(cls, value: str | None) -> str | None:
        if value is None:
            return value
        known = text_with_hash(value)
        if known is None or known[1] is not cls.consent:
            raise ValueError(f"must be the SHA-256 of a {cls.consent} text of workflows.notice")
        return value


class ResellerReviewAction(DecisionAction):
    kind: ClassVar[ActionKind] = ActionKind.RESELLER_REVIEW
    consent: ClassVar[Consent] = Consent.RESELLER_REVIEW
    approve: StrictBool
    reason: Reason | None = None


class ReviewAction(DecisionAction):
    kind: ClassVar[ActionKind] = ActionKind.REVIEW
    consent: ClassVar[Consent] = Consent.REVIEW
    approve: StrictBool
    reason: Reason | None = None


class ConfirmAction(DecisionAction):
    kind: ClassVar[ActionKind] = ActionKind.CONFIRM
    consent: ClassVar[Consent] = Consent.CONFIRMATION


class RejectAction(DecisionAction):
    kind: ClassVar[ActionKind] = ActionKind.REJECT
    consent: ClassVar[Consent] = Consent.CONFIRMATION
    reason: Reason | None = None


class CardBoundAction(Action):
    kind: ClassVar[ActionKind] = ActionKind.CARD_BOUND


class WithdrawAction(Action):
    kind: ClassVar[ActionKind] = ActionKind.WITHDRAW
    reason: Reason | None = None


class RecheckAction(Action):
    kind: ClassVar[ActionKind] = ActionKind.RECHECK


class ActionResult(_Message):
    accepted: bool
    status: UnbindStatus
    reason: str | None = None


# ---- state, as queried and as the final outcome ----------------------------


class TimelineEntry(_Message):
    at: datetime
    actor: str
    action: str
    accepted: bool
    reason: str | None = None
    action_id: str | None = None
    principal: str | None = None
    """Who really acted, from the action's verified signature (``workflows.signing``);
    None for an unsigned action (an operator's, a signal, or before signing)."""
    text_sha256: str | None = _unless_none()
    """A decision's: the SHA-256 of the text the party was shown."""
    approve: bool | None = _unless_none()
    """A review's verdict."""


class Transition(_Message):
    at: datetime
    status: UnbindStatus


class CutoverPlan(_Message):
    """What the cutover will change and when, shown to each party before it
    decides and kept in the record."""

    effective: Effective
    effective_on: datetime | None
    """The billing boundary the cutover waits for; None: at once, when the
    final check passes."""
    discounts_ending: tuple[str, ...] = ()
    """The reseller's discounts on the customer's account, which end at the cutover."""
    delayed_bills: str
    """The help page's rule on bills that arrive after the cutover."""


class UnbindingState(BaseModel):
    """The full state of one application: the `status` query's answer and,
    once terminal, the workflow's result."""

    application_id: str
    workflow_id: str
    status: UnbindStatus = UnbindStatus.VALIDATING
    customer_uin: str
    initiator_uin: str
    submitter_uin: str
    reseller_uin: str | None = None
    partner_kind: PartnerKind | None = None
    distributor_uin: str | None = None
    card_bound: bool | None = None
    submitted_at: datetime
    notice_acknowledged_by: str
    notice_acknowledged_at: datetime
    notice_version: str | None = _unless_none()
    notice_sha256: str | None = _unless_none()
    reason: str | None = None
    deadlines: Deadlines
    deadline: datetime | None = None
    failed_checks: list[FailedCheck] = []
    timeline: list[TimelineEntry] = []
    transitions: list[Transition] = []
    effective_at: datetime | None = None
    """The billing boundary: usage before it is billed to the reseller."""
    requested_by: Requester = Requester.RESELLER
    plan: CutoverPlan | None = None
    """What the cutover changes and when (set once the preconditions passed)."""
    outcome_reason: str | None = None
    unlogged_rejections: int = 0
    """Rejected attempts past the timeline's cap, counted but not stored."""
    forgotten_entries: int = 0
    """Oldest timeline entries and transitions dropped when a very long
    application continued as new (see settings)."""
    runs: int = 1
    """Workflow runs so far: more than one once a long history continued as new."""


class RememberedAnswer(_Message):
    """The answer once given to an action id, so a repeat gets the same one."""

    action_id: str
    accepted: bool
    reason: str | None = None


class CarriedOver(_Message):
    """What a run handed to its continuation before the workflow kept all its
    state in one structure (``workflows.state.WorkflowState``, which reads
    this shape too). Kept so that such runs still decode and replay."""

    state: UnbindingState
    revision: int
    """The last revision written to the unbinding record."""
    reminded: tuple[str, ...] = ()
    notified_checks: list[FailedCheck] | None = None
    answers: list[RememberedAnswer] = []
    """Oldest first; bounded (see settings)."""
    next_auto_recheck_at: datetime | None = None


ApplicationInput.model_rebuild()


class SubmissionResult(_Message):
    accepted: bool
    workflow_id: str
    status: UnbindStatus
    failed_checks: list[FailedCheck] = []
    plan: CutoverPlan | None = None
    """When accepted: what the cutover will change and when, as the parties are shown it."""


# ---- activity requests and replies ----------------------------------------


class Parties(_Message):
    customer_uin: str
    reseller_uin: str
    partner_kind: PartnerKind
    distributor_uin: str | None = None


class PrecheckRequest(_Message):
    application_id: str
    customer_uin: str
    initiator_uin: str
    submitter_uin: str
    requested_by: Requester = Requester.RESELLER


class PrecheckResult(_Message):
    parties: Parties | None
    card_bound: bool
    failed_checks: list[FailedCheck]
    discounts: tuple[str, ...] = ()
    """The customer's active discounts, which end at the cutover (none in older histories)."""


class AccountCheckRequest(_Message):
    application_id: str
    customer_uin: str


class AccountCheckResult(_Message):
    card_bound: bool
    failed_checks: list[FailedCheck]


class CardCheckRequest(_Message):
    customer_uin: str


class UnbindingRecord(_Message):
    """One row of the "Unbinding Customers" page. ``revision`` only grows, so a
    late retry of an older write can never overwrite a newer state."""

    application_id: str
    workflow_id: str
    revision: int
    customer_uin: str
    initiator_uin: str
    reseller_uin: str | None
    distributor_uin: str | None
    status: UnbindStatus
    failed_checks: list[FailedCheck] = []
    deadline: datetime | None = None
    submitted_at: datetime
    notice_acknowledged_by: str
    notice_acknowledged_at: datetime
    reason: str | None = None
    effective_at: datetime | None = None
    requested_by: Requester = Requester.RESELLER
    plan: CutoverPlan | None = None
    updated_at: datetime
    notice_version: str | None = _unless_none()
    notice_sha256: str | None = _unless_none()
    decisions: list[DecisionRecord] = Field(default=[], exclude_if=lambda value: not value)
    """The parties' accepted decisions so far, kept as evidence (not columns
    of the record: ``activities.sql.evidence``)."""


class DecisionRecord(_Message):
    """One party's decision, as evidence: who, when, through which principal,
    on which text."""

    at: datetime
    actor: str
    action: str
    action_id: str | None = None
    principal: str | None = None
    approve: bool | None = None
    text_sha256: str | None = None
    reason: str | None = None


UnbindingRecord.model_rebuild()


class Notification(_Message):
    """A system message to each recipient, delivered once per event."""

    application_id: str
    workflow_id: str
    event: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    at: datetime


class Outbox(_Message):
    """What one state change leaves for the outside world, written in one
    transaction (issue 12): the newest record and the messages queued since
    the last write. The record says X exactly when the message about X is queued."""

    record: UnbindingRecord | None = None
    notifications: list[Notification] = []

    @property
    def empty(self) -> bool:
        return self.record is None and not self.notifications

    @property
    def application_id(self) -> str | None:
        """Whose outbox it is (for logs and traces)."""
        if self.record is not None:
            return self.record.application_id
        return self.notifications[0].application_id if self.notifications else None


class CutoverRequest(_Message):
    application_id: str
    customer_uin: str
    reseller_uin: str
    not_before: datetime | None = None
    """The effective date of a cutover at the end of the billing month: the
    billing boundary recorded is never earlier (None: the commit's time)."""
    outbox: Outbox | None = None
    """Written first, in the cutover's transaction (committed even when the
    cutover is refused)."""
    ending: Outbox | None = None
    """The application's ending, written in the same transaction once the
    relationship is cut: its record COMPLETED and the message every party
    receives, both given the billing boundary the cutover commits
    (``texts.completed_on``). None: the workflow writes the ending itself."""


class CutoverResult(_Message):
    effective_at: datetime
    agreement_id: int
