"""Parameter types of ``unbind``: the message models' own rules, applied while
the command line is parsed, so the CLI and the client API enforce the same
rule and bad input never reaches Temporal or the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Annotated, Any
from urllib.parse import urlsplit

import click
from pydantic import StringConstraints, TypeAdapter, ValidationError

from activities.sql.ledger import cents_from_amount
from starter.errors import bad_input_from
from workflows.fields import NEW_TEXT, ActionId, Actor, Reason, Uin, new_text_problem

# The partner center's column sizes (activities/sql/schema.py) and BIGINT range.
MAX_NAME_LENGTH = 200
MAX_SAVINGS_UNIT_LENGTH = 64
_MAX_CENTS = 2**63 - 1


class Validated(click.ParamType):
    """A click type that validates with a pydantic type from ``workflows.model``."""

    def __init__(self, name: str, annotation: Any) -> None:
        self.name = name
        self._adapter: TypeAdapter[Any] = TypeAdapter(annotation)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return self._adapter.validate_python(value, context={NEW_TEXT: True})
        except ValidationError as error:
            self.fail(bad_input_from(error).rule, param, ctx)


class _Text(click.ParamType):
    """Free text with a length limit, held to the same rule as a new reason:
    it is shown to other people (``ledger show``)."""

    def __init__(self, name: str, max_length: int) -> None:
        self.name = name
        self.max_length = max_length

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if len(text) > self.max_length:
            self.fail(f"at most {self.max_length} characters", param, ctx)
        problem = new_text_problem(text)
        if problem:
            self.fail(problem, param, ctx)
        return text


class _ReadFromAscii(click.ParamType):
    """A value read from ASCII text only: ``float()``, ``int()`` and
    ``datetime.fromisoformat()`` also read Arabic-Indic and other digits."""

    RULE: str

    def parse(self, text: str) -> Any:
        raise NotImplementedError

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # a default, already converted
        try:
            if not value.isascii():
                raise ValueError(value)
            return self.parse(value)
        except (ValueError, OverflowError):
            self.fail(f"{value!r} {self.RULE}", param, ctx)


class _Days(_ReadFromAscii):
    """A duration in days (fractions allowed); bounds are checked by ``Deadlines``."""

    name = "DAYS"
    RULE = "is not a number of days"

    def parse(self, text: str) -> timedelta:
        return timedelta(days=float(text))


class Count(click.IntRange):
    """A whole number within bounds, written in ASCII digits: ``int()`` (and
    so click's own ``IntRange``) also reads Arabic-Indic and other digits."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.isascii():
            self.fail(f"{value!r} is not a valid integer: write it in ASCII digits", param, ctx)
        return super().convert(value, param, ctx)


class IsoTime(_ReadFromAscii):
    """A moment in ISO 8601 (``2026-11-29``, ``2026-11-29T20:39:03.140290Z``:
    what the audit prints), UTC when it names no zone."""

    name = "TIME"
    RULE = "is not an ISO 8601 time such as 2026-11-29 or 2026-11-29T20:39:03Z"

    def parse(self, text: str) -> datetime:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Amount(click.ParamType):
    """A money amount such as ``-12.50``, converted to cents exactly."""

    name = "AMOUNT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        if not str(value).isascii():  # Decimal() reads Arabic-Indic digits too
            self.fail(f"{value!r} is not an amount with at most 2 decimals", param, ctx)
        try:
            cents = cents_from_amount(str(value).strip())
        except (ValueError, ArithmeticError):  # ArithmeticError: 1e999999999 overflows
            self.fail(f"{value!r} is not an amount with at most 2 decimals", param, ctx)
        if abs(cents) > _MAX_CENTS:
            self.fail(f"{value!r} is out of range", param, ctx)
        return cents


def choice(enum: type[Enum]) -> click.Choice[str]:
    return click.Choice([member.value for member in enum])


UIN = Validated("UIN", Uin)
ACTOR = Validated("UIN|operator:NAME", Actor)
REASON = Validated("TEXT", Reason)
ACTION_ID = Validated("ID", ActionId)
APPLICATION_ID = Validated("ID", Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{8,64}$")])
NAME = _Text("TEXT", MAX_NAME_LENGTH)
SAVINGS_UNIT = _Text("ID|none", MAX_SAVINGS_UNIT_LENGTH)
DAYS = _Days()
AMOUNT = _Amount()


class _Endpoint(click.ParamType):
    """A worker's health endpoint, ``HOST:PORT`` (its UNBIND_HEALTH_ADDRESS)
    or an http(s) URL with a port; converted to the URL of its ``/readyz``."""

    name = "HOST:PORT|URL"
    RULE = "must be HOST:PORT or http://HOST:PORT (the worker's UNBIND_HEALTH_ADDRESS)"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        url = text if "://" in text else f"http://{text}"
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            self.fail(self.RULE, param, ctx)
        printable = text.isascii() and text.isprintable() and " " not in text
        if not (printable and parts.scheme in ("http", "https") and parts.hostname and port):
            self.fail(self.RULE, param, ctx)
        path = parts.path.rstrip("/")
        path = path if path.endswith("/readyz") else f"{path}/readyz"
        return f"{parts.scheme}://{parts.netloc}{path}"


ENDPOINT = _Endpoint()
