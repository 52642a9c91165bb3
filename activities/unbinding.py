"""The activities of the unbinding workflow: side effects only.

They are plain (synchronous) methods run on the worker's thread pool, because
the partner center is a blocking SQL client. Each is idempotent, keyed by the
application id; business refusals are named, non-retryable errors.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.partner_center import (
    PartnerCenter,
    Quotas,
    RelationshipConflict,
    counted_since,
    failed,
    final_checks,
    quota_checks,
    submission_checks,
    told_only_the_relationship,
)
from workflows.model import (
    AccountCheckRequest,
    AccountCheckResult,
    CardCheckRequest,
    CheckName,
    CutoverRequest,
    CutoverResult,
    Notification,
    Outbox,
    Parties,
    PrecheckRequest,
    PrecheckResult,
    Requester,
    UnbindingRecord,
)

# A business refusal is an answer, not an incident: the worker logs it at
# DEBUG and records no failure metric (the Web UI still shows it).
BUSINESS = ApplicationErrorCategory.BENIGN


class UnbindingActivities:
    """Binds the activities to one partner center."""

    def __init__(self, partner_center: PartnerCenter, *, quotas: Quotas | None = None) -> None:
        self._pc = partner_center
        self._quotas = quotas or Quotas()

    @activity.defn(name="check_application")
    def check_application(self, request: PrecheckRequest) -> PrecheckResult:
        """Every submission check, plus who the parties are, from one state of
        the partner center."""
        with self._pc.snapshot():
            return self._check_application(request)

    def _check_application(self, request: PrecheckRequest) -> PrecheckResult:
        customer = self._pc.account(request.customer_uin)
        initiator = self._pc.account(request.initiator_uin)
        submitter = (
            initiator
            if request.submitter_uin == request.initiator_uin
            else self._pc.account(request.submitter_uin)
        )
        failed_checks = submission_checks(
            customer=customer,
            initiator=initiator,
            submitter=submitter,
            initiator_uin=request.initiator_uin,
            open_application=self._pc.open_application_for(
                request.customer_uin, other_than=request.application_id
            ),
            # A fresh start runs this before its first record: any record is another's.
            earlier_record=self._pc.record_of(request.application_id),
            requested_by=request.requested_by,
        )
        if told_only_the_relationship(failed_checks):
            return PrecheckResult(parties=None, card_bound=False, failed_checks=failed_checks)
        # The clock of the check itself: a quota counts back from the moment it is applied.
        now = datetime.now(UTC)
        failed_checks += quota_checks(
            # The pair is the customer's reseller's, whoever applies.
            reseller_uin=customer.partner_uin
            if customer is not None and customer.partner_uin is not None
            else request.initiator_uin,
            earlier=self._pc.submitted_since(
                request.customer_uin,
                counted_since(now, self._quotas),
                other_than=request.application_id,
            ),
            quotas=self._quotas,
            now=now,
        )
        parties = None
        if customer is not None and customer.partner_uin is not None:
            assert customer.partner_kind is not None
            parties = Parties(
                customer_uin=customer.uin,
                reseller_uin=customer.partner_uin,
                partner_kind=customer.partner_kind,
                distributor_uin=customer.distributor_uin,
            )
        return PrecheckResult(
            parties=parties,
            card_bound=customer is not None and customer.card_bound,
            failed_checks=failed_checks,
            discounts=self._pc.discounts(request.customer_uin) if parties else (),
        )

    @activity.defn(name="check_account")
    def check_account(self, request: AccountCheckRequest) -> AccountCheckResult:
        """The final check before cutover: the account checks again, and a card."""
        with self._pc.snapshot():
            return self._check_account(request)

    def _check_account(self, request: AccountCheckRequest) -> AccountCheckResult:
        customer = self._pc.account(request.customer_uin)
        if customer is None:
            # A failed check, not an error: the application waits for a fix
            # (or its deadline, or a withdrawal) with its record kept current,
            # instead of failing the whole run and leaving the record open.
            return AccountCheckResult(
                card_bound=False,
                failed_checks=[
                    failed(
                        CheckName.RELATIONSHIP,
                        f"customer {request.customer_uin} no longer exists",
                    )
                ],
            )
        # The record says who applied: the notice's promises bind only the reseller.
        record = self._pc.record_of(request.application_id)
        requested_by = record.requested_by if record is not None else Requester.RESELLER
        return AccountCheckResult(
            card_bound=customer.card_bound, failed_checks=final_checks(customer, requested_by)
        )

    @activity.defn(name="check_card")
    def check_card(self, request: CardCheckRequest) -> bool:
        """Whether the customer has a card bound. Card data never leaves the
        partner center: the workflow learns a yes or a no."""
        customer = self._pc.account(request.customer_uin)
        return customer is not None and customer.card_bound

    @activity.defn(name="save_record")
    def save_record(self, record: UnbindingRecord) -> None:
        self._pc.save_record(record)

    @activity.defn(name="notify")
    def notify(self, notification: Notification) -> int:
        return self._pc.deliver(notification)

    @activity.defn(name="commit")
    def commit(self, outbox: Outbox) -> int:
        """The record and the messages of a state change, in one transaction."""
        return self._pc.commit(outbox)

    @activity.defn(name="cut_over")
    def cut_over(self, request: CutoverRequest) -> CutoverResult:
        try:
            return self._pc.cut_over(request)
        except RelationshipConflict as err:
            raise ApplicationError(
                f"{CheckName.RELATIONSHIP} check failed at cutover: {err}",
                type=RelationshipConflict.__name__,
                non_retryable=True,
                category=BUSINESS,
            ) from err

    def all(self) -> list[Callable[..., object]]:
        """Every activity, for the worker."""
        return [
            self.check_application,
            self.check_account,
            self.check_card,
            self.save_record,
            self.notify,
            self.commit,
            self.cut_over,
        ]
