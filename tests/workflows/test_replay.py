"""Applications already in flight must survive every change to the workflow
code: each recorded history (one per path, see record_histories.py) replays
against the current code without a nondeterminism error."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.unbinding import UnbindingWorkflow

HISTORIES_DIR = Path(__file__).parent / "histories"
# Older generations live in subfolders and must keep replaying too.
HISTORIES = sorted(HISTORIES_DIR.rglob("*.json"))


def test_every_path_has_a_recorded_history() -> None:
    from tests.workflows.record_histories import GATED_PATHS, PATHS, SIGNED_PATHS

    current = {p.stem for p in HISTORIES_DIR.glob("*.json")}
    assert current >= {path.__name__ for path in [*PATHS, *GATED_PATHS, *SIGNED_PATHS]}


@pytest.mark.parametrize(
    "history_file", HISTORIES, ids=lambda p: str(p.relative_to(HISTORIES_DIR).with_suffix(""))
)
async def test_recorded_history_replays_on_current_code(history_file: Path) -> None:
    history = WorkflowHistory.from_json(history_file.stem, history_file.read_text())
    replayer = Replayer(workflows=[UnbindingWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
