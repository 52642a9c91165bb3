"""``unbind db …``: the partner center's schema migrations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from activities.sql.migrations.revisions import UPGRADE_HINT, head_revision
from activities.sql.migrations.upgrade import SchemaMismatch, current, upgrade
from starter.cli.app import UnbindGroup, cli, json_option
from starter.cli.output import emit
from starter.configuration import DATABASE_URL_VARIABLE, database_url
from starter.errors import BadConfiguration, Unreachable


@cli.group(cls=UnbindGroup)
def db() -> None:
    """The partner center's schema: run the migrations, show the revision."""


def database_url_option(command: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--database-url",
        "given_url",
        help=f"The partner-center database (default: {DATABASE_URL_VARIABLE}).",
    )(command)


def _checked(given: str | None) -> str:
    """The URL from ``--database-url`` or the environment, checked by the same
    rules as every process's; a mistake names the option it came from."""
    if given is None:
        return database_url()
    saved = os.environ.get(DATABASE_URL_VARIABLE)
    os.environ[DATABASE_URL_VARIABLE] = given
    try:
        return database_url()
    except BadConfiguration as error:
        message = error.message.removeprefix(f"{DATABASE_URL_VARIABLE}: ")
        raise BadConfiguration("--database-url", message) from None
    finally:
        if saved is None:
            del os.environ[DATABASE_URL_VARIABLE]
        else:
            os.environ[DATABASE_URL_VARIABLE] = saved


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
    url = _checked(given_url)
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
    url = _checked(given_url)
    with _reaching(url) as shown:
        revision = current(url)
    head = head_revision()
    data = {"database": shown, "revision": revision, "head": head, "at_head": revision == head}

    def text() -> str:
        if revision == head:
            return f"{shown}: {revision} (head)"
        return f"{shown}: {revision or 'no revision'}, head is {head}: {UPGRADE_HINT}"

    emit(as_json, data, text)
