"""An action the workflow took but did not answer in time (issue 9).

When the workflow is busy, the CLI gives up waiting for the update's answer and
exits 3; the action may still be accepted. The caller must learn the
``action_id`` to retry with, and every action command takes ``--action-id`` so
that the retry is the same update and has no second effect.

Temporal is a stand-in here that never answers the first call and answers the
second: the CLI's side of the contract, without a server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from starter.cli import cli
from starter.client import UnbindingClient
from workflows.actions import ACTIONS
from workflows.model import ActionResult, UnbindStatus

CUSTOMER, RESELLER, DISTRIBUTOR = "20000000001", "10000000002", "10000000001"

# Each action command with the options it needs besides --customer and --as.
COMMAND_LINES = {
    "reseller-review": ["--approve"],
    "review": ["--approve"],
    "confirm": [],
    "reject": ["--reason", "we stay"],
    "card-bound": [],
    "withdraw": [],
    "recheck": [],
}


class SilentOnceTemporal:
    """Answers no update the first time it sees its id, then accepts it."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, str]] = []
        """(update name, update id) of every call."""
        self.action_ids: list[str] = []
        """The ``action_id`` each call carried (the update id is derived from
        the whole action: ``workflows.contract.update_id_for``)."""

    def config(self) -> dict[str, Any]:
        return {}  # no interceptors: it signs nothing

    def get_workflow_handle(self, workflow_id: str, **_: Any) -> SilentOnceTemporal:
        return self

    async def execute_update(self, name: str, arg: Any, *, id: str, **_: Any) -> ActionResult:
        first_time = all(update_id != id for _, update_id in self.updates)
        self.updates.append((name, id))
        self.action_ids.append(arg.action_id)
        if first_time:
            await asyncio.Event().wait()  # the workflow is busy: no answer, ever
        return ActionResult(accepted=True, status=UnbindStatus.PENDING_CARD_BINDING)


@pytest.fixture
def temporal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SilentOnceTemporal]:
    fake = SilentOnceTemporal()

    async def connect(cls: type[UnbindingClient], **_: Any) -> UnbindingClient:
        return cls(fake, answer_timeout=timedelta(milliseconds=100))  # type: ignore[arg-type]

    monkeypatch.setattr(UnbindingClient, "connect", classmethod(connect))
    monkeypatch.setenv("UNBIND_DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    yield fake


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_every_action_command_is_covered() -> None:
    assert set(COMMAND_LINES) == {spec.command for spec in ACTIONS.values()}


@pytest.mark.parametrize("command", COMMAND_LINES)
def test_an_unanswered_action_prints_the_id_to_retry_with(
    command: str, temporal: SilentOnceTemporal
) -> None:
    first = run(command, "--customer", CUSTOMER, "--as", RESELLER, *COMMAND_LINES[command])

    assert first.exit_code == 3, first.output
    [(_, update_id)] = temporal.updates
    [action_id] = temporal.action_ids
    assert first.stderr.startswith("unreachable: ")
    assert f"--action-id {action_id}" in first.stderr
    assert "Traceback" not in first.stderr

    retried = run(
        command,
        "--customer",
        CUSTOMER,
        "--as",
        RESELLER,
        *COMMAND_LINES[command],
        "--action-id",
        action_id,
    )

    assert retried.exit_code == 0, retried.output
    assert temporal.action_ids == [action_id, action_id]
    assert [sent for _, sent in temporal.updates] == [update_id, update_id], "not the same update"


def test_the_json_error_carries_the_action_id(temporal: SilentOnceTemporal) -> None:
    first = run("confirm", "--customer", CUSTOMER, "--as", CUSTOMER, "--json")

    assert first.exit_code == 3, first.output
    error = json.loads(first.stdout)
    [(name, update_id)] = temporal.updates
    [action_id] = temporal.action_ids
    assert name == "confirm"
    assert error["action_id"] == action_id
    assert error["field"] is None

    retried = run(
        "confirm", "--customer", CUSTOMER, "--as", CUSTOMER, "--action-id", action_id, "--json"
    )

    assert retried.exit_code == 0, retried.output
    assert [sent for _, sent in temporal.updates] == [update_id, update_id], "not the same update"
    answer = json.loads(retried.stdout)
    assert answer["accepted"] is True
    assert answer["action_id"] == action_id


def test_a_chosen_action_id_is_sent_and_names_the_update(temporal: SilentOnceTemporal) -> None:
    run("review", "--customer", CUSTOMER, "--as", DISTRIBUTOR, "--reject", "--action-id", "ui-42")

    assert temporal.action_ids == ["ui-42"]
    name, update_id = temporal.updates[0]
    assert name == "review" and "ui-42" in update_id


@pytest.mark.parametrize("bad", ["", "has space", "x" * 129, "émoji", "a/b"])
def test_a_malformed_action_id_exits_2_naming_the_option(
    bad: str, temporal: SilentOnceTemporal
) -> None:
    result = run("withdraw", "--customer", CUSTOMER, "--as", RESELLER, "--action-id", bad, "--json")

    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)
    assert error["field"] == "--action-id"
    assert "must be 1-128 letters, digits or ._:@-" in error["error"]
    assert temporal.updates == []
