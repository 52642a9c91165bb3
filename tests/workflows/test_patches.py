"""How the workflow asks its patches: a run started on today's code records one
marker (``EVERY_PATCH_AT_THE_START``) and no local activity; a run that took
issue 12's path before decides every patch with its first read
(``workflows.publishing.local_steps``): a patch left out could be asked after a
local activity split a task, and answer otherwise on replay (found by the
fault suite's worker kills)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

import workflows
from tests.conftest import Ledger, running_worker
from tests.workflows.record_histories import direct_happy_path
from workflows.patches import (
    EVERY_PATCH_AT_THE_START,
    LATER_PATCHES,
    LOCAL_STEPS_PATCH,
    PARTY_SIGNALS_REFUSED_PATCH,
    SECOND_GENERATION,
)

WORKFLOWS = Path(workflows.__file__).parent


def _patch_ids() -> set[str]:
    asked = set()
    for module in pkgutil.iter_modules(workflows.__path__):
        loaded = importlib.import_module(f"workflows.{module.name}")
        asked |= {
            value
            for name, value in vars(loaded).items()
            if name.endswith("_PATCH") and isinstance(value, str)
        }
    return asked


def test_every_patch_of_the_workflow_is_decided_with_the_local_steps() -> None:
    # The signing policy's marker means the policy applies: asked first in
    # every run (``Intake.party_signals_refused``), never asked to decide it.
    assert _patch_ids() - {LOCAL_STEPS_PATCH, PARTY_SIGNALS_REFUSED_PATCH} == set(LATER_PATCHES)
    assert len(LATER_PATCHES) == len(set(LATER_PATCHES))


def test_later_patches_are_asked_only_through_the_start_marker() -> None:
    """A ``workflow.patched`` asked directly would write a marker in a run that
    started with every patch: only the start marker, the signing policy and
    the older runs' decisions in ``local_steps`` ask the SDK themselves."""
    direct = {
        (path.name, match.group(1))
        for path in WORKFLOWS.glob("*.py")
        for match in re.finditer(r"workflow\.patched\((\w+)\)", path.read_text())
    }
    assert direct == {
        ("patches.py", "EVERY_PATCH_AT_THE_START"),
        ("patches.py", "SECOND_GENERATION"),
        ("patches.py", "patch_id"),
        ("intake.py", "PARTY_SIGNALS_REFUSED_PATCH"),
        ("publishing.py", "LOCAL_STEPS_PATCH"),
        ("publishing.py", "patch"),
    }


async def test_a_new_run_records_one_patch_marker_and_no_local_activity(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, ledger.pc, executor) as worker:
        handle = await direct_happy_path(client, worker.task_queue, ledger)
        await handle.result()
        history = await handle.fetch_history()
    markers = [
        event.marker_recorded_event_attributes
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]
    assert [marker.marker_name for marker in markers] == ["core_patch"]
    # The newest generation's marker alone: it implies the older one.
    decided = json.loads(markers[0].details["patch-data"].payloads[0].data)
    assert decided["id"] == SECOND_GENERATION != EVERY_PATCH_AT_THE_START
    scheduled = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    # Server-side activities only, and no write after the cutover: it wrote the ending.
    assert scheduled == ["check_application", "commit", "check_account", "cut_over"]
