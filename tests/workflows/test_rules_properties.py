"""The pure rules under random action sequences (hypothesis), no server.

An application is driven through ``workflows.rules`` the way the workflow
drives it: people's actions from every kind of party, the partner center
changing underneath (card bound, account fixed or broken), deadlines passing,
operators cancelling, scheduled rechecks. Every step is checked against the
oracle in ``spec_oracle``, written from the SPEC's tables independently of the
rules module.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.workflows.spec_oracle import (
    ACTORS,
    ALLOWED_ROLES,
    HUMAN_WAITS,
    ROLES,
    SPEC_NEXT,
    SPEC_TERMINAL,
    Role,
    is_legal_path,
    spec_allows,
)
from workflows import rules
from workflows.actions import ACTION_TYPES
from workflows.model import (
    Action,
    ActionKind,
    CheckName,
    FailedCheck,
    PartnerKind,
    ReviewAction,
    UnbindStatus,
)

S = UnbindStatus
K = ActionKind

# A few seconds in CI; UNBIND_PROPERTY_EXAMPLES=5000 explores more locally.
# Applied per test, so other modules' hypothesis settings stay their own.
explore = settings(
    max_examples=int(os.environ.get("UNBIND_PROPERTY_EXAMPLES", "150")), deadline=None
)

# ---- driving the rules as the workflow does -------------------------------------


@dataclass(frozen=True)
class Act:
    role: Role
    kind: ActionKind
    approve: bool


@dataclass(frozen=True)
class World:
    """Something outside people's actions: ``card``/``card_removed`` (in the
    partner center), ``fix``/``break`` (the account checks), ``deadline``,
    ``cancel``, ``auto_recheck``."""

    event: str


Step = Act | World


@dataclass
class Application:
    second_level: bool
    card_bound: bool
    account_ok: bool
    status: UnbindStatus = S.VALIDATING
    transitions: list[UnbindStatus] = field(default_factory=list)

    @property
    def roles(self) -> rules.Roles:
        distributor = ACTORS["distributor"] if self.second_level else None
        return rules.Roles(
            ACTORS["customer"], ACTORS["initiator"], distributor, reseller_uin=ACTORS["initiator"]
        )

    def enter(self, status: UnbindStatus) -> None:
        assert rules.is_legal(self.status, status), (self.status, status)
        self.status = status
        self.transitions.append(status)

    def final_check(self) -> None:
        self.enter(S.FINAL_CHECK)
        failed = [] if self.account_ok else [FailedCheck(check=CheckName.ACCOUNT_FROZEN, hint="-")]
        if not self.card_bound:
            # SPEC section 3 plus issue 9: the final check counts a missing card.
            failed.append(FailedCheck(check=CheckName.CARD, hint="-"))
        self.enter(rules.after_final_check(failed))
        if self.status is S.CUTTING_OVER:
            self.enter(S.COMPLETED)

    def submit(self, precheck_ok: bool) -> None:
        if not precheck_ok:
            self.enter(S.PRECHECK_FAILED)
            return
        kind = PartnerKind.SECOND_LEVEL_RESELLER if self.second_level else PartnerKind.RESELLER
        self.enter(rules.first_wait(kind))

    def take(self, action: Action) -> str | None:
        """The rules' refusal, or None once the action took effect."""
        refusal = rules.refusal(self.status, action, self.roles)
        if refusal is not None:
            return refusal
        match action.kind:
            case K.REVIEW:
                assert isinstance(action, ReviewAction)
                self.enter(rules.after_review(action))
            case K.CONFIRM:
                # Decided from the card bound now, not the one at submission.
                if rules.after_confirmation(self.card_bound) is S.FINAL_CHECK:
                    self.final_check()
                else:
                    self.enter(S.PENDING_CARD_BINDING)
            case K.REJECT:
                self.enter(S.CUSTOMER_REJECTED)
            case K.CARD_BOUND:
                # The signal alone proves nothing: the partner center decides.
                if self.card_bound:
                    self.final_check()
            case K.WITHDRAW:
                self.enter(S.WITHDRAWN)
            case K.RECHECK:
                self.final_check()
        return None

    def happen(self, event: str) -> None:
        match event:
            case "card":
                self.card_bound = True
            case "card_removed":
                self.card_bound = False
            case "fix":
                self.account_ok = True
            case "break":
                self.account_ok = False
            case "deadline" if self.status in HUMAN_WAITS:
                self.enter(S.EXPIRED)
            case "cancel" if self.status in rules.CANCELLABLE:
                self.enter(S.CANCELLED)
            case "auto_recheck" if self.status is S.AWAITING_REMEDIATION:
                self.final_check()


acts = st.builds(
    Act, role=st.sampled_from(ROLES), kind=st.sampled_from(list(ActionKind)), approve=st.booleans()
)
world = st.builds(
    World,
    event=st.sampled_from(
        ["card", "card_removed", "fix", "break", "deadline", "cancel", "auto_recheck"]
    ),
)
# People act far more often than the world changes, as in a storm.
steps = st.lists(st.one_of(acts, acts, acts, world), max_size=60)


def build(act: Act, number: int) -> Action:
    extra = {"approve": act.approve} if act.kind in (K.REVIEW, K.RESELLER_REVIEW) else {}
    return ACTION_TYPES[act.kind](action_id=f"a-{number}", actor=ACTORS[act.role], **extra)


@dataclass
class Walk:
    application: Application
    refused: list[tuple[UnbindStatus, Act, str]] = field(default_factory=list)
    accepted: list[tuple[UnbindStatus, Act, UnbindStatus]] = field(default_factory=list)
    statuses_at_rest: list[UnbindStatus] = field(default_factory=list)


