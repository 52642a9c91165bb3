"""Business metrics, recorded through ``workflow.metric_meter()``.

That meter records nothing while a worker replays a history, so a run's
events are counted once however often it is replayed (cache eviction, a
worker restart). Recording a metric issues no command: adding or moving these
calls leaves every recorded history replayable. The names are the contract
with ``ops/grafana`` and ``ops/prometheus`` (tests/observability checks it);
a Prometheus endpoint adds ``_total`` to counters.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

APPLICATIONS_STARTED = "unbinding_applications_started"
APPLICATIONS_ENDED = "unbinding_applications_ended"
ACTIONS = "unbinding_actions"
WAIT_DURATION = "unbinding_wait_duration_seconds"
REMINDERS_SENT = "unbinding_reminders_sent"
RECHECKS = "unbinding_rechecks"
DEADLINES_PASSED = "unbinding_deadlines_passed"


def application_started() -> None:
    """A new application's first run began checking its preconditions."""
    workflow.metric_meter().create_counter(
        APPLICATIONS_STARTED, "Applications submitted and started"
    ).add(1)


def application_ended(outcome: str) -> None:
    workflow.metric_meter().create_counter(
        APPLICATIONS_ENDED, "Applications that reached a terminal status, by outcome"
    ).add(1, {"outcome": outcome})


def action_answered(kind: str, *, accepted: bool) -> None:
    """An action (or an operator's or the system's step) accepted or refused."""
    workflow.metric_meter().create_counter(ACTIONS, "Actions accepted and refused, by kind").add(
        1, {"kind": kind, "answer": "accepted" if accepted else "refused"}
    )


def wait_ended(wait: str, waited: timedelta) -> None:
    """The application left the human wait ``wait`` after ``waited``."""
    workflow.metric_meter().create_histogram_timedelta(
        WAIT_DURATION, "Time spent in each human wait", "s"
    ).record(max(waited, timedelta(0)), {"wait": wait})


def reminder_sent(wait: str) -> None:
    workflow.metric_meter().create_counter(
        REMINDERS_SENT, "Reminders sent before a wait's deadline"
    ).add(1, {"wait": wait})


def recheck(trigger: str) -> None:
    """A recheck of a failed final check: ``requested`` by the initiator or ``scheduled``."""
    workflow.metric_meter().create_counter(
        RECHECKS, "Rechecks of the account while awaiting remediation"
    ).add(1, {"trigger": trigger})


def deadline_passed(wait: str) -> None:
    workflow.metric_meter().create_counter(
        DEADLINES_PASSED, "Human waits that reached their deadline"
    ).add(1, {"wait": wait})
