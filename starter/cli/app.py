"""The ``unbind`` command group, its shared options and its entry point.

Exit codes: 0 done, 1 refused by a business rule, 2 bad input or
configuration, 3 Temporal or the database cannot be reached. Input is
validated while the command line is parsed, so bad input never starts,
signals or writes anything. Every command takes ``--json``; errors are then
``{"error": ..., "field": ...}`` on stdout.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import click

from starter.cli.output import print_error, print_unbind_error
from starter.cli.types import ACTOR, REASON, UIN
from starter.client import UnbindingClient
from starter.errors import BadInput, UnbindError
from workflows.settings import SETTINGS

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])


def _option_name(param: click.Parameter | None) -> str | None:
    if param is None:
        return None
    long_options = [opt for opt in param.opts if opt.startswith("--")]
    if isinstance(param, click.Option) and long_options:
        return max(long_options, key=len)
    return param.human_readable_name


class UnbindGroup(click.Group):
    """Renders every error the same way: click's usage errors, and the client's
    named errors with their exit codes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        before_separator = args[: args.index("--")] if "--" in args else args
        as_json = ctx.meta["unbind.json"] = "--json" in before_separator
        try:
            return super().parse_args(ctx, args)
        except click.ClickException as error:
            # The group's own options (`unbind --bogus status --json`).
            if not as_json:
                raise
            _print_usage_error(error)
            raise click.exceptions.Exit(error.exit_code) from None

    def invoke(self, ctx: click.Context) -> Any:
        as_json = bool(ctx.meta.get("unbind.json"))
        try:
            return super().invoke(ctx)
        except UnbindError as error:
            print_unbind_error(as_json, error)
            raise click.exceptions.Exit(error.exit_code) from None
        except click.ClickException as error:
            if not as_json:
                raise
            _print_usage_error(error)
            raise click.exceptions.Exit(error.exit_code) from None


def _print_usage_error(error: click.ClickException) -> None:
    """Click's usage error as the JSON error, naming the option at fault."""
    field = _option_name(error.param) if isinstance(error, click.BadParameter) else None
    if isinstance(error, click.NoSuchOption):
        field = error.option_name
    print_error(True, "error", error.format_message(), field)


@click.group(cls=UnbindGroup)
@click.version_option(package_name="reseller-unbinding", prog_name="unbind")
def cli() -> None:
    """Unbind a reseller's sub-customer: apply, act, and watch applications.

    Exit codes: 0 done, 1 refused, 2 bad input, 3 Temporal or the database
    unreachable. Temporal is configured through the standard TEMPORAL_* variables
    and profiles; UNBIND_TASK_QUEUE and UNBIND_DATABASE_URL select the task queue
    and the partner-center database.
    """


def json_option(command: _F) -> _F:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(
        command
    )


def customer_option(command: _F) -> _F:
    return click.option(
        "--customer", "customer", required=True, type=UIN, help="The sub-customer's UIN."
    )(command)


def actor_option(command: _F) -> _F:
    return click.option(
        "--as",
        "actor",
        required=True,
        type=ACTOR,
        help="Who acts: a UIN, or operator:<name> for an operator.",
    )(command)


def reason_option(command: _F) -> _F:
    return click.option(
        "--reason", type=REASON, help=f"Why (at most {SETTINGS.max_reason_length} characters)."
    )(command)


def switch_option(on: str, off: str, name: str, help: str) -> Callable[[_F], _F]:
    """A yes/no option as two flags: ``name`` is True for ``on``, False for
    ``off``, None for neither. Both at once is bad input naming the two (a
    ``--on/--off`` pair would silently take the last)."""
    off_name = f"{name}__off"

    def decorate(command: _F) -> _F:
        @functools.wraps(command)
        def switched(*args: Any, **kwargs: Any) -> Any:
            yes, no = kwargs.pop(name), kwargs.pop(off_name)
            if yes and no:
                raise BadInput(on, f"{on} and {off} together: pass one or the other")
            kwargs[name] = True if yes else False if no else None
            return command(*args, **kwargs)

        switched = click.option(off, off_name, is_flag=True, help=f"The opposite of {on}.")(
            switched
        )
        return cast(_F, click.option(on, name, is_flag=True, help=help)(switched))

    return decorate


def temporal(call: Callable[[UnbindingClient], Awaitable[_T]]) -> _T:
    """Connect to Temporal and run one call; only after input was validated."""

    async def connect_and_call() -> _T:
        client = await UnbindingClient.connect()
        return await call(client)

    return asyncio.run(connect_and_call())


def main() -> None:
    """The ``unbind`` entry point."""
    try:
        cli.main(prog_name="unbind")
    except SystemExit as done:
        code = _exit_status(done.code)
    else:
        code = 0
    # temporalio/sdk-python#300: the Temporal core's threads can abort interpreter
    # shutdown (exit 134) after all work is done, even in a plain client
    # process; seen here after a successful `confirm`. Leave without finalizers.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _exit_status(code: str | int | None) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    click.echo(code, err=True)
    return 1
