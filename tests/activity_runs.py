"""Which activities a history ran, server-side or local.

A server-side activity is an ``ActivityTaskScheduled`` event carrying its
input; a local activity (the partner center's short steps, issue 12) is a
marker recording its type and result, not its input.
"""

from __future__ import annotations

import json

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

LOCAL_ACTIVITY_MARKER = "core_local_activity"


def local_activity_type(event: HistoryEvent) -> str | None:
    """The activity type of a local activity's marker, else None."""
    if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
        return None
    marker = event.marker_recorded_event_attributes
    if marker.marker_name != LOCAL_ACTIVITY_MARKER:
        return None
    [data] = marker.details["data"].payloads
    return str(json.loads(data.data)["activity_type"])


def activity_types(history: WorkflowHistory) -> list[str]:
    """Every activity the history ran, in order, by type."""
    types = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            types.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        elif (local := local_activity_type(event)) is not None:
            types.append(local)
    return types