def walk(
    second_level: bool, card_bound: bool, account_ok: bool, precheck_ok: bool, plan: list[Step]
) -> Walk:
    application = Application(second_level, card_bound, account_ok)
    application.submit(precheck_ok)
    done = Walk(application)
    for number, step in enumerate(plan):
        before = application.status
        if isinstance(step, Act):
            refusal = application.take(build(step, number))
            if refusal is None:
                done.accepted.append((before, step, application.status))
            else:
                done.refused.append((before, step, refusal))
                assert application.status is before, "a refused action changed the state"
        else:
            application.happen(step.event)
        done.statuses_at_rest.append(application.status)
    return done


applications = {
    "second_level": st.booleans(),
    "card_bound": st.booleans(),
    "account_ok": st.booleans(),
    "precheck_ok": st.booleans(),
    "plan": steps,
}


@explore
@given(**applications)
def test_every_sequence_walks_a_legal_path_of_the_spec(
    second_level: bool, card_bound: bool, account_ok: bool, precheck_ok: bool, plan: list[Step]
) -> None:
    done = walk(second_level, card_bound, account_ok, precheck_ok, plan)
    assert is_legal_path(done.application.transitions), done.application.transitions
    # Between steps an application rests only where it waits for people or has ended.
    for status in done.statuses_at_rest:
        assert status in HUMAN_WAITS or status in SPEC_TERMINAL, status


@explore
@given(**applications)
def test_actions_are_accepted_exactly_where_the_spec_allows_them(
    second_level: bool, card_bound: bool, account_ok: bool, precheck_ok: bool, plan: list[Step]
) -> None:
    done = walk(second_level, card_bound, account_ok, precheck_ok, plan)
    for status, act, _ in done.accepted:
        assert spec_allows(act.role, act.kind, status, second_level=second_level), (status, act)
    for status, act, refusal in done.refused:
        assert not spec_allows(act.role, act.kind, status, second_level=second_level)
        if act.role not in ALLOWED_ROLES[act.kind]:
            # A wrong actor is told so first, whatever the state: no leak of it.
            assert refusal.startswith(f"{ACTORS[act.role]} may not {act.kind}"), refusal


@explore
@given(**applications)
def test_wrong_actors_never_change_anything(
    second_level: bool, card_bound: bool, account_ok: bool, precheck_ok: bool, plan: list[Step]
) -> None:
    honest = [s for s in plan if not (isinstance(s, Act) and s.role not in ALLOWED_ROLES[s.kind])]
    with_intruders = walk(second_level, card_bound, account_ok, precheck_ok, plan)
    without = walk(second_level, card_bound, account_ok, precheck_ok, honest)
    assert with_intruders.application.transitions == without.application.transitions


@explore
@given(**applications, after=steps)
def test_an_ended_application_absorbs_everything(
    second_level: bool,
    card_bound: bool,
    account_ok: bool,
    precheck_ok: bool,
    plan: list[Step],
    after: list[Step],
) -> None:
    done = walk(second_level, card_bound, account_ok, precheck_ok, plan)
    application = done.application
    if application.status not in SPEC_TERMINAL:
        application.happen("cancel")
    ended, path = application.status, list(application.transitions)
    assert ended in SPEC_TERMINAL
    for number, step in enumerate(after):
        if isinstance(step, Act):
            refusal = application.take(build(step, number))
            assert refusal is not None
            if step.role in ALLOWED_ROLES[step.kind] and not (
                step.kind is K.REVIEW and not second_level
            ):
                assert refusal == f"the application has already ended as {ended}"
        else:
            application.happen(step.event)
    assert application.status is ended and application.transitions == path


@explore
@given(**applications)
def test_an_accepted_action_moves_the_application_on(
    second_level: bool, card_bound: bool, account_ok: bool, precheck_ok: bool, plan: list[Step]
) -> None:
    """So no second decision is ever accepted in the same stay in a wait; the
    exceptions are a card claim the partner center does not confirm, and a
    recheck whose final check fails again (SPEC section 3: back to waiting for
    a fix, through FINAL_CHECK)."""
    done = walk(second_level, card_bound, account_ok, precheck_ok, plan)
    for before, act, after in done.accepted:
        if after is before:
            assert (act.kind, before) in {
                (K.CARD_BOUND, S.PENDING_CARD_BINDING),
                (K.RECHECK, S.AWAITING_REMEDIATION),
            }, (before, act)


@explore
@given(
    deadline_in=st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=90)),
    offsets=st.lists(
        st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=120)), max_size=5
    ),
    elapsed=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=120)),
)
def test_reminders_fall_strictly_between_now_and_the_deadline_once_each(
    deadline_in: timedelta, offsets: list[timedelta], elapsed: timedelta
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    deadline = start + deadline_in
    now = start + elapsed
    times = rules.reminder_times(deadline=deadline, reminders_before=offsets, now=now)
    assert times == sorted(set(times))
    assert all(now < t < deadline for t in times)
    assert set(times) == {deadline - o for o in offsets if now < deadline - o < deadline}


def test_the_oracle_and_the_rules_agree_on_every_move() -> None:
    """The rules' table is the spec's, move for move (the walks above only
    reach the moves their steps allow)."""
    for before in S:
        for after in S:
            assert rules.is_legal(before, after) == (after in SPEC_NEXT.get(before, ())), (
                before,
                after,
            )
    assert frozenset(s for s in S if s.is_terminal) == SPEC_TERMINAL
