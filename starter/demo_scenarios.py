"""The demo's scripted scenarios, played through the client API and the
ledger, and the table of their outcomes (``python -m starter.demo`` runs them
on the local stack)."""

from __future__ import annotations

import asyncio
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any

from activities.sql import SqlPartnerCenter
from starter.batch import BatchRow, CustomerOutcome, build_batch, submit_batch
from starter.batch import Outcome as BatchOutcome
from starter.client import UnbindingClient
from starter.errors import UnbindError
from starter.progress import phase, say
from workflows.contract import workflow_id_for
from workflows.model import FailedCheck, GroupRole, OverduePrivilege, UnbindingState, UnbindStatus

SETTLE_TIMEOUT = 20.0
"""Seconds for an application to reach the status a scenario expects."""

S = UnbindStatus


@dataclass(frozen=True)
class Outcome:
    """One row of the demo's table."""

    scenario: str
    customer: str
    status: str
    expected: UnbindStatus
    story: str
    next_command: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == self.expected.value


@dataclass(frozen=True)
class DemoPartners:
    """The seeded partners the demo's fresh customers belong to."""

    reseller: str
    second_level_reseller: str
    distributor: str

    @classmethod
    def seed(cls, ledger: SqlPartnerCenter) -> DemoPartners:
        demo = ledger.seed_demo()
        return cls(
            reseller=demo["reseller"],
            second_level_reseller=demo["second_level_reseller"],
            distributor=demo["distributor"],
        )


def fresh_uins(prefix: str = "5") -> Iterator[str]:
    """Customer UINs no earlier run used: a prefix, the current time in
    milliseconds, and a counter (15+ digits; tests use shorter ones)."""
    stamp = int(time.time() * 1000)
    counter = 0
    while True:
        counter += 1
        yield f"{prefix}{stamp}{counter:02d}"


