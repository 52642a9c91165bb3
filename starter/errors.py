"""Named errors of the client API, each carrying the ``unbind`` CLI's exit code.

- :class:`BadInput` (2): the request itself is malformed; nothing was started or
  written.
- :class:`Refused` (1): a business rule said no (failed check, wrong actor,
  wrong state, an application already open, no application at all).
- :class:`BadConfiguration` (2): the environment names a database, profile or
  config file that cannot be used; nothing was started or written.
- :class:`Unreachable` (3): Temporal or the database could not be used
  (:class:`ActionUnanswered`: an action was sent but not answered in time).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from workflows.fields import OPERATOR_PATTERN, UIN_PATTERN


class UnbindError(Exception):
    """Base of every error the client API raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadInput(UnbindError):
    """The input breaks a format rule (UIN, reason length, enum, bounds)."""

    exit_code = 2

    def __init__(self, field: str | None, message: str, *, model_field: str | None = None) -> None:
        text = f"{field}: {message}" if field and field not in message else message
        super().__init__(text, field=field)
        self.rule = message
        self.model_field = model_field
        """The model's own name for the field (``customer_uin``), when known."""


class BadConfiguration(UnbindError):
    """The environment is misconfigured (a database URL, a Temporal profile or
    config file): the operator must fix it; nothing was started or written."""

    exit_code = 2

    def __init__(self, variable: str | None, message: str) -> None:
        super().__init__(f"{variable}: {message}" if variable else message, field=variable)


class Refused(UnbindError):
    """A business rule refused the request."""

    exit_code = 1

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message, field=field)


class ApplicationConflict(Refused):
    """The customer already has an open application: one at a time."""

    def __init__(self, open_workflow_id: str, open_run_id: str | None = None) -> None:
        run = f" (run {open_run_id})" if open_run_id else ""
        super().__init__(
            f"an application is already open for this customer: workflow "
            f"{open_workflow_id}{run}; wait for it to end or withdraw it"
        )
        self.open_workflow_id = open_workflow_id
        self.open_run_id = open_run_id


class Unreachable(UnbindError):
    """Temporal or the database could not be reached or used."""

    exit_code = 3

    def __init__(self, message: str) -> None:
        super().__init__(message)


class ActionUnanswered(Unreachable):
    """An action was sent but no answer came: the workflow may be busy and
    accept it later. Sending it again with the same ``action_id`` is safe: it
    answers as the first one did and has no second effect."""

    def __init__(self, message: str, *, action_id: str) -> None:
        super().__init__(message)
        self.action_id = action_id


# ---- pydantic validation errors -> BadInput ---------------------------------

OPTION_NAMES: Mapping[str, str] = {
    "customer_uin": "--customer",
    "initiator_uin": "--initiator",
    "submitter_uin": "--operator",
    "notice_acknowledged": "--acknowledge-notice",
    "actor": "--as",
    "action_id": "--action-id",
    "reason": "--reason",
    "approve": "--approve",
    "text_sha256": "--text-sha256",
    "deadlines.reseller_review": "--reseller-review-days",
    "deadlines.on_deadline": "--on-deadline",
    "on_deadline": "--on-deadline",
    "requested_by": "--requested-by",
    "effective": "--effective",
    "reseller_review": "--reseller-review-days",
    "deadlines.distributor_review": "--review-days",
    "deadlines.customer_confirmation": "--confirmation-days",
    "deadlines.card_binding": "--card-days",
    "deadlines.remediation": "--remediation-days",
    "distributor_review": "--review-days",
    "customer_confirmation": "--confirmation-days",
    "card_binding": "--card-days",
    "remediation": "--remediation-days",
}
"""The CLI option that carries each model field, by dotted field path."""

_PATTERN_RULES: Mapping[str, str] = {
    UIN_PATTERN: "must be 5-20 digits with no leading zero",
    f"{UIN_PATTERN}|{OPERATOR_PATTERN}": (
        "must be a UIN (5-20 digits, no leading zero) or operator:<name>"
    ),
    r"^[A-Za-z0-9._:@-]{1,128}$": "must be 1-128 letters, digits or ._:@-",
    r"^[A-Za-z0-9-]{8,64}$": "must be 8-64 letters, digits or -",
    r"^[0-9a-f]{64}$": "must be a SHA-256: 64 lowercase hex digits",
}

_MAX_ECHOED_VALUE = 40
UNDECODABLE_TEXT_RULE = "must be valid text (it holds bytes that are not UTF-8)"


def describe_duration(value: timedelta) -> str:
    """``timedelta(days=90)`` -> ``90 days``; ``timedelta(minutes=1)`` -> ``1 minute``."""
    seconds = value.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} seconds"


def _bound(limit: Any) -> str:
    return describe_duration(limit) if isinstance(limit, timedelta) else str(limit)


def _rule(error: Mapping[str, Any]) -> str:
    """A short, human statement of the rule the value broke."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        return _PATTERN_RULES.get(ctx.get("pattern", ""), "has the wrong format")
    if kind == "string_too_long":
        return f"at most {ctx['max_length']} characters"
    if kind == "string_too_short":
        return f"at least {ctx['min_length']} characters"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be at least {_bound(ctx.get('ge', ctx.get('gt')))}"
    if kind in ("less_than_equal", "less_than"):
        return f"must be at most {_bound(ctx.get('le', ctx.get('lt')))}"
    if kind == "enum":
        return f"must be one of {ctx.get('expected', '')}".rstrip()
    if kind == "missing":
        return "is required"
    if kind == "string_unicode":
        return UNDECODABLE_TEXT_RULE
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


def describe_rule(error: Mapping[str, Any]) -> str:
    """The rule one pydantic error broke, in a few words (``is required``,
    ``must be 5-20 digits with no leading zero``)."""
    return _rule(error)


_FIELD_IN_MESSAGE = re.compile(r"\b(" + "|".join(re.escape(k) for k in OPTION_NAMES) + r")\b")


def bad_input_from(
    error: ValidationError, *, options: Mapping[str, str] = OPTION_NAMES
) -> BadInput:
    """Turn pydantic's error into a :class:`BadInput` naming the first offending
    field, as the CLI option that carries it where there is one."""
    first = error.errors()[0]
    path = ".".join(str(part) for part in first["loc"])
    rule = _rule(first)
    field: str | None
    if path:
        leaf = str(first["loc"][-1])
        field = options.get(path) or options.get(leaf) or path
    else:
        # A rule across fields ("customer_uin and initiator_uin must differ"):
        # name the fields the way the caller typed them.
        rule = _FIELD_IN_MESSAGE.sub(lambda m: options.get(m.group(1), m.group(1)), rule)
        named = _FIELD_IN_MESSAGE.search(str(error.errors()[0].get("msg", "")))
        field = options.get(named.group(1)) if named else None
    value = first.get("input")
    if (
        first["type"] == "string_pattern_mismatch"
        and isinstance(value, str)
        and len(value) <= _MAX_ECHOED_VALUE
    ):
        rule = f"{rule} (got {value!r})"
    return BadInput(field, rule, model_field=path or None)
