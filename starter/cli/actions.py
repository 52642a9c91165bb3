"""People's actions: one ``unbind`` command per row of ``workflows.actions.ACTIONS``.

Each command takes ``--customer``, ``--as``, one option per field of the
action's model (``reason`` -> ``--reason``; a yes/no field such as ``approve``
-> a flag pair, ``--approve/--reject``), ``--action-id`` and ``--json``, and
sends the action as an update through the client API. Adding a row to the
table adds its command; nothing here names an action.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import click
from pydantic.fields import FieldInfo

from starter.cli.app import (
    actor_option,
    cli,
    customer_option,
    json_option,
    reason_option,
    switch_option,
    temporal,
)
from starter.cli.output import action_text, emit
from starter.cli.types import ACTION_ID, Validated
from starter.errors import BadInput
from starter.inputs import build_action
from workflows.actions import ACTIONS, ActionSpec
from workflows.contract import workflow_id_for
from workflows.model import Action

_FLAG_PAIRS: Mapping[str, tuple[str, str]] = {
    "approve": ("--reject", "The decision (one is required)."),
}
"""Yes/no fields whose "no" has a name of its own (default: ``--no-<field>``)."""

_OWN_OPTIONS: Mapping[str, Callable[[Any], Any]] = {"reason": reason_option}
"""Fields every command that takes them spells the same way (``apply`` too)."""

_EVERY_ACTIONS_FIELDS = frozenset(Action.model_fields)
"""``actor`` and ``action_id``: ``--as`` and ``--action-id``."""

_action_id_option = click.option(
    "--action-id",
    type=ACTION_ID,
    help="Send an earlier action again under the id it printed (default: a new id); "
    "an action already taken has no second effect.",
)


@dataclass(frozen=True)
class _FieldOption:
    """The option that carries one field of an action's model."""

    field: str
    option: str
    decorate: Callable[[Any], Any]
    when_missing: str | None = None
    """What to say when a required yes/no field was not given (a flag pair
    cannot be required by click itself)."""


def _option_for(name: str, field: FieldInfo) -> _FieldOption:
    option = "--" + name.replace("_", "-")
    if name in _OWN_OPTIONS:
        return _FieldOption(name, option, _OWN_OPTIONS[name])
    if field.annotation is bool:
        negative, help_text = _FLAG_PAIRS.get(
            name, ("--no-" + name.replace("_", "-"), field.description or "")
        )
        return _FieldOption(
            name,
            option,
            switch_option(option, negative, name, help_text),
            f"pass {option} or {negative}" if field.is_required() else None,
        )
    annotation = (
        Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
    )
    return _FieldOption(
        name,
        option,
        click.option(
            option,
            name,
            type=Validated(name.upper(), annotation),
            required=field.is_required(),
            help=field.description,
        ),
    )


def _field_options(model: type[Action]) -> list[_FieldOption]:
    return [
        _option_for(name, field)
        for name, field in model.model_fields.items()
        if name not in _EVERY_ACTIONS_FIELDS
    ]


def _act(customer: str, action: Action, as_json: bool) -> None:
    result = temporal(lambda client: client.act(customer, action))
    workflow_id = workflow_id_for(customer)
    data = {
        **result.model_dump(mode="json"),
        "workflow_id": workflow_id,
        "action_id": action.action_id,
    }
    emit(as_json, data, lambda: action_text(workflow_id, result))
    if not result.accepted:
        raise click.exceptions.Exit(1)


def action_command(spec: ActionSpec, group: click.Group = cli) -> click.Command:
    """The command of one row of ``ACTIONS``, added to ``group``."""
    fields = _field_options(spec.model)

    def act(customer: str, actor: str, action_id: str | None, as_json: bool, **values: Any) -> None:
        for field in fields:
            if field.when_missing and values.get(field.field) is None:
                raise BadInput(field.option, field.when_missing)
        given = {name: value for name, value in values.items() if value is not None}
        _act(customer, build_action(spec.model, actor=actor, action_id=action_id, **given), as_json)

    command: Callable[..., None] = act
    options: list[Callable[[Any], Any]] = [
        customer_option,
        actor_option,
        *(field.decorate for field in fields),
        _action_id_option,
        json_option,
    ]
    for decorate in reversed(options):
        command = decorate(command)
    return group.command(spec.command, help=spec.help)(command)


ACTION_COMMANDS = {spec.kind: action_command(spec) for spec in ACTIONS.values()}
