"""What each application left behind, against what its path must produce:
final status, record, cutover, invalidated agreement, system messages (the
exact set of (event, recipient) pairs, reminders by offset), and one accepted
timeline entry per action sent — each exactly once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from temporalio.client import WorkflowExecutionStatus

from activities.sql import SqlPartnerCenter
from activities.sql.schema import AgreementState
from chaos.plans import Application, normalized_event
from chaos.settings import ChaosSettings
from workflows.model import UnbindingState


@dataclass
class Verdict:
    application: Application
    lost: list[str] = field(default_factory=list)
    """Effects missing, or the wrong outcome."""
    duplicated: list[str] = field(default_factory=list)
    """Effects beyond what the path produces."""
    stuck: bool = False

    @property
    def as_expected(self) -> bool:
        return not (self.lost or self.duplicated or self.stuck)

    @property
    def duplicate_count(self) -> int:
        return len(self.duplicated)


def _compare(verdict: Verdict, what: str, expected: int, actual: int) -> None:
    if actual < expected:
        verdict.lost.append(f"{what}: {actual} instead of {expected}")
    elif actual > expected:
        verdict.duplicated.extend([f"{what}: {actual} instead of {expected}"] * (actual - expected))


def verify(
    application: Application,
    state: UnbindingState | None,
    run_status: WorkflowExecutionStatus | None,
    pc: SqlPartnerCenter,
    settings: ChaosSettings,
) -> Verdict:
    verdict = Verdict(application)
    expected_status = application.plan.outcome
    if run_status is WorkflowExecutionStatus.RUNNING:
        verdict.stuck = True
    elif run_status is None:
        verdict.lost.append("workflow not found")
    elif run_status is not WorkflowExecutionStatus.COMPLETED:
        verdict.lost.append(f"workflow {run_status.name}")
    elif state is None or state.status is not expected_status:
        verdict.lost.append(f"ended {state.status if state else None}, not {expected_status}")
    if application.driver_error and not verdict.stuck:
        verdict.lost.append(f"driver: {application.driver_error}")
    verdict.lost.extend(application.refusals)

    records = pc.records(application.customer)
    mine = [r for r in records if r.application_id == application.application_id]
    _compare(verdict, "records", application.expected_records, len(mine))
    _compare(verdict, "records of the customer", application.expected_records, len(records))
    if mine and not verdict.stuck and mine[0].status is not expected_status:
        verdict.lost.append(f"record says {mine[0].status}")

    cutovers = application.expected_cutovers
    _compare(
        verdict,
        "cutovers",
        cutovers,
        pc.count("cutovers", application_id=application.application_id),
    )
    _compare(
        verdict,
        "cutovers of the customer",
        cutovers,
        pc.count("cutovers", customer_uin=application.customer),
    )
    invalidated = pc.count(
        "agreements", customer_uin=application.customer, state=AgreementState.INVALIDATED.value
    )
    _compare(verdict, "agreement invalidations", cutovers, invalidated)
    by_this = pc.count("agreements", invalidated_by_application=application.application_id)
    if by_this != invalidated:
        verdict.duplicated.append("agreement invalidated by another application")
    bound_to = pc.account(application.customer)
    still_bound = bound_to is not None and bound_to.partner_uin == application.initiator
    if still_bound == bool(cutovers) and not verdict.stuck:
        verdict.lost.append(f"customer {'still' if still_bound else 'no longer'} bound")

    # Every message of the application, whoever got it: the set of (event,
    # recipient) pairs must be the plan's, each pair exactly once.
    expected_inbox = application.expected_inbox(settings)
    actual_inbox = Counter(
        (normalized_event(event), uin) for event, uin in pc.deliveries(application.application_id)
    )
    for event, uin in sorted(set(actual_inbox) - set(expected_inbox)):
        count = actual_inbox[(event, uin)]
        verdict.duplicated.extend([f"message {event} to {uin}: not in the plan"] * count)
    for event, uin in sorted(set(expected_inbox)):
        _compare(
            verdict,
            f"message {event} to {uin}",
            expected_inbox[(event, uin)],
            actual_inbox[(event, uin)],
        )

    if state is not None:
        accepted = Counter(e.action_id for e in state.timeline if e.accepted and e.action_id)
        for action_id in application.action_ids:
            _compare(verdict, f"accepted action {action_id}", 1, accepted[action_id])
    return verdict
