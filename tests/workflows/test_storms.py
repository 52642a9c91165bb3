"""Action storms on a real Temporal dev server, a real worker and a real SQLite
partner center: every application gets hundreds of seeded random actions
(repeats of the same ``action_id``, wrong actors including sub-users, other
resellers, other distributors and operators, wrong states, actions after the
end) as signals and as updates, and still walks exactly the path its
legitimate actions lead to, with each side effect once.

``UNBIND_STORM_ACTIONS`` (default 200 per application) and
``UNBIND_STORM_SEED`` make a storm bigger or different; the seed is printed on
failure so a storm can be replayed.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger, Parties, running_worker
from tests.workflows.scenarios import submit
from tests.workflows.spec_oracle import Role, is_legal_path
from tests.workflows.storms import (
    CONCURRENCY,
    SHORT_HISTORY_EVENTS,
    Announcing,
    Cast,
    HistorySize,
    Storm,
    at_most_one_workflow_task,
    continue_as_new_path,
    history_size,
    quiet_history_size,
    report,
    run_ids,
    short_history_environment,
)
from workflows.contract import update_id_for
from workflows.model import ActionKind, ActionResult, UnbindingState, UnbindStatus
from workflows.settings import SETTINGS

pytestmark = pytest.mark.integration
S = UnbindStatus
K = ActionKind

ACTIONS = int(os.environ.get("UNBIND_STORM_ACTIONS", "200"))
"""Noise actions per application, spread over its waits."""
SEED = int(os.environ.get("UNBIND_STORM_SEED", "20261126"))
AFTER_THE_END = 10
"""Actions thrown at each application once it has closed."""
REFUSED_UPDATES_PROBE = 25
"""Refused updates whose history cost is measured (it must be nothing)."""

# What one message can add to a history, from how Temporal records it: a
# signal is one WorkflowExecutionSignaled event plus at most one workflow task
# (scheduled, started, completed); an accepted update is UpdateAccepted and
# UpdateCompleted plus at most one workflow task. A refused update adds nothing.
EVENTS_PER_SIGNAL = 4
EVENTS_PER_ACCEPTED_UPDATE = 5
QUIET_PATH_EVENTS = 200
"""Above the longest recorded quiet path (152 events, second level with card binding)."""


# ---- each path: its legitimate actions, and what they must lead to -----------


@dataclass(frozen=True)
class Decision:
    """One legitimate action (after an optional change in the partner center)
    and the statuses it leads through."""

    role: Role
    kind: ActionKind
    leads_through: tuple[UnbindStatus, ...]
    fields: tuple[tuple[str, Any], ...] = ()
    before: Callable[[SqlPartnerCenter, Parties], None] | None = None


@dataclass(frozen=True)
class StormPath:
    name: str
    second_level: bool
    card: bool
    first_wait: UnbindStatus
    decisions: tuple[Decision, ...]
    frozen: bool = False

    @property
    def transitions(self) -> list[UnbindStatus]:
        return [self.first_wait] + [s for d in self.decisions for s in d.leads_through]


def _bind_card(pc: SqlPartnerCenter, parties: Parties) -> None:
    pc.set_account(parties.customer, card_bound=True)


def _unfreeze(pc: SqlPartnerCenter, parties: Parties) -> None:
    pc.set_account(parties.customer, frozen=False)


CUT_OVER = (S.FINAL_CHECK, S.CUTTING_OVER, S.COMPLETED)
PATHS = (
    StormPath(
        "direct_completes",
        second_level=False,
        card=True,
        first_wait=S.PENDING_CUSTOMER_CONFIRMATION,
        decisions=(Decision("customer", K.CONFIRM, CUT_OVER),),
    ),
    StormPath(
        "second_level_binds_a_card_and_completes",
        second_level=True,
        card=False,
        first_wait=S.PENDING_DISTRIBUTOR_REVIEW,
        decisions=(
            Decision(
                "distributor",
                K.REVIEW,
                (S.PENDING_CUSTOMER_CONFIRMATION,),
                fields=(("approve", True),),
            ),
            Decision("customer", K.CONFIRM, (S.PENDING_CARD_BINDING,)),
            Decision("customer", K.CARD_BOUND, CUT_OVER, before=_bind_card),
        ),
    ),
    StormPath(
        "remediation_then_operator_recheck",
        second_level=False,
        card=True,
        frozen=True,
        first_wait=S.PENDING_CUSTOMER_CONFIRMATION,
        decisions=(
            Decision("customer", K.CONFIRM, (S.FINAL_CHECK, S.AWAITING_REMEDIATION)),
            Decision("operator", K.RECHECK, CUT_OVER, before=_unfreeze),
        ),
    ),
    StormPath(
        "distributor_rejects",
        second_level=True,
        card=True,
        first_wait=S.PENDING_DISTRIBUTOR_REVIEW,
        decisions=(
            Decision(
                "distributor",
                K.REVIEW,
                (S.DISTRIBUTOR_REJECTED,),
                fields=(("approve", False), ("reason", "contract")),
            ),
        ),
    ),
    StormPath(
        "withdrawn_while_binding_a_card",
        second_level=False,
        card=False,
        first_wait=S.PENDING_CUSTOMER_CONFIRMATION,
        decisions=(
            Decision("customer", K.CONFIRM, (S.PENDING_CARD_BINDING,)),
            Decision("initiator", K.WITHDRAW, (S.WITHDRAWN,), fields=(("reason", "changed"),)),
        ),
    ),
)


@dataclass(frozen=True)
class Outcome:
    path: StormPath
    state: UnbindingState
    storm: Storm
    size: HistorySize
    runs: int
    refused_updates_cost: HistorySize


async def run_storm(
    client_env: WorkflowEnvironment,
    task_queue: str,
    pc: SqlPartnerCenter,
    ledger: Ledger,
    path: StormPath,
    seed: int,
    noise: int,
) -> Outcome:
    parties = (
        ledger.second_level(card=path.card) if path.second_level else ledger.direct(card=path.card)
    )
    handle, submitted = await submit(client_env.client, task_queue, parties)
    assert submitted.accepted and submitted.status is path.first_wait, submitted
    if path.frozen:  # frozen after submission: the final check is what fails
        pc.set_account(parties.customer, frozen=True)
    storm = Storm(handle, Cast.around(pc, parties), seed)

    # Refused updates are answered by the validator: nothing reaches history.
    warm_up = await history_size(client_env.client, handle)
    await storm.refused_updates(1, (path.first_wait,))
    before = await history_size(client_env.client, handle)
    assert at_most_one_workflow_task(before - warm_up), before - warm_up
    await storm.refused_updates(REFUSED_UPDATES_PROBE, (path.first_wait,))
    refused_updates_cost = await history_size(client_env.client, handle) - before

    status = path.first_wait
    per_wait = noise // (2 * len(path.decisions))
    for decision in path.decisions:
        # While the application rests in a wait: any action the spec refuses there.
        await storm.burst(per_wait, (status,))
        if decision.before is not None:
            decision.before(pc, parties)
        chosen = storm.legitimate(decision.kind, decision.role, **dict(decision.fields))
        # Around the decision: only what is refused all along the way.
        await storm.decide(chosen, statuses=(status, *decision.leads_through), noise=per_wait)
        status = decision.leads_through[-1]
        await storm.settled_in(status)
    await storm.settled_in(status)
    result = await handle.result()
    assert result.status is status

    closed = await history_size(client_env.client, handle)
    await storm.after_the_end(AFTER_THE_END)
    assert await history_size(client_env.client, handle) == closed, (
        "a closed application's history changed"
    )

    ids = await run_ids(client_env.client, handle)
    sizes = [await history_size(client_env.client, handle, run_id) for run_id in ids]
    total = HistorySize(sum(s.events for s in sizes), sum(s.bytes for s in sizes))
    assert_each_effect_once(pc, parties, result)
    return Outcome(path, result, storm, total, len(ids), refused_updates_cost)


@pytest.fixture
def partner_center(database_url: str) -> Iterator[Announcing]:
    """The real partner center, keeping what the workflow announced."""
    pc = Announcing(database_url)
    yield pc
    pc.dispose()


def assert_each_effect_once(pc: Announcing, parties: Parties, result: UnbindingState) -> None:
    """The database holds one record, at most one cutover, and exactly one
    inbox message per recipient per event the workflow announced, each event
    announced once across every run."""
    [record] = pc.records(parties.customer)
    assert record.status is result.status
    completed = result.status is S.COMPLETED
    assert pc.count("cutovers", application_id=result.application_id) == int(completed)
    notified = pc.announced(result.application_id)
    events = Counter(n.event for n in notified)
    assert all(times == 1 for times in events.values()), f"announced twice: {events}"
    expected = {(r, n.event) for n in notified for r in n.recipients}
    delivered = {
        (uin, m["event"])
        for uin in {r for r, _ in expected}
        for m in pc.inbox(uin)
        if m["application_id"] == result.application_id
    }
    assert delivered == expected
    assert pc.count("inbox", application_id=result.application_id) == len(expected)


def assert_walked(outcome: Outcome) -> None:
    """The path the legitimate actions determine, legal by the spec, and every
    accepted entry in the timeline one of those actions, once."""
    state, path = outcome.state, outcome.path
    walked = [t.status for t in state.transitions]
    assert is_legal_path(walked), walked
    assert walked == path.transitions, (path.name, walked)
    accepted = [e.action_id for e in state.timeline if e.accepted and e.action_id is not None]
    assert len(accepted) == len(set(accepted)), accepted
    assert set(accepted) == outcome.storm.tally.accepted_ids, (path.name, state.timeline)
    assert outcome.refused_updates_cost == HistorySize(0, 0), outcome.refused_updates_cost


def history_bound(storm: Storm) -> int:
    tally = storm.tally
    return (
        QUIET_PATH_EVENTS
        + EVENTS_PER_SIGNAL * tally.signals
        + EVENTS_PER_ACCEPTED_UPDATE * tally.accepted_updates
    )


# ---- the storms --------------------------------------------------------------


@pytest_asyncio.fixture
async def storm_worker(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, executor: ThreadPoolExecutor
) -> AsyncIterator[str]:
    async with running_worker(dev_env.client, partner_center, executor) as worker:
        yield worker.task_queue


async def test_storms_on_every_path_end_where_the_legitimate_actions_lead(
    dev_env: WorkflowEnvironment,
    storm_worker: str,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
) -> None:
    async with asyncio.TaskGroup() as storms:
        running = [
            storms.create_task(
                run_storm(dev_env, storm_worker, partner_center, ledger, path, SEED + i, ACTIONS)
            )
            for i, path in enumerate(PATHS)
        ]
    outcomes = [task.result() for task in running]
    rows = []
    for outcome in outcomes:
        tally = outcome.storm.tally
        rows.append(
            (
                outcome.path.name,
                outcome.state.status,
                tally.signals,
                tally.updates,
                tally.refused_updates,
                tally.duplicates,
                tally.after_end_refused_by_server,
                outcome.runs,
                outcome.size.events,
                outcome.size.bytes,
                history_bound(outcome.storm),
            )
        )
    report(
        f"storms (seed {SEED}, {ACTIONS} noise actions per application)",
        rows,
        (
            "path",
            "ended",
            "signals",
            "updates",
            "refused upd",
            "repeats",
            "after end",
            "runs",
            "events",
            "bytes",
            "bound",
        ),
    )
    for outcome in outcomes:
        assert_walked(outcome)
        assert outcome.state.outcome_reason is None or outcome.state.status is not S.COMPLETED
        assert outcome.size.events <= history_bound(outcome.storm), outcome.path.name
        assert outcome.size.events < SETTINGS.continue_as_new_after_events


# ---- a storm that crosses a run boundary -------------------------------------


@pytest_asyncio.fixture(scope="module")
async def short_history_env() -> AsyncIterator[WorkflowEnvironment]:
    async with short_history_environment() as env:
        yield env


async def test_a_storm_past_the_history_bound_continues_as_new_and_loses_nothing(
    short_history_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    executor: ThreadPoolExecutor,
) -> None:
    client = short_history_env.client
    parties = ledger.second_level(card=True)
    async with running_worker(client, partner_center, executor) as worker:
        long = await continue_as_new_path(client, worker.task_queue, partner_center, parties, SEED)
        result = await long.handle.result()
        ids = await run_ids(client, long.handle)
        sizes = [await history_size(client, long.handle, run_id) for run_id in ids]
        assert_each_effect_once(partner_center, parties, result)

    report(
        f"continue-as-new storm (server suggests it at {SHORT_HISTORY_EVENTS} events)",
        [(i + 1, s.events, s.bytes) for i, s in enumerate(sizes)],
        ("run", "events", "bytes"),
    )
    # Each wait's storm crossed at least one run boundary, and the application
    # still walked the one path its legitimate actions lead to.
    assert long.runs_per_wait[S.PENDING_CUSTOMER_CONFIRMATION] >= 2
    assert (
        long.runs_per_wait[S.AWAITING_REMEDIATION]
        > long.runs_per_wait[S.PENDING_CUSTOMER_CONFIRMATION]
    )
    assert result.status is S.COMPLETED and result.runs == len(ids) >= 3
    walked = [t.status for t in result.transitions]
    assert is_legal_path(walked)
    assert walked == [
        S.PENDING_DISTRIBUTOR_REVIEW,
        S.PENDING_CUSTOMER_CONFIRMATION,
        S.FINAL_CHECK,
        S.AWAITING_REMEDIATION,
        S.FINAL_CHECK,
        S.CUTTING_OVER,
        S.COMPLETED,
    ]
    # The same absolute deadline on both sides of every boundary.
    assert all(kept for _, kept in long.deadlines_kept), long.deadlines_kept
    # Ids accepted in earlier runs: the first answer again, no second effect.
    assert len(long.remembered) == 2 and set(long.remembered) < long.storm.tally.accepted_ids
    assert all(answer.accepted for answer in long.remembered.values()), long.remembered
    accepted = [e.action_id for e in result.timeline if e.accepted and e.action_id]
    assert sorted(accepted) == sorted(long.storm.tally.accepted_ids)
    # No run came near Temporal's limits: each ended soon after the suggestion.
    for size in sizes:
        assert size.events < SHORT_HISTORY_EVENTS + EVENTS_PER_SIGNAL * CONCURRENCY * 4


# ---- what each kind of message costs a history --------------------------------

MEASURED = 100
"""Messages of each kind whose history cost is measured."""
JUNK_SIGNALS = 5
JUNK_BYTES = 256 * 1024


async def test_what_a_hostile_client_can_add_to_a_history(
    dev_env: WorkflowEnvironment,
    storm_worker: str,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
) -> None:
    """The figures behind the history bound in docs/PROCESS.md, one kind of message at a
    time, each sent ``MEASURED`` times one after another (the worst case: no
    batching of several messages into one workflow task)."""
    client = dev_env.client
    parties = ledger.direct(card=False)
    handle, _ = await submit(client, storm_worker, parties)
    storm = Storm(handle, Cast.around(partner_center, parties), SEED)
    waiting = (S.PENDING_CUSTOMER_CONFIRMATION,)
    rows: list[tuple[str, int, int, int, float, float]] = []

    async def measure(
        label: str,
        send: Callable[[], Awaitable[object]],
        settled: Callable[[UnbindingState], bool],
        times: int = MEASURED,
    ) -> HistorySize:
        before = await quiet_history_size(handle)
        for _ in range(times):
            await send()
        await storm.until(settled)
        cost = await quiet_history_size(handle) - before
        rows.append(
            (label, times, cost.events, cost.bytes, cost.events / times, cost.bytes / times)
        )
        return cost

    refused = [storm.noise(waiting, repeats=False) for _ in range(MEASURED)]
    pending = iter(refused)
    signals = await measure(
        "refused signal (new id)",
        lambda: storm.send(next(pending), as_update=False),
        lambda s: len(s.timeline) >= MEASURED,
    )
    repeated = await measure(
        "repeated signal (same id)",
        lambda: storm.send(refused[0], as_update=False),
        lambda s: True,
    )
    fresh = iter([storm.noise(waiting, repeats=False) for _ in range(MEASURED)])
    refused_updates = await measure(
        "refused update",
        lambda: storm.send(next(fresh), as_update=True),
        lambda s: True,
    )
    refused_again = await measure(
        "update repeating a refused signal's id",
        lambda: storm.send(refused[1], as_update=True),
        lambda s: True,
    )
    confirm = storm.legitimate(K.CONFIRM, "customer")
    assert (await storm.send(confirm, as_update=True)) is not None
    await storm.settled_in(S.PENDING_CARD_BINDING)
    repeats_of_accepted = await measure(
        "update repeating an accepted id",
        lambda: storm.send(confirm, as_update=True),
        lambda s: True,
    )
    # The client API sends an update id derived from the whole action: the
    # server answers a repeat from the update it already completed, writing nothing.
    same_update_id = await measure(
        "same, with the update id the client derives",
        lambda: handle.execute_update(
            "confirm", confirm, id=update_id_for(confirm), result_type=ActionResult
        ),
        lambda s: True,
    )
    # The payload is the sender's: a malformed one is dropped by the workflow,
    # but the server has already written it to history.
    junk = {"action_id": "junk", "actor": parties.customer, "reason": "x" * JUNK_BYTES}
    junk_signals = await measure(
        f"malformed signal, {JUNK_BYTES // 1024} KiB payload",
        lambda: handle.signal("confirm", junk),
        lambda s: True,
        times=JUNK_SIGNALS,
    )
    report(
        "history cost per message (sent one after another)",
        [(label, n, e, b, round(pe, 2), round(pb)) for label, n, e, b, pe, pb in rows],
        ("message", "sent", "events", "bytes", "events/msg", "bytes/msg"),
    )
    assert refused_updates == refused_again == HistorySize(0, 0)
    assert signals.events <= EVENTS_PER_SIGNAL * MEASURED
    assert repeated.events <= EVENTS_PER_SIGNAL * MEASURED
    assert repeats_of_accepted.events <= EVENTS_PER_ACCEPTED_UPDATE * MEASURED
    assert same_update_id.events <= EVENTS_PER_ACCEPTED_UPDATE
    # Past the timeline's cap, refusals are counted, not stored.
    state = await storm.state()
    assert len(state.timeline) <= SETTINGS.max_timeline_entries
    assert state.status is S.PENDING_CARD_BINDING
    assert junk_signals.bytes >= JUNK_SIGNALS * JUNK_BYTES
