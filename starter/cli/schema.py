"""``unbind db …``: the partner center's schema migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from activities.sql.migrations.revisions import UPGRADE_HINT, head_revision
from activities.sql.migrations.upgrade import SchemaMismatch, current, upgrade
from starter.cli.app import UnbindGroup, cli, json_option
from starter.cli.output import emit
from starter.configuration import DATABASE_URL_VARIABLE, checked_database_url, database_url
from starter.errors import UNDECODABLE_TEXT_RULE, BadConfiguration, Unreachable


@cli.group(cls=UnbindGroup)
def db() -> None:
    """The partner center's schema: run the migrations, show the revision."""


OPTION = "--database-url"


class _DatabaseUrl(click.ParamType):
    """A database URL, held to the rules UNBIND_DATABASE_URL is held to."""

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        try:
            text.encode()
        except UnicodeEncodeError:
            self.fail(UNDECODABLE_TEXT_RULE, param, ctx)
        try:
            return checked_database_url(text, source=OPTION)
        except BadConfiguration as error:  # click names the option itself
            self.fail(error.message.removeprefix(f"{OPTION}: "), param, ctx)


DATABASE_URL = _DatabaseUrl()


def database_url_option(command: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        OPTION,
        "given_url",
        type=DATABASE_URL,
        help=f"The partner-center database (default: {DATABASE_URL_VARIABLE}).",
    )(command)


@contextmanager
def _reaching(url: str) -> Iterator[str]:
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        yield shown
    except SchemaMismatch as error:
        raise BadConfiguration(None, f"{shown}: {error}") from None
    except SQLAlchemyError as error:
        reason = (str(getattr(error, "orig", None) or error).splitlines() or ["no answer"])[0]
        raise Unreachable(f"cannot use the database {shown}: {reason}") from None


@db.command("upgrade")
@database_url_option
@json_option
def upgrade_command(given_url: str | None, as_json: bool) -> None:
    """Bring the database to the newest schema (safe to run again; a database
    made before migrations is checked against the baseline and adopted)."""
    url = given_url or database_url()
    with _reaching(url) as shown:
        done = upgrade(url)
    data = {"database": shown, "before": done.before, "after": done.after, "adopted": done.adopted}

    def text() -> str:
        if done.adopted:
            return (
                f"{shown}: made before migrations, matches the baseline: "
                f"stamped and upgraded to {done.after} (head)"
            )
        if done.before == done.after:
            return f"{shown}: already at {done.after} (head)"
        return f"{shown}: upgraded from {done.before or 'an empty database'} to {done.after} (head)"

    emit(as_json, data, text)


@db.command("current")
@database_url_option
@json_option
def current_command(given_url: str | None, as_json: bool) -> None:
    """Show the database's schema revision and the head this code needs."""
    url = given_url or database_url()
    with _reaching(url) as shown:
        revision = current(url)
    head = head_revision()
    data = {"database": shown, "revision": revision, "head": head, "at_head": revision == head}

    def text() -> str:
        if revision == head:
            return f"{shown}: {revision} (head)"
        return f"{shown}: {revision or 'no revision'}, head is {head}: {UPGRADE_HINT}"

    emit(as_json, data, text)
