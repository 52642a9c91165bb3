"""Plain words for what the API says in codes: statuses, checks, and every
error answer (:class:`~starter.api.problems.ApiProblem`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from starter.api.problems import ApiProblem
from workflows.model import CheckName, UnbindStatus

S = UnbindStatus

STATUS_WORDS: dict[UnbindStatus, str] = {
    S.VALIDATING: "Being checked",
    S.PENDING_RESELLER_REVIEW: "Waiting for the reseller's review of the customer's request",
    S.PENDING_DISTRIBUTOR_REVIEW: "Waiting for the distributor's review",
    S.PENDING_CUSTOMER_CONFIRMATION: "Waiting for the customer to confirm",
    S.PENDING_CARD_BINDING: "Waiting for the customer to bind a card",
    S.FINAL_CHECK: "Final check running",
    S.AWAITING_REMEDIATION: "Waiting for a fix after the final check failed",
    S.AWAITING_EFFECTIVE_DATE: "Agreed: waiting for the effective date",
    S.CUTTING_OVER: "Unbinding now",
    S.PRECHECK_FAILED: "Not accepted: a check failed",
    S.RESELLER_REJECTED: "Rejected by the reseller",
    S.DISTRIBUTOR_REJECTED: "Rejected by the distributor",
    S.CUSTOMER_REJECTED: "Rejected by the customer",
    S.EXPIRED: "Expired: nobody answered in time",
    S.WITHDRAWN: "Withdrawn by the reseller",
    S.CANCELLED: "Cancelled by an operator",
    S.COMPLETED: "Completed: unbound",
    S.FAILED: "Failed",
}

WAITS_FOR: dict[UnbindStatus, str] = {
    S.VALIDATING: "the system's checks",
    S.PENDING_RESELLER_REVIEW: "the reseller to approve or reject the customer's request",
    S.PENDING_DISTRIBUTOR_REVIEW: "the distributor to approve or reject",
    S.PENDING_CUSTOMER_CONFIRMATION: "the customer to confirm or reject",
    S.PENDING_CARD_BINDING: "the customer to bind a credit card",
    S.FINAL_CHECK: "the final check",
    S.AWAITING_REMEDIATION: "the reseller to fix the failed checks and ask for a recheck",
    S.AWAITING_EFFECTIVE_DATE: "the end of the billing month (withdraw still possible)",
    S.CUTTING_OVER: "the partner center to end the relationship",
}

TRANSIENT = frozenset({S.VALIDATING, S.FINAL_CHECK, S.CUTTING_OVER})
"""The system moves on by itself within moments: the page refreshes."""

CHECK_WORDS: dict[CheckName, str] = {
    CheckName.RELATIONSHIP: "Reselling relationship",
    CheckName.ROOT_ACCOUNT: "Root account",
    CheckName.ACCOUNT_FROZEN: "Account not frozen",
    CheckName.CREDIT: "Credit limit of 0 or more",
    CheckName.OVERDUE_PRIVILEGE: "No uninterrupted service during arrears",
    CheckName.GROUP_MEMBERSHIP: "Not in a group",
    CheckName.SAVINGS_PLAN_UNIT: "Not in a savings plan shared unit",
    CheckName.OPEN_APPLICATION: "No other open application",
    CheckName.CARD: "Credit card bound",
    CheckName.OVERDUE_BILLS: "All overdue payments settled",
    CheckName.ACTIVE_DISCOUNTS: "All sub-customer discounts deactivated",
    CheckName.ACCOUNT_INFORMATION: "Account information complete",
    CheckName.CUSTOMER_QUOTA: "Within the customer's application quota",
    CheckName.PAIR_QUOTA: "Within the reseller's application quota for this customer",
}

ACTION_WORDS: dict[str, str] = {
    "reseller_review": "review the customer's request",
    "review": "review",
    "confirm": "confirm the unbinding",
    "reject": "reject the unbinding",
    "card_bound": "report the bound card",
    "withdraw": "withdraw the application",
    "recheck": "ask for a recheck",
}


def status_words(status: UnbindStatus | str | None) -> str:
    if status is None:
        return "Unknown"
    try:
        return STATUS_WORDS[UnbindStatus(status)]
    except ValueError:
        return str(status)


def check_words(check: CheckName | str) -> str:
    try:
        return CHECK_WORDS[CheckName(check)]
    except ValueError:
        return str(check)


@dataclass(frozen=True)
class Trouble:
    """An error as a person reads it: a heading, a sentence, and details."""

    status: int
    title: str
    sentence: str
    details: list[str] = field(default_factory=list)
    failed_checks: list[dict[str, str]] = field(default_factory=list)


def trouble_of(problem: ApiProblem) -> Trouble:
    extra = problem.extra
    if problem.status == 401:
        return Trouble(
            401,
            "Please sign in again",
            "You are not signed in, or your sign-in has expired.",
        )
    if problem.status == 403:
        allowed = extra.get("allowed")
        return Trouble(
            403,
            "You may not do this",
            f"This step is not yours to take: {allowed}." if allowed else problem.detail,
        )
    if problem.status == 404:
        return Trouble(
            404,
            "Not found",
            "There is no such application, or it is not one of yours. "
            "If someone sent you this address, check that you signed in with the right account.",
        )
    if problem.status == 409 and extra.get("failed_checks"):
        return Trouble(
            409,
            "The application was not accepted",
            "These checks failed. Fix each one as its hint says, then submit again.",
            failed_checks=list(extra["failed_checks"]),
        )
    if problem.status == 409:
        now = extra.get("application_status")
        details = [f"The application is now: {status_words(now)}."] if now else []
        return Trouble(
            409,
            "This cannot be done now",
            f"The application did not accept it: {problem.detail}.",
            details,
        )
    if problem.status == 422:
        return Trouble(
            422,
            "Please correct what you entered",
            "Some of what you entered cannot be accepted:",
            [f"{error['field']}: {error['rule']}" for error in extra.get("errors", [])],
        )
    if problem.status == 503:
        details = (
            [f"If you try again, nothing happens twice (reference {extra['action_id']})."]
            if extra.get("action_id")
            else []
        )
        return Trouble(
            503,
            "The service cannot answer right now",
            "Nothing was lost. Please try again in a minute.",
            details,
        )
    return Trouble(problem.status, "Something went wrong", problem.detail)


FORM_REFUSED = Trouble(
    403,
    "This form was refused",
    "The form did not carry this console's security token for your session, so nothing was "
    "done. This happens when a form comes from another site, or from a page opened before "
    "you signed in again. Go back, reload the page and try again.",
)
