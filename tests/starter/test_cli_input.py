"""The ``unbind`` CLI with no Temporal server at all.

Bad input exits 2 naming the option, before anything is contacted: no
connection is attempted and the database file is never created (a SQLite file:
what is checked is that nothing was written). The ledger commands run against
the test's real partner-center database (SQLite, or PostgreSQL under
UNBIND_TEST_DATABASE=postgresql); Temporal's address points at a port nothing
listens on, so a valid Temporal command ends in exit 3.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from starter.cli import cli
from starter.client import UnbindingClient
from starter.errors import BadInput

ROOT = Path(__file__).resolve().parents[2]
NOWHERE = "127.0.0.1:1"
RESELLER = "10000000002"
CUSTOMER = "20000000001"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the ledger lives for this test; not created until something writes.
    A SQLite file on purpose, whatever UNBIND_TEST_DATABASE says: that nothing
    was written shows as a file that does not exist."""
    path = tmp_path / "x.db"
    monkeypatch.setenv("TEMPORAL_ADDRESS", NOWHERE)
    monkeypatch.setenv("UNBIND_DATABASE_URL", f"sqlite:///{path}")
    return path


@pytest.fixture
def ledger_url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's partner-center database (tests/conftest.py), for the ledger commands."""
    monkeypatch.setenv("TEMPORAL_ADDRESS", NOWHERE)
    monkeypatch.setenv("UNBIND_DATABASE_URL", database_url)
    return database_url


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every attempt to reach Temporal (and refuses it)."""
    attempts: list[str] = []

    async def connect(cls: type[UnbindingClient], **_: Any) -> UnbindingClient:
        attempts.append("temporal")
        raise AssertionError("the CLI tried to connect to Temporal")

    monkeypatch.setattr(UnbindingClient, "connect", classmethod(connect))
    return attempts


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def json_of(result: Result) -> Any:
    return json.loads(result.stdout)


# ---- bad input: exit 2, naming the option, nothing contacted ------------------

APPLY = ["apply", "--initiator", RESELLER, "--acknowledge-notice"]
LONG_REASON = "x" * 501

BAD_INPUT = {
    "leading-zero UIN": ([*APPLY, "--customer", "0200000001"], "--customer"),
    "4-digit UIN": ([*APPLY, "--customer", "1234"], "--customer"),
    "21-digit UIN": (
        ["apply", "--customer", CUSTOMER, "--initiator", "1" * 21, "--acknowledge-notice"],
        "--initiator",
    ),
    "letters in a UIN": ([*APPLY, "--customer", "2000000000a"], "--customer"),
    "missing --acknowledge-notice": (
        ["apply", "--customer", CUSTOMER, "--initiator", RESELLER],
        "--acknowledge-notice",
    ),
    "reason of 501 characters on apply": (
        [*APPLY, "--customer", CUSTOMER, "--reason", LONG_REASON],
        "--reason",
    ),
    "reason of 501 characters on withdraw": (
        ["withdraw", "--customer", CUSTOMER, "--as", RESELLER, "--reason", LONG_REASON],
        "--reason",
    ),
    "customer is the initiator": ([*APPLY, "--customer", RESELLER], "--customer"),
    "deadline below the minimum": (
        [*APPLY, "--customer", CUSTOMER, "--review-days", "0"],
        "--review-days",
    ),
    "deadline above the maximum": (
        [*APPLY, "--customer", CUSTOMER, "--card-days", "1000"],
        "--card-days",
    ),
    "deadline not a number": (
        [*APPLY, "--customer", CUSTOMER, "--remediation-days", "soon"],
        "--remediation-days",
    ),
    "unknown --status": (["list", "--status", "DONE"], "--status"),
    "bad --reseller": (["list", "--reseller", "007"], "--reseller"),
    "unknown --kind": (["ledger", "add-partner", RESELLER, "--kind", "wholesaler"], "--kind"),
    "second-level reseller without distributor": (
        ["ledger", "add-partner", RESELLER, "--kind", "second_level_reseller"],
        "--distributor",
    ),
    "unknown --privilege": (["ledger", "set", CUSTOMER, "--privilege", "always"], "--privilege"),
    "credit in fractions of a cent": (["ledger", "set", CUSTOMER, "--credit", "1.005"], "--credit"),
    "bad ledger UIN": (["ledger", "show", "0123"], "UIN"),
    "bad --account": (["inbox", "--account", "12"], "--account"),
    "bad --as": (["confirm", "--customer", CUSTOMER, "--as", "bob"], "--as"),
    "operator without a name": (
        ["recheck", "--customer", CUSTOMER, "--as", "operator:"],
        "--as",
    ),
    "review without a decision": (
        ["review", "--customer", CUSTOMER, "--as", RESELLER],
        "--approve",
    ),
    "review with both decisions": (
        ["review", "--customer", CUSTOMER, "--as", RESELLER, "--approve", "--reject"],
        "--approve",
    ),
    "an unknown option before the command": (
        ["--bogus", "status", "--customer", CUSTOMER],
        "--bogus",
    ),
    "close-terminated by a party": (
        ["close-terminated", "--customer", CUSTOMER, "--as", RESELLER],
        "--as",
    ),
    "a card bound and not": (["ledger", "set", CUSTOMER, "--no-card", "--card"], "--card"),
    "frozen and unfrozen": (["ledger", "set", CUSTOMER, "--frozen", "--unfrozen"], "--frozen"),
    "information complete and not": (
        ["ledger", "set", CUSTOMER, "--info-incomplete", "--info-complete"],
        "--info-complete",
    ),
}


@pytest.mark.parametrize(("args", "field"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_exits_2_naming_the_option_before_contacting_anything(
    args: list[str], field: str, database: Path, connections: list[str]
) -> None:
    result = run(*args, "--json")

    assert result.exit_code == 2, result.output
    error = json_of(result)
    assert error["field"] == field
    assert field in error["error"]
    assert connections == []
    assert not database.exists()


def test_plain_bad_input_is_explained_on_stderr(database: Path, connections: list[str]) -> None:
    result = run("apply", "--customer", CUSTOMER, "--initiator", RESELLER)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--acknowledge-notice" in result.stderr


def test_uin_rule_is_stated(database: Path, connections: list[str]) -> None:
    result = run(*APPLY, "--customer", "0200000001", "--json")

    assert "must be 5-20 digits with no leading zero" in json_of(result)["error"]


def test_reason_limit_is_stated(database: Path, connections: list[str]) -> None:
    result = run(*APPLY, "--customer", CUSTOMER, "--reason", LONG_REASON)

    assert result.exit_code == 2
    assert "at most 500 characters" in result.stderr


def test_ledger_set_needs_something_to_change(database: Path) -> None:
    result = run("ledger", "set", CUSTOMER, "--json")

    assert result.exit_code == 2
    assert "nothing to change" in json_of(result)["error"]
    assert not database.exists()


def test_client_api_refuses_bad_input_without_touching_temporal() -> None:
    class NoTemporal:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"Temporal was used: {name}")

    client = UnbindingClient(NoTemporal())  # type: ignore[arg-type]

    with pytest.raises(BadInput) as bad_customer:
        asyncio.run(
            client.apply(customer_uin="0123", initiator_uin=RESELLER, notice_acknowledged=True)
        )
    with pytest.raises(BadInput) as not_acknowledged:
        asyncio.run(
            client.apply(customer_uin=CUSTOMER, initiator_uin=RESELLER, notice_acknowledged=False)
        )
    with pytest.raises(BadInput) as bad_actor:
        asyncio.run(client.withdraw(CUSTOMER, actor="someone"))

    assert (bad_customer.value.field, bad_customer.value.model_field) == (
        "--customer",
        "customer_uin",
    )
    assert not_acknowledged.value.field == "--acknowledge-notice"
    assert bad_actor.value.field == "--as"


# ---- Temporal unreachable: exit 3 ------------------------------------------------


def test_valid_apply_with_temporal_unreachable_exits_3(database: Path) -> None:
    result = run(*APPLY, "--customer", CUSTOMER, "--json")

    assert result.exit_code == 3
    error = json_of(result)
    assert NOWHERE in error["error"]
    assert error["field"] is None
    assert not database.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["confirm", "--customer", CUSTOMER, "--as", CUSTOMER],
        ["status", "--customer", CUSTOMER],
        ["list"],
    ],
    ids=["action", "status", "list"],
)
def test_other_temporal_commands_exit_3_when_unreachable(args: list[str], database: Path) -> None:
    result = run(*args)

    assert result.exit_code == 3
    assert result.stderr.startswith("unreachable: ")


def _unbind(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "starter.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_real_command_exits_2_then_3(tmp_path: Path) -> None:
    database = tmp_path / "x.db"
    env = {"TEMPORAL_ADDRESS": NOWHERE, "UNBIND_DATABASE_URL": f"sqlite:///{database}"}

    bad = _unbind("apply", "--customer", "1234", "--initiator", RESELLER, env=env)
    unreachable = _unbind(*APPLY, "--customer", CUSTOMER, "--json", env=env)

    assert bad.returncode == 2, bad.stderr
    assert "--customer" in bad.stderr
    assert unreachable.returncode == 3, unreachable.stderr
    assert NOWHERE in json.loads(unreachable.stdout)["error"]
    assert not database.exists()


# ---- the ledger on the test's database --------------------------------------------------


def test_ledger_round_trip(ledger_url: str) -> None:
    distributor, second_level = "10000000001", "10000000003"

    partner = json_of(run("ledger", "add-partner", RESELLER, "--kind", "reseller", "--json"))
    run("ledger", "add-partner", distributor, "--kind", "distributor")
    nested = json_of(
        run(
            "ledger",
            "add-partner",
            second_level,
            "--kind",
            "second_level_reseller",
            "--distributor",
            distributor,
            "--name",
            "Second level",
            "--json",
        )
    )
    customer = json_of(
        run("ledger", "add-customer", CUSTOMER, "--partner", RESELLER, "--card", "--json")
    )
    changed = json_of(
        run(
            "ledger",
            "set",
            CUSTOMER,
            "--frozen",
            "--credit",
            "-12.5",
            "--privilege",
            "postpaid",
            "--group",
            "member",
            "--savings-unit",
            "sp-1",
            "--no-card",
            "--json",
        )
    )
    cleared = json_of(
        run("ledger", "set", CUSTOMER, "--unfrozen", "--savings-unit", "none", "--json")
    )
    shown = json_of(run("ledger", "show", CUSTOMER, "--json"))

    assert partner["partner_profile"] == {"kind": "reseller", "distributor_uin": None}
    assert nested["name"] == "Second level"
    assert nested["partner_profile"]["distributor_uin"] == distributor
    assert customer["partner"]["uin"] == RESELLER
    assert customer["agreement"]["state"] == "active"
    assert customer["card_bound"] is True
    assert changed["frozen"] is True
    assert changed["credit"] == "-12.50"
    assert changed["overdue_privilege"] == "postpaid"
    assert changed["group_role"] == "member"
    assert changed["savings_unit"] == "sp-1"
    assert changed["card_bound"] is False
    assert cleared["savings_unit"] is None
    assert cleared["frozen"] is False
    assert shown == cleared


def test_ledger_plain_output_is_short(ledger_url: str) -> None:
    result = run("ledger", "add-partner", RESELLER, "--kind", "reseller")

    assert result.exit_code == 0
    assert result.stdout.strip() == f"partner {RESELLER} is a reseller"


def test_subuser_and_inbox(ledger_url: str) -> None:
    run("ledger", "add-partner", RESELLER, "--kind", "reseller")

    subuser = run("ledger", "add-subuser", "10000000004", "--owner", RESELLER, "--json")
    inbox = run("inbox", "--account", RESELLER, "--json")

    assert subuser.exit_code == 0
    assert json_of(subuser)["owner_uin"] == RESELLER
    assert inbox.exit_code == 0
    assert json_of(inbox) == []


def test_seed_demo_twice_keeps_what_exists(ledger_url: str) -> None:
    first = json_of(run("ledger", "seed-demo", "--json"))
    second = json_of(run("ledger", "seed-demo", "--json"))

    assert CUSTOMER in first["created"]
    assert second["created"] == []


@pytest.mark.parametrize(
    "args",
    [
        ["ledger", "add-customer", CUSTOMER, "--partner", "19999999999"],
        ["ledger", "add-subuser", "10000000004", "--owner", "19999999999"],
        ["ledger", "show", "19999999999"],
        ["ledger", "set", "19999999999", "--frozen"],
        ["ledger", "add-customer", CUSTOMER, "--partner", "10000000001"],
    ],
    ids=["unknown partner", "unknown owner", "unknown account", "set unknown", "distributor"],
)
def test_ledger_refusals_exit_1(args: list[str], ledger_url: str) -> None:
    run("ledger", "add-partner", "10000000001", "--kind", "distributor")

    result = run(*args, "--json")

    assert result.exit_code == 1, result.output
    assert json_of(result)["error"]


def test_refusal_in_plain_text_goes_to_stderr(ledger_url: str) -> None:
    result = run("ledger", "add-customer", CUSTOMER, "--partner", "19999999999")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("refused: ")


def test_database_that_cannot_be_opened_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The database path is a directory: SQLite cannot open it.
    monkeypatch.setenv("UNBIND_DATABASE_URL", f"sqlite:///{tmp_path}")

    result = run("ledger", "show", CUSTOMER, "--json")

    assert result.exit_code == 3
    assert "unable to open database file" in json_of(result)["error"]


def test_database_server_that_refuses_connections_exits_3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UNBIND_DATABASE_URL", "postgresql+psycopg://unbind:secret@127.0.0.1:1/x")

    result = run("inbox", "--account", CUSTOMER, "--json")

    assert result.exit_code == 3
    error = json_of(result)["error"]
    assert "127.0.0.1" in error
    assert "secret" not in error
