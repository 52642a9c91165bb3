"""What the Web UI lists for a running application: every action of the table
as a signal and an update with the table's description, the ``submission``
update and the ``status`` query (the ``__temporal_workflow_metadata`` query
the Web UI reads)."""

from __future__ import annotations

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.worker import Worker

from tests.conftest import Ledger
from tests.workflows.scenarios import submit
from workflows.actions import ACTIONS
from workflows.contract import STATUS_QUERY, SUBMISSION_UPDATE


async def test_the_web_ui_lists_every_action_with_its_description(
    worker: Worker, ledger: Ledger
) -> None:
    handle, _ = await submit(worker.client, worker.task_queue, ledger.direct(card=True))
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    definition = metadata.definition
    signals = {d.name: d.description for d in definition.signal_definitions}
    updates = {d.name: d.description for d in definition.update_definitions}
    queries = {d.name: d.description for d in definition.query_definitions}

    by_name = {kind.value: spec.description for kind, spec in ACTIONS.items()}
    assert len(by_name) == 7
    assert signals == by_name
    assert {name: updates[name] for name in by_name} == by_name
    assert set(updates) == set(by_name) | {SUBMISSION_UPDATE}
    assert updates[SUBMISSION_UPDATE]
    assert queries[STATUS_QUERY]
    assert "Status:" in metadata.current_details
    await handle.terminate("test over")
