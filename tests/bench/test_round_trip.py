"""bench.round_trip splits every round trip of a real history: one span per
activity and per workflow task, on the real dev server."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from bench.round_trip import measure

pytestmark = pytest.mark.integration


async def test_each_activity_and_workflow_task_of_a_run_is_one_span(
    dev_env: WorkflowEnvironment,
) -> None:
    result = await measure(dev_env.client, runs=2, activities=3)
    # Per run: 3 activities, and a workflow task to start plus one after each activity.
    assert result["activity dispatch"]["n"] == 2 * 3
    assert result["activity on worker"]["n"] == 2 * 3
    assert result["workflow task dispatch"]["n"] == 2 * 4
    assert result["workflow task on worker"]["n"] == 2 * 4
    assert result["end to end (client)"]["n"] == 2
    # The client waits at least as long as the server's history spans.
    assert result["end to end (client)"]["median_ms"] >= result["history span"]["median_ms"]
    assert all(span["median_ms"] >= 0 for span in result.values())
