"""Every ``workflow.patched`` id of the workflow, in one place: each guards a
change to the workflow's commands so that histories recorded before it replay
(docs/DEVELOPING.md, "Changing workflow code safely")."""

from __future__ import annotations

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
