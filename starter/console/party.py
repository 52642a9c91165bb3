"""What the console needs to know about the signed-in party from the partner
center: which pages are its own, and each customer's eligibility before
submitting (the same :func:`~activities.partner_center.submission_checks`
the workflow runs)."""

from __future__ import annotations

from dataclasses import dataclass

from activities.partner_center import UnknownAccount, submission_checks
from activities.sql import SqlPartnerCenter
from starter.api.auth import Principal
from workflows.model import FailedCheck, PartnerKind


@dataclass(frozen=True)
class Party:
    """The pages a caller has: a partner's (its root's) or a customer's."""

    principal: Principal
    partner_kind: PartnerKind | None
    """The kind of the partner the caller acts for (its root account)."""

    @property
    def is_partner(self) -> bool:
        return self.partner_kind is not None

    @property
    def is_distributor(self) -> bool:
        return self.partner_kind is PartnerKind.DISTRIBUTOR

    @property
    def resells(self) -> bool:
        return self.partner_kind in (PartnerKind.RESELLER, PartnerKind.SECOND_LEVEL_RESELLER)

    @property
    def is_customer(self) -> bool:
        return not self.is_partner and not self.principal.is_operator


def party_of(partner_center: SqlPartnerCenter, principal: Principal) -> Party:
    if principal.is_operator:
        return Party(principal, None)
    try:
        profile = partner_center.show(principal.root)["partner_profile"]
    except UnknownAccount:  # not in the ledger: a customer's pages only
        profile = None
    kind = PartnerKind(profile["kind"]) if profile else None
    return Party(principal, kind)


@dataclass(frozen=True)
class Eligibility:
    uin: str
    name: str | None
    failed: list[FailedCheck]


def customers_with_eligibility(
    partner_center: SqlPartnerCenter, principal: Principal
) -> list[Eligibility]:
    """The partner's customers, each with the checks a submission by this
    caller would fail now (a sub-user fails ``root_account`` for every one)."""
    initiator = partner_center.account(principal.root)
    submitter = partner_center.account(principal.sub)
    found = []
    for uin, name in partner_center.customers_of(principal.root):
        failed = submission_checks(
            customer=partner_center.account(uin),
            initiator=initiator,
            submitter=submitter,
            initiator_uin=principal.root,
            open_application=partner_center.open_application_for(uin, other_than=""),
        )
        found.append(Eligibility(uin, name, failed))
    return found
