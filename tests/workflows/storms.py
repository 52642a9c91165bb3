"""Action storms: hundreds of seeded random actions thrown at one application
while it follows a known path, as signals and as updates, plus the figures a
hostile client can push into its history.

A storm only ever sends noise the spec says must be refused at that moment
(wrong actor, or wrong state while the state is known to be stable) or
repeats of action ids already answered, so the legitimate actions alone
decide where the application ends: anything else reaching the final state is
a bug.
"""

from __future__ import annotations

import asyncio
import random
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.partner_center import RelationshipConflict
from activities.sql import SqlPartnerCenter
from starter.devstack.sdk_servers import dev_server_environment
from tests import counted
from tests.conftest import Parties, eventually, fresh_uin
from tests.workflows.spec_oracle import ALLOWED_ROLES, SPEC_ACCEPTED_IN, Role
from workflows.actions import ACTION_TYPES
from workflows.model import (
    Action,
    ActionKind,
    ActionResult,
    CutoverRequest,
    CutoverResult,
    Deadlines,
    Notification,
    Outbox,
    UnbindingState,
    UnbindStatus,
)
from workflows.rules import humanize
from workflows.texts import completed_on
from workflows.unbinding import UnbindingWorkflow

S = UnbindStatus
CONCURRENCY = 16
"""Actions in flight at once against one application."""
POLL_EVERY = 0.05
SETTLE_WITHIN = 30.0
"""Seconds an application may take to reach the state its legitimate actions lead to."""
SHORT_HISTORY_EVENTS = 300
MAX_FLOOD_BURSTS = 40
CONFIRMATION_WAIT = timedelta(minutes=2)
REMIND_AFTER = timedelta(seconds=5)
"""The continue-as-new path's reminder goes out this soon into the confirmation wait."""
UPDATE_ATTEMPTS = 5
RETRY_UPDATE_AFTER = 0.2
"""Seconds before an at-least-once client sends an update again."""
"""The dev server's continue-as-new suggestion, lowered so a storm of hundreds triggers it."""


