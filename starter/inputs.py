"""Every request of the client API, built and validated before Temporal is
contacted: bad input is a :class:`~starter.errors.BadInput` naming the field
(as the ``unbind`` option that carries it) and the rule, and starts, signals
or writes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NotRequired, TypedDict, TypeVar, Unpack
from uuid import uuid4

from pydantic import BaseModel, ValidationError

from starter.errors import OPTION_NAMES, BadInput, bad_input_from
from workflows.actions import ACTIONS
from workflows.fields import NEW_TEXT, Uin
from workflows.model import (
    Action,
    ActionKind,
    ApplicationInput,
    DeadlineActions,
    Deadlines,
    DecisionAction,
    Effective,
    Requester,
)
from workflows.notice import CURRENT, Consent

_M = TypeVar("_M", bound=BaseModel)
_A = TypeVar("_A", bound=Action)


class _CustomerRef(BaseModel):
    customer_uin: Uin


def validated(
    build: type[_M], fields: Mapping[str, Any], *, options: Mapping[str, str] = OPTION_NAMES
) -> _M:
    """``build`` from ``fields``, or :class:`BadInput` naming the first bad field.

    Free text is held to the rule for new text (one visible line:
    :func:`~workflows.model.new_text_problem`) here, at the edge; the models
    the workflow decodes stay as lenient as the values already recorded."""
    try:
        return build.model_validate(fields, context={NEW_TEXT: True})
    except ValidationError as error:
        raise bad_input_from(error, options=options) from None


def revalidated(message: _M, expected: type[_M]) -> _M:
    """A message checked again before it leaves: one made with
    ``model_construct`` or mutated after building skipped validation."""
    if not isinstance(message, expected):
        raise BadInput(None, f"expected {expected.__name__}, got {type(message).__name__}")
    return validated(type(message), message.model_dump(warnings=False))


def customer_ref(customer_uin: str) -> str:
    """The customer UIN, validated; raises :class:`BadInput` naming ``--customer``."""
    return validated(_CustomerRef, {"customer_uin": customer_uin}).customer_uin


class ApplicationFields(TypedDict):
    """What a caller says about an application; the rest is filled in."""

    customer_uin: str
    initiator_uin: str
    notice_acknowledged: bool
    submitter_uin: NotRequired[str | None]
    """The account actually submitting (default: the initiator): its root
    account, or one of its sub-users, which the precondition checks refuse."""
    reason: NotRequired[str | None]
    deadlines: NotRequired[Deadlines | None]
    """Default: the settings' deadlines (see :func:`build_deadlines`)."""
    notice_version: NotRequired[str | None]
    """Default: the current version of ``workflows.notice`` (with its hash)."""
    notice_sha256: NotRequired[str | None]
    application_id: NotRequired[str | None]
    """Default: a fresh one. Only an absent id is generated: an empty one is a
    caller's bug."""
    requested_by: NotRequired[Requester | str]
    """Default: the reseller. ``customer``: the customer applies for itself
    (``initiator_uin`` is then the customer's own UIN)."""
    effective: NotRequired[Effective | str]
    """When the cutover takes effect: ``at_once`` (default) or ``end_of_month``."""


def build_application(**fields: Unpack[ApplicationFields]) -> ApplicationInput:
    """A validated application, acknowledged now; raises :class:`BadInput`."""
    given: dict[str, Any] = dict(fields)
    defaults = {
        "application_id": uuid4().hex,
        "deadlines": Deadlines(),
        "submitter_uin": given.get("initiator_uin"),
        # The notice this client shows (``unbind notice``), kept as evidence.
        "notice_version": CURRENT.version,
        "notice_sha256": CURRENT.sha256(acknowledged_text(given.get("requested_by"))),
    }
    for name, default in defaults.items():
        if given.get(name) is None and default is not None:
            given[name] = default
    return validated(ApplicationInput, {**given, "acknowledged_at": datetime.now(UTC)})


def acknowledged_text(requested_by: Requester | str | None) -> Consent:
    """The text a submitter acknowledges: the reseller's notice, or the
    customer's own request text."""
    return Consent.REQUEST if requested_by == Requester.CUSTOMER else Consent.NOTICE


def build_deadlines(
    on_deadline: Mapping[str, str] | None = None, **overrides: timedelta | None
) -> Deadlines:
    """Per-application deadlines: defaults, with the given waits overridden
    (``reseller_review``, ``distributor_review``, ``customer_confirmation``,
    ``card_binding``, ``remediation``) within the bounds in settings, and what
    each wait's deadline does (``on_deadline``: wait -> ``expire``, ``approve``
    or ``distributor``; see ``workflows.model.DEADLINE_CHOICES``)."""
    fields: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    if on_deadline:
        fields["on_deadline"] = validated(DeadlineActions, on_deadline)
    return validated(Deadlines, fields)


def build_action(kind: type[_A], *, actor: str, action_id: str | None = None, **fields: Any) -> _A:
    """A validated action with a fresh ``action_id`` unless one is given."""
    # Only an absent id is generated: an empty one silently replaced would make
    # every retry of the caller a new action.
    action_id = action_id if action_id is not None else uuid4().hex
    return validated(kind, {"actor": actor, "action_id": action_id, **shown(kind, fields)})


def shown(kind: type[Action], fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields``, and for a decision the hash of the text this client shows
    (the current one, ``unbind notice``) unless the caller named one."""
    if issubclass(kind, DecisionAction) and fields.get("text_sha256") is None:
        return {**fields, "text_sha256": CURRENT.sha256(kind.consent)}
    return dict(fields)


def action_of_kind(
    kind: ActionKind | str, *, actor: str, action_id: str | None = None, **fields: Any
) -> Action:
    """The action of that kind (``workflows.actions.ACTIONS``), validated."""
    try:
        spec = ACTIONS[ActionKind(kind)]
    except ValueError:
        known = ", ".join(k.value for k in ACTIONS)
        raise BadInput(None, f"unknown action {kind!r}: one of {known}") from None
    return build_action(spec.model, actor=actor, action_id=action_id, **fields)
