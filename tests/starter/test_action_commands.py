"""The action commands are generated from ``workflows.actions.ACTIONS``: a new
row becomes a command whose options follow its model's fields, with no edit
in the CLI. Shown here with a made-up action on a group of its own."""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar

import click
import pytest
from click.testing import CliRunner
from pydantic import StrictBool, StringConstraints

from starter.cli.actions import action_command
from starter.cli.app import UnbindGroup
from starter.client import UnbindingClient
from workflows.actions import ActionSpec, Decision
from workflows.fields import Reason
from workflows.model import Action, ActionKind, ActionResult, UnbindStatus

CUSTOMER = "20000000001"


class EscalateAction(Action):
    kind: ClassVar[ActionKind] = ActionKind.RECHECK
    urgent: StrictBool
    ticket: Annotated[str, StringConstraints(pattern=r"^T-[0-9]{1,9}$")]
    reason: Reason | None = None


ESCALATE = ActionSpec(
    kind="escalate",  # type: ignore[arg-type]
    model=EscalateAction,
    accepted_in=frozenset({UnbindStatus.AWAITING_REMEDIATION}),
    actor_rule="anyone",
    may_act=lambda actor, roles: True,
    description="Ask an operator to look at the application.",
    help="Ask an operator to look at the application.",
    decision=Decision.RECHECK,
    command="escalate",
)


@pytest.fixture
def group() -> click.Group:
    @click.group(cls=UnbindGroup)
    def unbind() -> None:
        """A group of its own, so the real one stays as it is."""

    action_command(ESCALATE, unbind)
    return unbind


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Action]]:
    actions: list[tuple[str, Action]] = []

    class Answering:
        async def act(self, customer: str, action: Action) -> ActionResult:
            actions.append((customer, action))
            return ActionResult(accepted=True, status=UnbindStatus.FINAL_CHECK)

    async def connect(cls: type[UnbindingClient], **_: Any) -> Answering:
        return Answering()

    monkeypatch.setattr(UnbindingClient, "connect", classmethod(connect))
    return actions


def test_a_new_row_is_a_command_with_its_models_fields_as_options(group: click.Group) -> None:
    command = group.commands["escalate"]
    options = [param.opts for param in command.params if isinstance(param, click.Option)]

    assert options == [
        ["--customer"],
        ["--as"],
        ["--urgent"],
        ["--no-urgent"],
        ["--ticket"],
        ["--reason"],
        ["--action-id"],
        ["--json"],
    ]
    assert command.help == ESCALATE.description
    assert "--no-urgent" in CliRunner().invoke(group, ["escalate", "--help"]).output


def test_the_new_command_sends_the_action(
    group: click.Group, sent: list[tuple[str, Action]]
) -> None:
    args = ["escalate", "--customer", CUSTOMER, "--as", "operator:alice", "--urgent"]

    result = CliRunner().invoke(group, [*args, "--ticket", "T-42", "--json"])

    assert result.exit_code == 0, result.output
    [(customer, action)] = sent
    assert customer == CUSTOMER
    assert isinstance(action, EscalateAction)
    assert (action.urgent, action.ticket, action.reason) == (True, "T-42", None)
    assert json.loads(result.stdout)["action_id"] == action.action_id


@pytest.mark.parametrize(
    ("args", "field", "rule"),
    [
        (["--urgent", "--ticket", "42"], "--ticket", "has the wrong format"),
        (["--ticket", "T-1"], "--urgent", "pass --urgent or --no-urgent"),
        (["--urgent"], "--ticket", "Missing option"),
        (["--urgent", "--no-urgent", "--ticket", "T-1"], "--urgent", "pass one or the other"),
    ],
    ids=["bad ticket", "no decision", "no ticket", "both decisions"],
)
def test_its_fields_are_validated_before_anything_is_sent(
    args: list[str], field: str, rule: str, group: click.Group, sent: list[tuple[str, Action]]
) -> None:
    base = ["escalate", "--customer", CUSTOMER, "--as", "operator:alice"]

    result = CliRunner().invoke(group, [*base, *args, "--json"])

    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)
    assert error["field"] == field
    assert rule in error["error"]
    assert sent == []