@asynccontextmanager
async def short_history_environment() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server that suggests continue-as-new after ``SHORT_HISTORY_EVENTS``
    events (the default is 4,096), so a storm of hundreds crosses a run boundary."""
    async with dev_server_environment(
        dev_server_extra_args=[
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={SHORT_HISTORY_EVENTS}",
        ]
    ) as env:
        yield env


@dataclass(frozen=True)
class Cast:
    """Everyone who may throw actions at one application, by role."""

    uins: dict[Role, str]

    @classmethod
    def around(cls, pc: SqlPartnerCenter, parties: Parties) -> Cast:
        """The application's own parties plus outsiders created in the ledger:
        another reseller, another distributor, sub-users and an operator."""
        from workflows.model import PartnerKind

        other_reseller, other_distributor = fresh_uin(), fresh_uin()
        pc.add_partner(other_reseller, kind=PartnerKind.RESELLER)
        pc.add_partner(other_distributor, kind=PartnerKind.DISTRIBUTOR)
        initiator_sub_user, customer_sub_user = fresh_uin(), fresh_uin()
        pc.add_subuser(initiator_sub_user, owner_uin=parties.reseller)
        pc.add_subuser(customer_sub_user, owner_uin=parties.customer)
        uins: dict[Role, str] = {
            "customer": parties.customer,
            "initiator": parties.reseller,
            "other_reseller": other_reseller,
            "other_distributor": other_distributor,
            "sub_user_of_initiator": initiator_sub_user,
            "sub_user_of_customer": customer_sub_user,
            "operator": "operator:storm",
        }
        if parties.distributor is not None:
            uins["distributor"] = parties.distributor
        return cls(uins)

    def is_refused(self, kind: ActionKind, role: Role, statuses: Iterable[UnbindStatus]) -> bool:
        """Refused by the spec in every one of ``statuses``."""
        if role not in ALLOWED_ROLES[kind]:
            return True
        return not any(status in SPEC_ACCEPTED_IN[kind] for status in statuses)


@dataclass
class Tally:
    """What one storm sent and what came back."""

    signals: int = 0
    updates: int = 0
    refused_updates: int = 0
    accepted_updates: int = 0
    duplicates: int = 0
    after_end_refused_by_server: int = 0
    update_retries: int = 0
    """Updates the server asked to send again (workflow not ready, run closing)."""
    cut_short_by_the_end: int = 0
    """Sent while the application was closing: the server aborted them."""
    accepted_ids: set[str] = field(default_factory=set)


class Storm:
    """Seeded random actions against one application."""

    def __init__(self, handle: WorkflowHandle[Any, UnbindingState], cast: Cast, seed: int) -> None:
        self.handle = handle
        self.cast = cast
        self.rng = random.Random(seed)
        self.sent: list[tuple[Action, Role]] = []
        self.tally = Tally()
        self._slots = asyncio.Semaphore(CONCURRENCY)

    # ---- choosing actions ---------------------------------------------------

    def legitimate(self, kind: ActionKind, role: Role, **fields: Any) -> Action:
        chosen = ACTION_TYPES[kind](
            action_id=f"legit-{uuid.uuid4().hex}", actor=self.cast.uins[role], **fields
        )
        self.sent.append((chosen, role))
        return chosen

    def noise(self, statuses: tuple[UnbindStatus, ...], *, repeats: bool = True) -> Action:
        """An action the spec refuses in every one of ``statuses``: a repeat of
        one sent before (a quarter of the time, when one qualifies) or a new one."""
        if repeats and self.sent and self.rng.random() < 0.25:
            repeat = self.rng.choice(self.sent)
            chosen, role = repeat
            if chosen.action_id in self.tally.accepted_ids or self.cast.is_refused(
                chosen.kind, role, statuses
            ):
                self.tally.duplicates += 1
                return chosen
        while True:
            kind = self.rng.choice(list(ActionKind))
            role = self.rng.choice(list(self.cast.uins))
            if self.cast.is_refused(kind, role, statuses):
                break
        fields: dict[str, Any] = {}
        if kind in (ActionKind.REVIEW, ActionKind.RESELLER_REVIEW):
            fields["approve"] = self.rng.random() < 0.5
        if kind in (ActionKind.REVIEW, ActionKind.REJECT, ActionKind.WITHDRAW):
            fields["reason"] = self.rng.choice([None, "storm", "x" * 400])
        chosen = ACTION_TYPES[kind](
            action_id=f"noise-{self.rng.getrandbits(64):016x}", actor=self.cast.uins[role], **fields
        )
        self.sent.append((chosen, role))
        return chosen

    # ---- sending --------------------------------------------------------------

    async def send(
        self, chosen: Action, *, as_update: bool, closing: bool = False
    ) -> ActionResult | None:
        """Signal or update; an update's refusal comes back as None. While the
        application is ``closing``, the server may turn either away."""
        counted.storm_action_sent()
        try:
            async with self._slots:
                if as_update:
                    return await self._update(chosen, closing=closing)
                self.tally.signals += 1
                await self.handle.signal(chosen.kind.value, chosen)
                return None
        except RPCError as turned_away:
            if not closing:
                raise
            assert turned_away.status in (
                RPCStatusCode.NOT_FOUND,
                RPCStatusCode.FAILED_PRECONDITION,
            ), turned_away
            self.tally.cut_short_by_the_end += 1
            return None

    async def _update(self, chosen: Action, *, closing: bool) -> ActionResult | None:
        """As an at-least-once client does: the same action again while the
        server says the workflow is not ready (a workflow task failed, e.g. a
        continue-as-new turned back because signals arrived meanwhile) or the
        run it reached has just continued as new."""
        self.tally.updates += 1
        for attempt in range(1, UPDATE_ATTEMPTS + 1):
            try:
                result = await self.handle.execute_update(
                    chosen.kind.value, chosen, result_type=ActionResult
                )
            except WorkflowUpdateFailedError as refused:
                assert isinstance(refused.cause, ApplicationError), refused.cause
                assert refused.cause.type == "ActionRefused", refused.cause
                self.tally.refused_updates += 1
                return None
            except RPCError as not_now:
                retryable = not_now.status is RPCStatusCode.FAILED_PRECONDITION or (
                    not_now.status is RPCStatusCode.NOT_FOUND and not closing
                )
                if not retryable or attempt == UPDATE_ATTEMPTS:
                    raise
                self.tally.update_retries += 1
                await asyncio.sleep(RETRY_UPDATE_AFTER)
                continue
            self.tally.accepted_updates += 1
            return result
        raise AssertionError("unreachable")

    async def burst(self, count: int, statuses: tuple[UnbindStatus, ...]) -> None:
        """``count`` noise actions at once, each a signal or an update at random;
        no update among them may be accepted, unless it repeats an accepted id."""
        chosen = [(self.noise(statuses), self.rng.random() < 0.5) for _ in range(count)]
        results = await asyncio.gather(*(self.send(a, as_update=u) for a, u in chosen))
        for (action_, _), result in zip(chosen, results, strict=True):
            if result is not None:
                assert action_.action_id in self.tally.accepted_ids, (action_, result)

    async def refused_updates(self, count: int, statuses: tuple[UnbindStatus, ...]) -> None:
        """``count`` new actions the spec refuses, all as updates."""
        chosen = [self.noise(statuses, repeats=False) for _ in range(count)]
        results = await asyncio.gather(*(self.send(a, as_update=True) for a in chosen))
        assert results == [None] * count, results

    async def decide(
        self, chosen: Action, *, statuses: tuple[UnbindStatus, ...], noise: int
    ) -> None:
        """The legitimate action, with repeats of it as signals and updates, in
        the middle of noise refused in every status it leads through."""
        copies = [(chosen, self.rng.random() < 0.5) for _ in range(self.rng.randint(2, 5))]
        others = [(self.noise(statuses), self.rng.random() < 0.5) for _ in range(noise)]
        batch = copies + others
        self.rng.shuffle(batch)
        self.tally.accepted_ids.add(chosen.action_id)
        closing = statuses[-1].is_terminal
        results = await asyncio.gather(
            *(self.send(a, as_update=u, closing=closing) for a, u in batch)
        )
        for (action_, _), result in zip(batch, results, strict=True):
            if result is None:
                continue
            # Every update of the legitimate id gets the one answer it earned.
            assert action_.action_id == chosen.action_id, (action_, result)
            assert result.accepted, result

    async def after_the_end(self, count: int) -> None:
        """Actions after the application closed: the server refuses them all."""
        for _ in range(count):
            chosen = self.noise(tuple(S))
            try:
                await self.send(chosen, as_update=self.rng.random() < 0.5)
            except RPCError:
                self.tally.after_end_refused_by_server += 1
            else:
                raise AssertionError(f"a closed application took {chosen}")

    # ---- watching ---------------------------------------------------------------

    async def state(self) -> UnbindingState:
        return await self.handle.query(UnbindingWorkflow.status)

    async def until(self, check: Callable[[UnbindingState], bool]) -> UnbindingState:
        """The state once ``check`` holds (or the last one seen, after ``SETTLE_WITHIN``)."""
        return await eventually(self.state, check, within=SETTLE_WITHIN, every=POLL_EVERY)

    async def settled_in(self, status: UnbindStatus) -> UnbindingState:
        state = await self.until(lambda s: s.status is status)
        assert state.status is status, (state.status, status, state.timeline[-5:])
        return state


@dataclass(frozen=True)
class HistorySize:
    events: int
    bytes: int

    def __sub__(self, other: HistorySize) -> HistorySize:
        return HistorySize(self.events - other.events, self.bytes - other.bytes)


class Announcing(SqlPartnerCenter):
    """The real partner center, keeping every notification the workflow had
    written (alone or in a commit), once the write went through, by the step
    of the run that wrote it. A local activity runs again when the workflow
    task that ran it is not recorded (the server refuses a completion while
    actions keep arriving): the same step, one announcement."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._lock = threading.Lock()
        self._announced: dict[tuple[str, str, str], Notification] = {}

    def _keep(self, notifications: Iterable[Notification]) -> None:
        info = activity.info()
        with self._lock:
            for n in notifications:
                self._announced[(info.workflow_run_id or "", info.activity_id, n.event)] = n

    def deliver(self, notification: Notification) -> int:
        new = super().deliver(notification)
        self._keep([notification])
        return new

    def commit(self, outbox: Outbox) -> int:
        new = super().commit(outbox)
        self._keep(outbox.notifications)
        return new

    def cut_over(self, request: CutoverRequest) -> CutoverResult:
        queued = request.outbox.notifications if request.outbox else []
        try:
            result = super().cut_over(request)
        except RelationshipConflict:  # refused, with the outbox written
            self._keep(queued)
            raise
        self._keep(queued)
        if request.ending is not None:
            self._keep(completed_on(request.ending, result.effective_at).notifications)
        return result

    def announced(self, application_id: str) -> list[Notification]:
        with self._lock:
            return [n for n in self._announced.values() if n.application_id == application_id]


