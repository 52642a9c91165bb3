"""Every ``workflow.patched`` id of the workflow, in one place: each guards a
change to the workflow's commands so that histories recorded before it replay
(docs/DEVELOPING.md, "Changing workflow code safely")."""

from __future__ import annotations

from temporalio import workflow

# Histories recorded before the card was read again on confirmation (the
# card read at submission decided) must replay without that read.
CARD_READ_AFTER_CONFIRMATION_PATCH = "card-read-after-confirmation"

# Histories recorded before an ending answered the claims it left unchecked
# replay without it (asked only when one is left, so other endings write no marker).
ANSWER_AT_THE_END_PATCH = "answer-unchecked-claims-at-the-end"

# Histories recorded before continue-as-new existed must replay without it.
CONTINUE_AS_NEW_PATCH = "continue-as-new-when-history-is-long"
# Histories recorded before reminders were owed from the start of the wait
# (not from when the wait's timers were set) must replay without it.
REMINDERS_OWED_PATCH = "reminders-owed-since-the-wait-began"
# Histories recorded when an action taken while the wait was announced or a
# reminder went out was answered with the status from before it was decided
# replay without it (asked only then, so other histories carry no marker).
ANSWER_AFTER_THE_DECISION_PATCH = "answer-after-the-decision"

# Histories recorded when an action id stood for any action with that id (a
# second party's action was a "repeat") replay without it. Asked only when an
# action's id was used by another action, so other histories carry no marker.
SCOPED_IDS_PATCH = "action-ids-scoped-to-the-action"

# Written in a run's first workflow task when the worker requires signed
# actions, so that run refuses parties' signals for good: a replay reads the
# marker, not the replaying worker's flag or keys (``Intake.party_signals_refused``).
PARTY_SIGNALS_REFUSED_PATCH = "party-signals-refused-under-signing"

# Issue 12: the partner center's reads as local activities and one write per
# state change (``workflows.publishing.local_steps``).
LOCAL_STEPS_PATCH = "local-steps-and-one-write-per-state-change"
# Every other patch the workflow asks, decided together with LOCAL_STEPS_PATCH
# in runs that take it. A local activity can stretch a workflow task past its
# heartbeat, which splits the task's commands over two recorded tasks; a patch
# asked after that split would be asked, on replay, before the SDK has seen
# its marker, and would answer otherwise. Asked before the first local
# activity, every patch's marker is in the first task. Not
# PARTY_SIGNALS_REFUSED_PATCH: its marker means the signing policy applies,
# and the story asks it first thing in every run anyway.
LATER_PATCHES = (
    CARD_READ_AFTER_CONFIRMATION_PATCH,
    ANSWER_AT_THE_END_PATCH,
    CONTINUE_AS_NEW_PATCH,
    REMINDERS_OWED_PATCH,
    ANSWER_AFTER_THE_DECISION_PATCH,
    SCOPED_IDS_PATCH,
)

# Written in a run's first workflow task: the run started on code in which every
# patch above applies. None of them is asked again (one marker and one
# ``TemporalChangeVersion`` upsert instead of seven of each), and the partner
# center's reads and the last write run as server-side activities again. On
# SDK 1.35 a local activity whose result was recorded in a task without what
# the workflow then did (seen after a worker kill -9 in the fault suite, and on
# a worker without a cache) replays that continuation as if it were history: an
# update answered there is sent without its message, the server refuses every
# later task, and the application is stuck for good.
EVERY_PATCH_AT_THE_START = "every-patch-decided-at-the-start"

# The second generation's start marker, implying everything
# EVERY_PATCH_AT_THE_START does: the cutover writes the application's ending
# (its record COMPLETED and the message every party receives) in its own
# transaction, and the two steps that take seconds, the final check's read and
# the cutover, are shown in the search attributes only once they last
# (``UnbindingWorkflow._shown_if_slow``). Runs started with the older marker
# write the ending after the cutover and show each step at once, as they did.
SECOND_GENERATION = "every-patch-decided-at-the-start-2"


def started_with_every_patch() -> bool:
    """Whether this run began on code where every patch above applies. Asked
    first thing in every run (the story's first line, or a handler before it,
    both in the first workflow task), so a run started earlier answers no on
    replay and keeps taking the paths it took. The newest generation is asked
    first: a new run records its marker alone."""
    return second_generation() or workflow.patched(EVERY_PATCH_AT_THE_START)


def second_generation() -> bool:
    """Whether this run started on code of the second generation (``SECOND_GENERATION``)."""
    return workflow.patched(SECOND_GENERATION)


def patched(patch_id: str) -> bool:
    """``workflow.patched(patch_id)``, without a marker of its own in a run that
    started with every patch."""
    return started_with_every_patch() or workflow.patched(patch_id)
