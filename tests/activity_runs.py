"""Which activities a history ran, server-side or local.

A server-side activity is an ``ActivityTaskScheduled`` event carrying its
input; a local activity (the partner center's short steps, issue 12) is a
marker recording its type and result, not its input.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from bench.markers import local_activity_type


def activity_types(history: WorkflowHistory) -> list[str]:
    """Every activity the history ran, in order, by type."""
    types = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            types.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        elif (local := local_activity_type(event)) is not None:
            types.append(local)
    return types