class _Story:
    """What happened to one application, step by step, and for one left
    open, the command that takes it further."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.next_command: str | None = None

    def __call__(self, step: str) -> None:
        self.steps.append(step)

    def __str__(self) -> str:
        return " → ".join(self.steps)


def _tally(outcomes: Sequence[CustomerOutcome]) -> str:
    """``2 accepted, 1 refused (overdue_bills)``."""
    accepted = sum(o.outcome is BatchOutcome.ACCEPTED for o in outcomes)
    others = [f"{o.outcome} ({_checks(o.failed_checks)})" for o in outcomes if o.failed_checks]
    return ", ".join([f"{accepted} accepted", *others])


def _checks(failed_checks: Sequence[FailedCheck]) -> str:
    return ", ".join(str(check.check) for check in failed_checks) or "none"


@dataclass
class Scenarios:
    """The scripted scenarios: each builds a fresh customer, drives one
    application through the client API and the ledger, and reports."""

    client: UnbindingClient
    ledger: SqlPartnerCenter
    partners: DemoPartners
    _: KW_ONLY
    uins: Iterator[str]
    settle_timeout: float = SETTLE_TIMEOUT

    async def play(self) -> list[Outcome]:
        plays: Sequence[tuple[str, UnbindStatus, Callable[[str, _Story], Awaitable[None]]]] = (
            ("1. Direct reseller, happy path", S.COMPLETED, self.direct_happy_path),
            ("2. Second-level, distributor review", S.COMPLETED, self.distributor_review),
            ("3. Customer rejects", S.CUSTOMER_REJECTED, self.customer_rejects),
            (
                "4. Precheck fails, then fixed",
                S.PENDING_CUSTOMER_CONFIRMATION,
                self.precondition_fixed,
            ),
            ("5. Final check fails, recheck", S.COMPLETED, self.final_check_recheck),
            ("6. Final check fails, left open", S.AWAITING_REMEDIATION, self.left_for_remediation),
            ("7. The notice, checked", S.COMPLETED, self.notice_checked),
            ("8. Many at once: a batch", S.PENDING_CUSTOMER_CONFIRMATION, self.batch),
            ("9. The customer's own request", S.COMPLETED, self.customer_request),
            (
                "10. At the end of the billing month",
                S.AWAITING_EFFECTIVE_DATE,
                self.end_of_month,
            ),
        )
        outcomes = []
        with phase("demo scenarios", total=len(plays)) as played:
            for title, expected, play in plays:
                customer = next(self.uins)
                say(f"Playing scenario {title} (customer {customer})")
                story = _Story()
                try:
                    await play(customer, story)
                    status = (await self.settled(customer, expected)).status.value
                except Exception as error:
                    # One broken scenario must not hide the others' outcomes.
                    status = "ERROR"
                    story(f"error: {getattr(error, 'message', None) or error!r}")
                outcomes.append(
                    Outcome(title, customer, status, expected, str(story), story.next_command)
                )
                say(f"  {status} (expected {expected.value})")
                played()
        return outcomes

    # Each scenario below reads as the people involved would act.

    async def direct_happy_path(self, customer: str, story: _Story) -> None:
        reseller = self.partners.reseller
        self.ledger.add_customer(customer, partner_uin=reseller, name="Demo: happy path")
        await self.apply(customer, reseller, story)
        await self.act(story, "customer confirmed", self.client.confirm(customer, actor=customer))
        await self.refused(
            story,
            "card claim refused (none on file)",
            self.client.card_bound(customer, actor=customer),
        )
        self.ledger.set_account(customer, card_bound=True)
        await self.act(story, "card bound", self.client.card_bound(customer, actor=customer))
        await self.completed(customer, story)

    async def distributor_review(self, customer: str, story: _Story) -> None:
        reseller, distributor = self.partners.second_level_reseller, self.partners.distributor
        self.ledger.add_customer(customer, partner_uin=reseller, name="Demo: review", card=True)
        await self.apply(customer, reseller, story)
        await self.refused(
            story,
            "the reseller's own review refused",
            self.client.review(customer, actor=reseller, approve=True),
        )
        await self.act(
            story,
            "distributor approved",
            self.client.review(customer, actor=distributor, approve=True),
        )
        await self.act(
            story,
            "customer confirmed (card already on file)",
            self.client.confirm(customer, actor=customer),
        )
        await self.completed(customer, story)

    async def customer_rejects(self, customer: str, story: _Story) -> None:
        reseller = self.partners.reseller
        self.ledger.add_customer(customer, partner_uin=reseller, name="Demo: rejects", card=True)
        await self.apply(customer, reseller, story)
        await self.act(
            story,
            "customer rejected",
            self.client.reject(customer, actor=customer, reason="we keep our reseller"),
        )

    async def precondition_fixed(self, customer: str, story: _Story) -> None:
        reseller = self.partners.reseller
        self.ledger.add_customer(customer, partner_uin=reseller, name="Demo: frozen", card=True)
        self.ledger.set_account(customer, frozen=True)
        await self.refused_application(customer, reseller, story)
        self.ledger.set_account(customer, frozen=False)
        story("unfrozen")
        await self.apply(customer, reseller, story, verb="applied again: accepted")
        story("waiting for the customer")
        story.next_command = f"unbind confirm --customer {customer} --as {customer}"

    async def final_check_recheck(self, customer: str, story: _Story) -> None:
        reseller = self.partners.reseller
        self.ledger.add_customer(customer, partner_uin=reseller, name="Demo: recheck", card=True)
        await self.apply(customer, reseller, story)
        self.ledger.set_account(customer, group_role=GroupRole.MEMBER)
        story("customer joined a group")
        await self.client.confirm(customer, actor=customer)
        waiting = await self.settled(customer, S.AWAITING_REMEDIATION)
        story(f"confirmed; final check failed: {_checks(waiting.failed_checks)}")
        self.ledger.set_account(customer, group_role=GroupRole.NONE)
        story("left the group")
        await self.act(story, "recheck", self.client.recheck(customer, actor=reseller))
        await self.completed(customer, story)

    async def left_for_remediation(self, customer: str, story: _Story) -> None:
        reseller = self.partners.reseller
        self.ledger.add_customer(customer, partner_uin=reseller, name="Demo: left open", card=True)
        await self.apply(customer, reseller, story)
        self.ledger.set_account(
            customer, credit_cents=-1_250, overdue_privilege=OverduePrivilege.POSTPAID
        )
        story("credit went negative, privilege enabled")
        await self.client.confirm(customer, actor=customer)
        waiting = await self.settled(customer, S.AWAITING_REMEDIATION)
        story(f"confirmed; final check failed: {_checks(waiting.failed_checks)}")
        story("waiting for a fix")
        story.next_command = (
            f"unbind ledger set {customer} --credit 0 --privilege none && "
            f"unbind recheck --customer {customer} --as {reseller}"
        )

    async def notice_checked(self, customer: str, story: _Story) -> None:
        """What the notice makes the reseller promise is checked, not taken on trust."""
        reseller = self.partners.reseller
        self.ledger.add_customer(customer, partner_uin=reseller, name="Demo: notice", card=True)
        self.ledger.set_account(customer, overdue_bills=2)
        self.ledger.add_discount(customer, "Storage 10% off")
        await self.refused_application(customer, reseller, story)
        self.ledger.set_account(customer, overdue_bills=0)
        self.ledger.end_discount(customer, "Storage 10% off")
        story("bills settled, discounts deactivated")
        await self.apply(customer, reseller, story, verb="applied again: accepted")
        self.ledger.set_account(customer, info_complete=False)
        await self.client.confirm(customer, actor=customer)
        waiting = await self.settled(customer, S.AWAITING_REMEDIATION)
        story(f"confirmed; final check failed: {_checks(waiting.failed_checks)}")
        self.ledger.set_account(customer, info_complete=True)
        story("information completed")
        await self.act(story, "recheck", self.client.recheck(customer, actor=reseller))
        await self.completed(customer, story)

    async def batch(self, customer: str, story: _Story) -> None:
        """A reseller leaving the programme submits all its customers at once,
        is interrupted (here: simply runs again), and nobody is submitted twice."""
        reseller = self.partners.reseller
        customers = [customer, next(self.uins), next(self.uins)]
        for uin in customers:
            self.ledger.add_customer(uin, partner_uin=reseller, name="Demo: batch", card=True)
        self.ledger.set_account(customers[-1], overdue_bills=1)
        rows = [BatchRow(n, uin) for n, uin in enumerate(customers, start=2)]
        batch_id, applications = build_batch(rows, initiator_uin=reseller, notice_acknowledged=True)
        first = await submit_batch(self.client, batch_id, applications, concurrency=2)
        story(f"batch {batch_id} of {len(rows)}: {_tally(first.outcomes)}")
        again = await submit_batch(self.client, batch_id, applications, concurrency=2)
        if not all(outcome.resumed for outcome in again.outcomes):
            raise UnbindError("the batch run again submitted someone a second time")
        story(f"run again: all {len(again.outcomes)} found, none submitted twice")
        story.next_command = f"unbind confirm --customer {customer} --as {customer}"

    async def customer_request(self, customer: str, story: _Story) -> None:
        """Issue 13, item 4: the customer applies; only its reseller reviews
        (left unreviewed for 10 days, the request would be approved)."""
        reseller = self.partners.reseller
        self.ledger.add_customer(customer, partner_uin=reseller, name="Demo: leaves", card=True)
        result = await self.client.request(customer, notice_acknowledged=True)
        if not result.accepted:
            raise UnbindError(f"request refused: {_checks(result.failed_checks)}")
        story("customer applied to leave")
        await self.refused(
            story,
            "its own review refused",
            self.client.reseller_review(customer, actor=customer, approve=True),
        )
        await self.act(
            story,
            "reseller approved",
            self.client.reseller_review(customer, actor=reseller, approve=True),
        )
        await self.completed(customer, story)

    async def end_of_month(self, customer: str, story: _Story) -> None:
        """Issue 13, item 5: confirmed after seeing the date and what ends; the
        cutover waits on a durable timer for the end of the billing month."""
        reseller = self.partners.reseller
        self.ledger.add_customer(customer, partner_uin=reseller, name="Demo: month end", card=True)
        self.ledger.add_discount(customer, "Compute 20% off")
        # The notice's promise: deactivated before applying; the plan lists it as ending.
        self.ledger.end_discount(customer, "Compute 20% off")
        result = await self.client.apply(
            customer_uin=customer,
            initiator_uin=reseller,
            notice_acknowledged=True,
            effective="end_of_month",
        )
        if not result.accepted:
            raise UnbindError(f"application refused: {_checks(result.failed_checks)}")
        state = await self.client.status(customer)
        plan = state.plan
        assert plan is not None and plan.effective_on is not None
        story(
            f"applied; shown: cutover {plan.effective_on:%Y-%m-%d}, ending {plan.discounts_ending}"
        )
        await self.act(story, "customer confirmed", self.client.confirm(customer, actor=customer))
        story("waiting for the date (withdraw still possible)")
        story.next_command = f"unbind withdraw --customer {customer} --as {reseller}"

    # ---- steps shared by the scenarios ---------------------------------------

    async def refused_application(self, customer: str, reseller: str, story: _Story) -> None:
        """An application the preconditions refuse, and its run ended, so a
        new one for the customer may start."""
        first = await self.client.apply(
            customer_uin=customer, initiator_uin=reseller, notice_acknowledged=True
        )
        if first.accepted:
            raise UnbindError(f"the application for customer {customer} was accepted")
        story(f"failed checks: {_checks(first.failed_checks)}")
        refused = self.client.temporal.get_workflow_handle(workflow_id_for(customer))
        await asyncio.wait_for(refused.result(), self.settle_timeout)

    async def apply(
        self, customer: str, reseller: str, story: _Story, *, verb: str = "applied"
    ) -> None:
        result = await self.client.apply(
            customer_uin=customer, initiator_uin=reseller, notice_acknowledged=True
        )
        if not result.accepted:
            raise UnbindError(f"application refused: {_checks(result.failed_checks)}")
        story(verb)

    async def act(self, story: _Story, step: str, action: Awaitable[Any]) -> None:
        result = await action
        if not result.accepted:
            raise UnbindError(f"{step} was refused: {result.reason}")
        story(step)

    async def refused(self, story: _Story, step: str, action: Awaitable[Any]) -> None:
        result = await action
        if result.accepted:
            raise UnbindError(f"expected a refusal, but it was accepted: {step}")
        story(step)

    async def completed(self, customer: str, story: _Story) -> None:
        state = await self.settled(customer, S.COMPLETED)
        if state.effective_at is not None:
            story(f"cut over at {state.effective_at:%H:%M:%S} UTC")

    async def settled(self, customer: str, expected: UnbindStatus) -> UnbindingState:
        """The application's state once it shows ``expected``, or once it has
        ended, or after the timeout (a scenario then reports the mismatch)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.settle_timeout
        while True:
            state = await self.client.status(customer)
            if state.status is expected or state.status.is_terminal or loop.time() > give_up:
                return state
            await asyncio.sleep(0.2)


# ---- the table -----------------------------------------------------------------


def render_table(outcomes: Sequence[Outcome], *, story_width: int = 56) -> str:
    header = ("scenario", "customer", "final status", "what happened")
    rows: list[list[list[str]]] = [[[cell] for cell in header]]
    for outcome in outcomes:
        status = outcome.status if outcome.ok else f"{outcome.status} ✗ ({outcome.expected})"
        story = textwrap.wrap(outcome.story, story_width) or ["-"]
        rows.append([[outcome.scenario], [outcome.customer], [status], story])
    widths = [max(len(line) for row in rows for line in row[i]) for i in range(len(header))]
    rule = "-+-".join("-" * width for width in widths)
    lines = []
    for index, row in enumerate(rows):
        height = max(len(cell) for cell in row)
        for n in range(height):
            cells = [cell[n] if n < len(cell) else "" for cell in row]
            lines.append(
                " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
            )
        if index == 0:
            lines.append(rule)
    return "\n".join(lines)