# The first refused update within moments of a workflow task that ran local
# activities may be written as one ordinary workflow task (seen on the dev
# server 1.32: three events, once, gone after ~3 s); every later refusal writes
# nothing. Tests of "refused without a trace" send one first and allow that.
ONE_WORKFLOW_TASK = HistorySize(3, 0)


def at_most_one_workflow_task(cost: HistorySize) -> bool:
    return cost.events in (0, ONE_WORKFLOW_TASK.events)


async def history_size(
    client: Client, handle: WorkflowHandle[Any, Any], run_id: str | None = None
) -> HistorySize:
    """The server's own count of one run's history: events and bytes."""
    target = client.get_workflow_handle(handle.id, run_id=run_id) if run_id else handle
    described = await target.describe()
    info = described.raw_description.workflow_execution_info
    return HistorySize(info.history_length, info.history_size_bytes)


def idle(described: WorkflowExecutionDescription) -> bool:
    """No workflow task and no activity is pending: nothing is still adding
    to the history (a signal or an activity's end schedules a workflow task
    in the same write, so this cannot be seen between the two)."""
    raw = described.raw_description
    return not raw.HasField("pending_workflow_task") and not raw.pending_activities


async def quiet_history_size(handle: WorkflowHandle[Any, Any]) -> HistorySize:
    """The history's size once no workflow task or activity is still adding to it."""
    described = await eventually(handle.describe, idle, within=SETTLE_WITHIN, every=POLL_EVERY)
    assert idle(described), described.raw_description
    info = described.raw_description.workflow_execution_info
    return HistorySize(info.history_length, info.history_size_bytes)


