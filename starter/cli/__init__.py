"""``unbind``: the command line over :class:`~starter.client.UnbindingClient`
and the partner center's ledger.

- ``app``: the command group, shared options, exit codes, the entry point
- ``applying``: ``apply``
- ``batch``: ``apply-batch``
- ``evidence``: ``notice``, ``evidence``
- ``actions``: one command per action of ``workflows.actions.ACTIONS``
- ``watching``: ``status``, ``list``, ``inbox``
- ``repairs``: ``close-terminated``
- ``health``: ``health`` (readiness, for a container's health check)
- ``tokens``: ``token`` (development tokens for the HTTP API), ``audit``
- ``ledger``: ``ledger …`` (partner center administration)
- ``schema``: ``db upgrade``, ``db current`` (schema migrations)
- ``types``, ``output``: parameter types and printing
"""

from starter.cli import (
    actions,
    applying,
    batch,
    evidence,
    health,
    ledger,
    repairs,
    schema,
    tokens,
    watching,
)
from starter.cli.app import cli, main
from starter.cli.types import MAX_NAME_LENGTH, MAX_SAVINGS_UNIT_LENGTH

# The modules above register their commands on ``cli`` when imported.
COMMAND_MODULES = (
    actions,
    applying,
    batch,
    evidence,
    health,
    ledger,
    repairs,
    schema,
    tokens,
    watching,
)

__all__ = ["MAX_NAME_LENGTH", "MAX_SAVINGS_UNIT_LENGTH", "cli", "main"]
