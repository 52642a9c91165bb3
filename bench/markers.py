"""Reading local activities out of a history: each is a marker recording its
type and result (not its input), where a server-side activity is an
``ActivityTaskScheduled`` event."""

from __future__ import annotations

import json

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

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