async def run_ids(client: Client, handle: WorkflowHandle[Any, Any]) -> list[str]:
    """Every run of the application, first to latest, following continue-as-new
    back from the latest run through each run's recorded predecessor."""
    ids: list[str] = []
    run_id = (await handle.describe()).run_id
    while run_id:
        ids.insert(0, run_id)
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id
    return ids


def report(title: str, rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> None:
    """A figures table on the terminal (``pytest -s``) for the note."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [title, " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += [" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    print("\n" + "\n".join(lines), file=sys.stderr)


# ---- a storm long enough to continue as new ---------------------------------


@dataclass
class LongStorm:
    """What the continue-as-new scenario observed along the way."""

    handle: WorkflowHandle[Any, UnbindingState]
    parties: Parties
    storm: Storm
    remembered: dict[str, ActionResult] = field(default_factory=dict)
    """Answers to repeats of accepted ids, sent after a run boundary."""
    deadlines_kept: list[tuple[UnbindStatus, bool]] = field(default_factory=list)
    runs_per_wait: dict[UnbindStatus, int] = field(default_factory=dict)


async def flood_until_continued(storm: Storm, status: UnbindStatus, *, runs: int) -> UnbindingState:
    """Refused noise (signals and updates) until the application has run
    ``runs`` times, then check it still rests in ``status``."""
    for _ in range(MAX_FLOOD_BURSTS):
        if (await storm.state()).runs >= runs:
            break
        await storm.burst(CONCURRENCY * 4, (status,))
    state = await storm.until(lambda s: s.runs >= runs)
    assert state.runs >= runs, f"still run {state.runs} after {MAX_FLOOD_BURSTS} bursts"
    return await storm.settled_in(status)


async def continue_as_new_path(
    client: Client, task_queue: str, pc: SqlPartnerCenter, parties: Parties, seed: int
) -> LongStorm:
    """Second level, card bound, the final check fails once: a storm in the
    confirmation wait and another in the remediation wait each push the history
    over the server's continue-as-new suggestion; repeats of ids accepted in
    earlier runs come back with their first answer; then the application
    completes. The caller asserts on what it returns."""
    from tests.workflows.scenarios import submit

    # The customer is reminded early in the confirmation wait, so the reminder
    # is already out when that wait continues as new.
    deadlines = Deadlines(
        customer_confirmation=CONFIRMATION_WAIT,
        reminders_before=(CONFIRMATION_WAIT - REMIND_AFTER,),
    )
    handle, submitted = await submit(client, task_queue, parties, deadlines=deadlines)
    assert submitted.status is S.PENDING_DISTRIBUTOR_REVIEW, submitted
    storm = Storm(handle, Cast.around(pc, parties), seed)
    long = LongStorm(handle, parties, storm)

    review = storm.legitimate(ActionKind.REVIEW, "distributor", approve=True)
    await storm.decide(
        review, statuses=(S.PENDING_DISTRIBUTOR_REVIEW, S.PENDING_CUSTOMER_CONFIRMATION), noise=8
    )
    before = await storm.settled_in(S.PENDING_CUSTOMER_CONFIRMATION)
    reminder = (
        f"reminder:{S.PENDING_CUSTOMER_CONFIRMATION}:{humanize(CONFIRMATION_WAIT - REMIND_AFTER)}"
    )
    reminded = await eventually(
        lambda: asyncio.to_thread(pc.inbox, parties.customer),
        lambda inbox: reminder in {m["event"] for m in inbox},
        within=SETTLE_WITHIN,
    )
    assert reminder in {m["event"] for m in reminded}, reminded
    after = await flood_until_continued(storm, S.PENDING_CUSTOMER_CONFIRMATION, runs=2)
    long.deadlines_kept.append((S.PENDING_CUSTOMER_CONFIRMATION, after.deadline == before.deadline))
    long.runs_per_wait[S.PENDING_CUSTOMER_CONFIRMATION] = after.runs
    answer = await storm.send(review, as_update=True)
    assert answer is not None
    long.remembered[review.action_id] = answer
    await storm.send(review, as_update=False)

    pc.set_account(parties.customer, frozen=True)
    confirm = storm.legitimate(ActionKind.CONFIRM, "customer")
    await storm.decide(
        confirm,
        statuses=(S.PENDING_CUSTOMER_CONFIRMATION, S.FINAL_CHECK, S.AWAITING_REMEDIATION),
        noise=8,
    )
    before = await storm.settled_in(S.AWAITING_REMEDIATION)
    after = await flood_until_continued(storm, S.AWAITING_REMEDIATION, runs=before.runs + 1)
    long.deadlines_kept.append((S.AWAITING_REMEDIATION, after.deadline == before.deadline))
    long.runs_per_wait[S.AWAITING_REMEDIATION] = after.runs
    for earlier in (review, confirm):
        answer = await storm.send(earlier, as_update=True)
        assert answer is not None
        long.remembered[earlier.action_id] = answer

    pc.set_account(parties.customer, frozen=False)
    recheck = storm.legitimate(ActionKind.RECHECK, "initiator")
    await storm.decide(
        recheck,
        statuses=(S.AWAITING_REMEDIATION, S.FINAL_CHECK, S.CUTTING_OVER, S.COMPLETED),
        noise=8,
    )
    await storm.settled_in(S.COMPLETED)
    return long
