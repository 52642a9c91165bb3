"""Mixed unbinding paths, driven through ``UnbindingClient`` as a backend
service would: every action is an update answered once the next state is
visible, and its round trip is one latency sample."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from workflows.model import ActionResult, PartnerKind, SubmissionResult, UnbindStatus

S = UnbindStatus


class PathFailed(Exception):
    """An application did not take the path the benchmark drove it along."""


class Uins:
    """Fresh account numbers, unique across runs on the same database."""

    def __init__(self) -> None:
        self._next = itertools.count()
        self._stamp = int(time.time())

    def __call__(self) -> str:
        return f"{self._stamp}{next(self._next):08d}"


@dataclass
class Latencies:
    """Action round trips, in seconds."""

    samples: list[float] = field(default_factory=list)

    async def timed(self, call: Awaitable[Any]) -> Any:
        started = time.perf_counter()
        answer = await call
        self.samples.append(time.perf_counter() - started)
        return answer


@dataclass(frozen=True)
class Partners:
    """One reseller and one distributor with its second-level reseller, shared
    by every application of a run, as in a distributor's migration burst."""

    reseller: str
    distributor: str
    second_level: str

    @classmethod
    def create(cls, ledger: SqlPartnerCenter, uins: Uins) -> Partners:
        partners = cls(reseller=uins(), distributor=uins(), second_level=uins())
        ledger.add_partner(partners.reseller, kind=PartnerKind.RESELLER)
        ledger.add_partner(partners.distributor, kind=PartnerKind.DISTRIBUTOR)
        ledger.add_partner(
            partners.second_level,
            kind=PartnerKind.SECOND_LEVEL_RESELLER,
            distributor_uin=partners.distributor,
        )
        return partners


@dataclass(frozen=True)
class Story:
    """A story an application goes through; ``second_level``, ``card`` and
    ``frozen`` say which customer it needs in the ledger."""

    name: str
    drive: Callable[[Driver, str], Awaitable[None]]
    second_level: bool = False
    card: bool = True
    frozen: bool = False


