"""Every duration and limit of the process, in one place.

Deadlines here are defaults: each application may override them within the
bounds below, and the resolved values are recorded in the workflow input.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import RetryPolicy


@dataclass(frozen=True)
class ActivityPolicy:
    start_to_close: timedelta
    retry: RetryPolicy
    # A read runs as a local activity: inside the workflow task that asked for
    # it, with no round trip through the server (issue 12), but only in runs
    # recorded before ``EVERY_PATCH_AT_THE_START`` (``publishing.reads_locally``
    # and workflows/patches.py say why no longer). A write never
    # does: a local activity runs again, perhaps with other arguments, when
    # the task that ran it is not recorded (a worker crash, or the server
    # refusing a completion while actions arrive), and its first run would
    # leave a record or a message about a path the application never took.
    # A server-side activity runs only once its command is in the history.
    local: bool = False


def backing_off(*, up_to: timedelta) -> RetryPolicy:
    """Retried from one second on, doubling up to ``up_to`` between attempts,
    with no maximum attempts; a ``RelationshipConflict`` is a business
    refusal, never retried."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=up_to,
        non_retryable_error_types=["RelationshipConflict"],
    )


_PARTNER_CENTER = ActivityPolicy(
    start_to_close=timedelta(seconds=30), retry=backing_off(up_to=timedelta(minutes=1))
)
_PARTNER_CENTER_LOCALLY = dataclasses.replace(_PARTNER_CENTER, local=True)


@dataclass(frozen=True)
class Settings:
    # Human waits (SPEC section 3, "Deadlines").
    reseller_review_deadline: timedelta = timedelta(days=10)
    distributor_review_deadline: timedelta = timedelta(days=10)
    customer_confirmation_deadline: timedelta = timedelta(days=10)
    card_binding_deadline: timedelta = timedelta(days=10)
    remediation_deadline: timedelta = timedelta(days=7)
    reminders_before: tuple[timedelta, ...] = (timedelta(days=3), timedelta(days=1))
    auto_recheck_every: timedelta = timedelta(hours=6)

    # Bounds on per-application overrides: short enough to test, long enough
    # that no wait is forgotten.
    min_deadline: timedelta = timedelta(minutes=1)
    max_deadline: timedelta = timedelta(days=90)
    min_auto_recheck_every: timedelta = timedelta(seconds=30)
    max_reminders: int = 5

    max_reason_length: int = 500
    # A hostile or buggy client can send endless rejected actions; past this
    # many timeline entries, rejected attempts are counted but not stored.
    max_timeline_entries: int = 500

    # History bound. A waiting application continues as new (same state, same
    # absolute deadline) when the server suggests it or, as a backstop, past
    # these sizes; Temporal warns at 10,240 events / 10 MB and ends the
    # execution at 51,200 events / 50 MB.
    continue_as_new_after_events: int = 8_000
    continue_as_new_after_bytes: int = 8 * 1024 * 1024
    # What a continued run remembers of earlier actions: the most recent answers
    # by action id (accepted and refused kept apart, so a flood of refusals can
    # never push out an accepted answer), and the most recent timeline entries
    # and transitions. An at-least-once client retries within minutes, not after
    # a thousand later actions.
    # Together at most ~0.35 MB carried into each new run (Temporal refuses
    # payloads over 2 MB).
    # How long the API's signature on an action is good for: long enough for the
    # client's resends while a run hands over (seconds) and some clock skew, short
    # enough that a captured header is of little use; also how long a key removed
    # from the rotation must stay after the new one signs (workflows/signing.py).
    signature_lifetime: timedelta = timedelta(minutes=5)
    remembered_accepted_actions: int = 300
    remembered_refused_actions: int = 100
    carried_timeline_entries: int = 300
    carried_transitions: int = 100

    # Reads and idempotent writes against the partner center: retried with
    # backoff for as long as the wait they serve allows.
    partner_center: ActivityPolicy = _PARTNER_CENTER
    partner_center_reads: ActivityPolicy = _PARTNER_CENTER_LOCALLY
    # The one write that may run locally (in those runs only): the last, once
    # the cutover's outcome is in the history. Nothing can change the path from there, so a run
    # again writes the same record and messages (the revision guard and the
    # inbox's key keep the first).
    after_the_cutover: ActivityPolicy = _PARTNER_CENTER_LOCALLY
    # A step that takes seconds (the final check's read, the cutover) is shown in
    # the search attributes once it has lasted this long: usually over sooner,
    # it then costs no upsert (a visibility write each, about as much server
    # CPU as an activity); one that lasts (the partner center down) is listed
    # by the runbook's "stuck" query (docs/OPERATIONS.md).
    step_shown_after: timedelta = timedelta(seconds=5)
    # The irreversible cutover is retried until done: no maximum attempts.
    cutover: ActivityPolicy = ActivityPolicy(
        start_to_close=timedelta(seconds=60), retry=backing_off(up_to=timedelta(minutes=2))
    )


SETTINGS = Settings()