class Driver:
    """Plays paths for one run: the client, the ledger, the shared partners."""

    def __init__(
        self,
        client: UnbindingClient,
        ledger: SqlPartnerCenter,
        partners: Partners,
        latencies: Latencies,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.partners = partners
        self.latencies = latencies

    def customer_for(self, path: Story, uin: str) -> None:
        """Blocking: create the customer ``path`` needs."""
        partner = self.partners.second_level if path.second_level else self.partners.reseller
        self.ledger.add_customer(uin, partner_uin=partner, card=path.card)
        if path.frozen:
            self.ledger.set_account(uin, frozen=True)

    async def play(self, path: Story, customer: str) -> None:
        await path.drive(self, customer)
        handle = self.client.temporal.get_workflow_handle(f"unbind-{customer}")
        await handle.result()

    # ---- steps ------------------------------------------------------------

    async def apply(self, customer: str, *, initiator: str, expect: UnbindStatus) -> None:
        result: SubmissionResult = await self.latencies.timed(
            self.client.apply(
                customer_uin=customer,
                initiator_uin=initiator,
                notice_acknowledged=True,
                reason="benchmark burst",
            )
        )
        _expect(customer, "apply", result.status, expect)

    async def act(
        self, customer: str, call: Awaitable[ActionResult], step: str, expect: UnbindStatus
    ) -> None:
        result: ActionResult = await self.latencies.timed(call)
        if not result.accepted:
            raise PathFailed(f"{customer}: {step} refused: {result.reason}")
        _expect(customer, step, result.status, expect)

    async def ledger_change(self, customer: str, **changes: Any) -> None:
        await asyncio.to_thread(self.ledger.set_account, customer, **changes)


def _expect(customer: str, step: str, got: UnbindStatus, expected: UnbindStatus) -> None:
    if got is not expected:
        raise PathFailed(f"{customer}: after {step} the status is {got}, expected {expected}")


# ---- the paths ---------------------------------------------------------------


async def _direct_card(d: Driver, c: str) -> None:
    await d.apply(c, initiator=d.partners.reseller, expect=S.PENDING_CUSTOMER_CONFIRMATION)
    await d.act(c, d.client.confirm(c, actor=c), "confirm", S.COMPLETED)


async def _direct_card_binding(d: Driver, c: str) -> None:
    await d.apply(c, initiator=d.partners.reseller, expect=S.PENDING_CUSTOMER_CONFIRMATION)
    await d.act(c, d.client.confirm(c, actor=c), "confirm", S.PENDING_CARD_BINDING)
    await d.ledger_change(c, card_bound=True)
    await d.act(c, d.client.card_bound(c, actor=c), "card_bound", S.COMPLETED)


async def _second_level(d: Driver, c: str) -> None:
    await d.apply(c, initiator=d.partners.second_level, expect=S.PENDING_DISTRIBUTOR_REVIEW)
    review = d.client.review(c, actor=d.partners.distributor, approve=True)
    await d.act(c, review, "review", S.PENDING_CUSTOMER_CONFIRMATION)
    await d.act(c, d.client.confirm(c, actor=c), "confirm", S.COMPLETED)


async def _distributor_rejects(d: Driver, c: str) -> None:
    await d.apply(c, initiator=d.partners.second_level, expect=S.PENDING_DISTRIBUTOR_REVIEW)
    review = d.client.review(c, actor=d.partners.distributor, approve=False, reason="bench")
    await d.act(c, review, "review", S.DISTRIBUTOR_REJECTED)


async def _customer_rejects(d: Driver, c: str) -> None:
    await d.apply(c, initiator=d.partners.reseller, expect=S.PENDING_CUSTOMER_CONFIRMATION)
    await d.act(c, d.client.reject(c, actor=c, reason="we stay"), "reject", S.CUSTOMER_REJECTED)


async def _remediation(d: Driver, c: str) -> None:
    await d.apply(c, initiator=d.partners.reseller, expect=S.PENDING_CUSTOMER_CONFIRMATION)
    await d.ledger_change(c, frozen=True)
    await d.act(c, d.client.confirm(c, actor=c), "confirm", S.AWAITING_REMEDIATION)
    await d.ledger_change(c, frozen=False)
    recheck = d.client.recheck(c, actor=d.partners.reseller)
    await d.act(c, recheck, "recheck", S.COMPLETED)


async def _withdrawn(d: Driver, c: str) -> None:
    await d.apply(c, initiator=d.partners.reseller, expect=S.PENDING_CUSTOMER_CONFIRMATION)
    withdraw = d.client.withdraw(c, actor=d.partners.reseller, reason="sent by mistake")
    await d.act(c, withdraw, "withdraw", S.WITHDRAWN)


async def _precheck_fails(d: Driver, c: str) -> None:
    await d.apply(c, initiator=d.partners.reseller, expect=S.PRECHECK_FAILED)


DIRECT_CARD = Story("direct, card bound", _direct_card)
PATHS: tuple[Story, ...] = (
    DIRECT_CARD,
    Story("direct, card binding", _direct_card_binding, card=False),
    Story("second level, approved", _second_level, second_level=True),
    Story("distributor rejects", _distributor_rejects, second_level=True),
    Story("customer rejects", _customer_rejects),
    Story("final check fails, recheck", _remediation),
    Story("withdrawn", _withdrawn),
    Story("precheck fails", _precheck_fails, frozen=True),
)
MIX: tuple[Story, ...] = (PATHS[0], PATHS[0], PATHS[1], PATHS[2], *PATHS[1:])
"""One round of the mixed burst: the plain completion twice as often."""


def mixed(count: int) -> list[Story]:
    return [MIX[i % len(MIX)] for i in range(count)]
