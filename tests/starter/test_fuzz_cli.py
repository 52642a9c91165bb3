"""Every field of every ``unbind`` command, fuzzed with bad values (hypothesis):
UINs with leading zeros, the wrong length, letters, Unicode digits, control,
zero-width and bidirectional characters; actors that are neither a UIN nor
``operator:<name>``; blank, over-long and unsafe reasons and names; deadlines
and amounts that are not numbers or out of range; unknown choices.

Each must exit 2 with an error naming the field and the rule it broke, and
touch nothing: Temporal points at a port where nothing listens (and a guard
records any connection attempt), and the database file must never appear.

The generated examples run in-process through click's ``CliRunner``; a few
run the real command as a subprocess, as a user would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities.sql import SqlPartnerCenter
from starter.batch import BATCH_ID_PATTERN, MAX_CONCURRENCY
from starter.cli import MAX_NAME_LENGTH, MAX_SAVINGS_UNIT_LENGTH, cli
from starter.cli.ledger import MAX_COUNT
from starter.cli.tokens import MAX_TOKEN_HOURS, OPERATOR_NAME_RULE
from starter.cli.types import ENDPOINT, IsoTime
from starter.client import UnbindingClient
from starter.errors import UNDECODABLE_TEXT_RULE
from workflows.fields import OPERATOR_PATTERN, UIN_PATTERN, new_text_problem
from workflows.model import UnbindStatus
from workflows.notice import VERSIONS, Consent
from workflows.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
NOWHERE = "127.0.0.1:1"
CUSTOMER, RESELLER = "20000000001", "10000000002"

# A few seconds in CI; UNBIND_FUZZ_EXAMPLES=5000 explores more locally.
fuzz = settings(
    max_examples=int(os.environ.get("UNBIND_FUZZ_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# ---- bad values, by kind of field ---------------------------------------------------

# Undecodable bytes in a command line reach Python as lone surrogates.
UIN_RULES = ("must be 5-20 digits with no leading zero", UNDECODABLE_TEXT_RULE)
ACTOR_RULES = (
    "must be a UIN (5-20 digits, no leading zero) or operator:<name>",
    UNDECODABLE_TEXT_RULE,
)


def _is_uin(value: str) -> bool:
    return re.fullmatch(UIN_PATTERN, value) is not None


def _is_actor(value: str) -> bool:
    return _is_uin(value) or re.fullmatch(OPERATOR_PATTERN, value) is not None


# Characters that must never get through: controls, zero-width and bidi
# formatting, other Unicode digits and spaces, signs and separators.
_junk_characters = st.one_of(
    st.sampled_from(
        [
            "\x00",
            "\x1b",
            "\n",
            "\r",
            "\t",
            " ",
            "\x7f",
            "\x85",
            "\u200b",
            "\u200e",
            "\u202e",
            "\u2066",
            "\ufeff",
            "\u00a0",
            "-",
            "+",
            ".",
            "e",
            "_",
            "\u0661",
            "\uff15",
            "\udcff",
        ]
    ),
    st.characters(categories=["Cc", "Cf", "Zs", "Nd", "Cs"]),
)
_valid_uins = st.from_regex(r"[1-9][0-9]{4,19}", fullmatch=True)


def _insert(parts: tuple[str, str, int]) -> str:
    text, junk, at = parts
    at %= len(text) + 1
    return text[:at] + junk + text[at:]


bad_uins = st.one_of(
    st.from_regex(r"0[0-9]{4,19}", fullmatch=True),  # leading zero
    st.from_regex(r"[1-9][0-9]{0,3}", fullmatch=True),  # too short
    st.from_regex(r"[1-9][0-9]{20,40}", fullmatch=True),  # too long
    st.just(""),
    st.text(  # digits, but not ASCII ones (Arabic-Indic, fullwidth, ...)
        alphabet=st.characters(categories=["Nd"]).filter(lambda c: c not in "0123456789"),
        min_size=5,
        max_size=20,
    ),
    st.tuples(_valid_uins, _junk_characters, st.integers(0, 20)).map(_insert),
    st.text(max_size=30),
).filter(lambda value: not _is_uin(value))

bad_actors = st.one_of(
    bad_uins,
    st.sampled_from(
        ["operator:", "operator", "Operator:alice", "operator:-alice", "operator: alice"]
    ),
    st.just("operator:" + "a" * 65),
    st.tuples(st.just("operator:alice"), _junk_characters, st.integers(0, 14)).map(_insert),
).filter(lambda value: not _is_actor(value))

_printable = st.characters(categories=["L", "N", "P", "Zs"], exclude_characters="\x85\xa0")


def bad_text(max_length: int) -> st.SearchStrategy[str]:
    """Free text that is blank, too long, or carries an unsafe character: a
    control, bidirectional or surrogate character, a line break, or an
    invisible (format) character."""
    unsafe = (
        st.characters(codec=None, categories=["Cc", "Cs", "Cf"], exclude_characters="\t")
        | st.sampled_from(["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2069"])
        | st.sampled_from(["\n", "\u2028", "\u2029", "\u200b", "\u200d", "\u2060", "\ufeff"])
    )
    return st.one_of(
        st.text(alphabet=st.sampled_from(" \t\n\r\u3000"), max_size=5).filter(
            lambda s: not s.strip()
        ),
        st.text(_printable, min_size=max_length + 1, max_size=max_length + 40),
        st.tuples(st.text(_printable, min_size=1, max_size=40), unsafe, st.integers(0, 40)).map(
            _insert
        ),
    ).filter(lambda s: len(s) > max_length or new_text_problem(s) is not None)


_MINUTE_IN_DAYS = 1 / (24 * 60)
bad_days = st.one_of(
    st.floats(max_value=_MINUTE_IN_DAYS * 0.99, allow_nan=False).map(repr),
    st.floats(min_value=SETTINGS.max_deadline.days * 1.01, allow_nan=False).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "", "soon", "1,5", "1e999", "\u0663", "P3D", "3 days"]),
)
bad_amounts = st.one_of(
    # A third decimal that is not zero, on a whole part of any size.
    st.builds(
        lambda whole, cents, third: f"{whole}.{cents:02d}{third}",
        st.integers(-(10**40), 10**40),
        st.integers(0, 99),
        st.integers(1, 9),
    ),
    st.sampled_from(
        ["nan", "Infinity", "-inf", "", "12,50", "1e999999999", "ten", "\u0661\u0660", "0x10"]
    ),
    st.just(str(2**63)),
)


bad_operator_names = st.one_of(
    st.just(""),
    st.just("a" * 65),
    st.sampled_from(["-alice", ".x", "al ice", "operator:alice", "alice\n"]),
    st.tuples(st.just("alice"), _junk_characters, st.integers(0, 5)).map(_insert),
    st.text(max_size=20),
).filter(lambda value: re.fullmatch(OPERATOR_PATTERN, f"operator:{value}") is None)
COUNT_RULES = ("is not a valid integer", "is not in the range")


def bad_counts(maximum: int, minimum: int = 1) -> st.SearchStrategy[str]:
    """Whole numbers out of minimum..maximum, and what is no whole number at all."""
    return st.one_of(
        st.integers(max_value=minimum - 1).map(str),
        st.integers(min_value=maximum + 1).map(str),
        st.sampled_from(["", "nan", "inf", "1.5", "ten", "\u0661", "1e3", "0x10"]),
        st.text(max_size=10),
    ).filter(
        lambda value: (
            not (
                value.strip().isascii()
                and value.strip().isdigit()
                and minimum <= int(value) <= maximum
            )
        )
    )


def _is_time(value: str) -> bool:
    """ISO 8601 in ASCII digits, as `unbind audit --since` takes it."""
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return value.isascii()


bad_times = st.one_of(
    st.sampled_from(["", "yesterday", "2026-13-01", "2026-11-29T25:00:00", "1732900000"]),
    st.text(max_size=25),
).filter(lambda value: not _is_time(value))


def bad_choice(valid: set[str]) -> st.SearchStrategy[str]:
    return st.text(max_size=20).filter(lambda s: s not in valid)


bad_endpoints = st.one_of(
    # Without a colon there is no port.
    st.text(max_size=30).filter(lambda v: ":" not in v),
    st.sampled_from(
        [
            "host:",
            "host:0",
            "host:65536",
            "ftp://host:8081",
            "http://:8081",
            "host:80 81",
            "http://host:abc",
            "http://host",
            "h\u200bost:8081",
            "host:8081\n",
        ]
    ),
)


# ---- every command's fields ------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One field of one command: how to build the command line around a bad
    value, the name the error must give, and the rules it may state."""

    command: str
    name: str
    build: Callable[[str], list[str]]
    values: st.SearchStrategy[str]
    rules: tuple[str, ...]


def _text_rules(max_length: int) -> tuple[str, ...]:
    return (
        f"at most {max_length} characters",
        "must not be blank",
        "must not contain control, bidirectional-override or surrogate characters",
        "must be one line: no line breaks",
        "must not contain invisible characters",
        UNDECODABLE_TEXT_RULE,
    )


REASON_RULES = _text_rules(SETTINGS.max_reason_length)
DAYS_RULES = ("is not a number of days", "must be at least 1 minute", "must be at most 90 days")
CHOICE_RULES = ("is not one of", "is not a valid choice")
APPLY = ["apply", f"--customer={CUSTOMER}", f"--initiator={RESELLER}", "--acknowledge-notice"]
REQUEST = ["request", f"--customer={CUSTOMER}", "--acknowledge-notice"]
DAYS_OPTIONS = (
    "--reseller-review-days",
    "--review-days",
    "--confirmation-days",
    "--card-days",
    "--remediation-days",
)
# Not WAIT=CHOICE, or a choice that wait's deadline may not make.
bad_on_deadline = st.one_of(
    st.text(max_size=30).filter(lambda s: "=" not in s),
    st.sampled_from(
        [
            "customer_confirmation=approve",
            "card_binding=distributor",
            "remediation=approve",
            "distributor_review=distributor",
            "reseller_review=maybe",
            "nowait=expire",
            "=expire",
        ]
    ),
)
ON_DEADLINE_RULES = ("must be WAIT=CHOICE", "that deadline may only")


def _submission_fields(command: str, base: list[str]) -> list[Field]:
    """The options ``apply`` and ``request`` share."""
    return [
        Field(command, "--customer", lambda v: [*base, f"--customer={v}"], bad_uins, UIN_RULES),
        Field(command, "--operator", lambda v: [*base, f"--operator={v}"], bad_uins, UIN_RULES),
        Field(
            command,
            "--reason",
            lambda v: [*base, f"--reason={v}"],
            bad_text(SETTINGS.max_reason_length),
            REASON_RULES,
        ),
        *(
            Field(command, option, lambda v, o=option: [*base, f"{o}={v}"], bad_days, DAYS_RULES)
            for option in DAYS_OPTIONS
        ),
        Field(
            command,
            "--effective",
            lambda v: [*base, f"--effective={v}"],
            bad_choice({"at_once", "end_of_month"}),
            CHOICE_RULES,
        ),
        Field(
            command,
            "--on-deadline",
            lambda v: [*base, f"--on-deadline={v}"],
            bad_on_deadline,
            ON_DEADLINE_RULES,
        ),
    ]


ACTION_ID_RULES = ("must be 1-128 letters, digits or ._:@-", UNDECODABLE_TEXT_RULE)
bad_action_ids = st.one_of(
    st.just(""),
    st.text(st.sampled_from("abc123._:@-"), min_size=129, max_size=160),
    st.tuples(
        st.text(st.sampled_from("abc123"), min_size=1, max_size=20),
        _junk_characters.filter(lambda c: c not in "._:@-e"),
        st.integers(0, 20),
    ).map(_insert),
    st.text(max_size=30),
).filter(lambda value: re.fullmatch(r"[A-Za-z0-9._:@-]{1,128}", value) is None)


SHA256_RULES = (
    "must be a SHA-256: 64 lowercase hex digits",
    "must be the SHA-256 of a",
    UNDECODABLE_TEXT_RULE,
)
bad_hashes = st.one_of(
    st.text(st.sampled_from("0123456789abcdef"), min_size=64, max_size=64),  # not one of ours
    st.text(max_size=70),
).filter(lambda value: value not in KNOWN_HASHES)
KNOWN_HASHES = {v.sha256(c) for v in VERSIONS.values() for c in v.texts}


def _acting(command: str, *extra: str) -> list[str]:
    """A command by the customer on the customer's application."""
    return [command, f"--customer={CUSTOMER}", f"--as={CUSTOMER}", *extra]


def _action_fields(
    command: str,
    *,
    reason: bool,
    action_id: bool = True,
    extra: tuple[str, ...] = (),
    decision: bool = False,
) -> list[Field]:
    fields = [
        Field(
            command,
            "--customer",
            lambda v: [command, f"--customer={v}", f"--as={CUSTOMER}", *extra],
            bad_uins,
            UIN_RULES,
        ),
        Field(
            command,
            "--as",
            lambda v: [command, f"--customer={CUSTOMER}", f"--as={v}", *extra],
            bad_actors,
            ACTOR_RULES,
        ),
    ]
    if action_id:
        fields.append(
            Field(
                command,
                "--action-id",
                lambda v: [
                    command,
                    f"--customer={CUSTOMER}",
                    f"--as={CUSTOMER}",
                    *extra,
                    f"--action-id={v}",
                ],
                bad_action_ids,
                ACTION_ID_RULES,
            )
        )
    if decision:
        fields.append(
            Field(
                command,
                "--text-sha256",
                lambda v: [*_acting(command, *extra), f"--text-sha256={v}"],
                bad_hashes,
                SHA256_RULES,
            )
        )
    if reason:
        fields.append(
            Field(
                command,
                "--reason",
                lambda v: [
                    command,
                    f"--customer={CUSTOMER}",
                    f"--as={CUSTOMER}",
                    *extra,
                    f"--reason={v}",
                ],
                bad_text(SETTINGS.max_reason_length),
                REASON_RULES,
            )
        )
    return fields


DATABASE_URL_RULES = (
    "is not a SQLAlchemy URL",
    "is not supported by the partner center",
    "unknown database or driver",
    "is not installed",
    "use postgresql+psycopg://",
    "of the SQLite file does not exist",
    UNDECODABLE_TEXT_RULE,
)
bad_database_urls = st.one_of(
    st.sampled_from(
        [
            "",
            "not a url",
            "postgres://u:secret@db.internal/unbind",
            "postgresql+nosuchdriver://u@h/db",
            "postgresql+pg8000://u@h/db",
            "mysql://u@h/db",
            "sqlite:////no/such/directory/unbind.db",
        ]
    ),
    st.text(max_size=30).filter(lambda value: "://" not in value),  # no scheme, no URL
)
# Command groups: their commands are named "<group> <command>".
GROUPS = ("ledger", "db")


def _ledger(command: str, *rest: str) -> Callable[[str], list[str]]:
    # "--" keeps a value starting with "-" a value, not an option.
    return lambda v: ["ledger", command, *rest, "--", v]


# A good batch file, so a bad option of apply-batch is the only thing wrong.
BATCH_FILE = Path(tempfile.mkdtemp(prefix="fuzz-batch-")) / "customers.csv"
BATCH_FILE.write_text(f"customer_uin\n{CUSTOMER}\n")
BATCH = ["apply-batch", f"--file={BATCH_FILE}", f"--initiator={RESELLER}", "--acknowledge-notice"]
bad_batch_ids = st.text(max_size=30).filter(
    lambda value: re.fullmatch(BATCH_ID_PATTERN, value) is None
)
bad_files = st.one_of(
    st.sampled_from(["", str(BATCH_FILE.parent), str(BATCH_FILE.parent / "missing.csv")]),
    st.text(max_size=20).map(lambda name: str(BATCH_FILE.parent / f"missing-{name}")),
)
FILE_RULES = ("cannot read the file", "is a directory", UNDECODABLE_TEXT_RULE)

EVIDENCE = ["evidence", f"--customer={CUSTOMER}"]


def _choice_field(command: list[str], option: str, valid: set[str]) -> Field:
    """A choice option (click words a choice of one as "is not '...'")."""
    return Field(
        command[0],
        option,
        lambda v: [*command, f"{option}={v}"],
        bad_choice(valid),
        (*CHOICE_RULES, "is not '"),
    )


FIELDS: list[Field] = [
    Field("evidence", "--customer", lambda v: ["evidence", f"--customer={v}"], bad_uins, UIN_RULES),
    Field(
        "evidence",
        "--application",
        lambda v: [*EVIDENCE, f"--application={v}"],
        st.text(max_size=70).filter(lambda v: re.fullmatch(r"[A-Za-z0-9-]{8,64}", v) is None),
        ("must be 8-64 letters, digits or -", UNDECODABLE_TEXT_RULE),
    ),
    _choice_field(["evidence", f"--customer={CUSTOMER}"], "--format", {"json", "markdown", "html"}),
    _choice_field(["notice"], "--consent", {consent.value for consent in Consent}),
    _choice_field(["notice"], "--version", set(VERSIONS)),
    Field("apply-batch", "--file", lambda v: [*BATCH, f"--file={v}"], bad_files, FILE_RULES),
    Field(
        "apply-batch", "--initiator", lambda v: [*BATCH, f"--initiator={v}"], bad_uins, UIN_RULES
    ),
    Field("apply-batch", "--operator", lambda v: [*BATCH, f"--operator={v}"], bad_uins, UIN_RULES),
    Field(
        "apply-batch",
        "--concurrency",
        lambda v: [*BATCH, f"--concurrency={v}"],
        bad_counts(MAX_CONCURRENCY),
        COUNT_RULES,
    ),
    Field(
        "apply-batch",
        "--batch-id",
        lambda v: [*BATCH, f"--batch-id={v}"],
        bad_batch_ids,
        ("must be 1-24 letters or digits", UNDECODABLE_TEXT_RULE),
    ),
    *(
        Field(
            "ledger set",
            option,
            lambda v, o=option: ["ledger", "set", f"{o}={v}", CUSTOMER],
            bad_counts(MAX_COUNT, minimum=0),
            COUNT_RULES,
        )
        for option in ("--overdue-bills",)
    ),
    *_submission_fields("apply", APPLY),
    Field("apply", "--initiator", lambda v: [*APPLY, f"--initiator={v}"], bad_uins, UIN_RULES),
    *_submission_fields("request", REQUEST),
    *_action_fields("reseller-review", reason=True, extra=("--approve",), decision=True),
    *_action_fields("review", reason=True, extra=("--approve",), decision=True),
    *_action_fields("confirm", reason=False, decision=True),
    *_action_fields("reject", reason=True, decision=True),
    *_action_fields("card-bound", reason=False),
    *_action_fields("withdraw", reason=True),
    *_action_fields("recheck", reason=False),
    *_action_fields("close-terminated", reason=True, action_id=False),
    Field("status", "--customer", lambda v: ["status", f"--customer={v}"], bad_uins, UIN_RULES),
    Field("token", "--account", lambda v: ["token", f"--account={v}"], bad_uins, UIN_RULES),
    Field(
        "token",
        "--owner",
        lambda v: ["token", f"--account={RESELLER}", f"--owner={v}"],
        bad_uins,
        UIN_RULES,
    ),
    Field(
        "token",
        "--operator",
        lambda v: ["token", f"--operator={v}"],
        bad_operator_names,
        (OPERATOR_NAME_RULE,),
    ),
    Field(
        "token",
        "--hours",
        lambda v: ["token", "--operator=alice", f"--hours={v}"],
        bad_counts(MAX_TOKEN_HOURS),
        COUNT_RULES,
    ),
    Field("audit", "--since", lambda v: ["audit", f"--since={v}"], bad_times, (IsoTime.RULE,)),
    Field("audit", "--limit", lambda v: ["audit", f"--limit={v}"], bad_counts(10000), COUNT_RULES),
    Field(
        "list",
        "--status",
        lambda v: ["list", f"--status={v}"],
        bad_choice({status.value for status in UnbindStatus}),
        CHOICE_RULES,
    ),
    Field("list", "--reseller", lambda v: ["list", f"--reseller={v}"], bad_uins, UIN_RULES),
    Field("list", "--distributor", lambda v: ["list", f"--distributor={v}"], bad_uins, UIN_RULES),
    Field("inbox", "--account", lambda v: ["inbox", f"--account={v}"], bad_uins, UIN_RULES),
    Field(
        "ledger add-partner",
        "UIN",
        _ledger("add-partner", "--kind=reseller"),
        bad_uins,
        UIN_RULES,
    ),
    Field(
        "ledger add-partner",
        "--kind",
        lambda v: ["ledger", "add-partner", f"--kind={v}", RESELLER],
        bad_choice({"reseller", "distributor", "second_level_reseller"}),
        CHOICE_RULES,
    ),
    Field(
        "ledger add-partner",
        "--distributor",
        lambda v: [
            "ledger",
            "add-partner",
            "--kind=second_level_reseller",
            f"--distributor={v}",
            RESELLER,
        ],
        bad_uins,
        UIN_RULES,
    ),
    Field(
        "ledger add-partner",
        "--name",
        lambda v: ["ledger", "add-partner", "--kind=reseller", f"--name={v}", RESELLER],
        bad_text(MAX_NAME_LENGTH),
        _text_rules(MAX_NAME_LENGTH),
    ),
    Field(
        "ledger add-customer",
        "UIN",
        _ledger("add-customer", f"--partner={RESELLER}"),
        bad_uins,
        UIN_RULES,
    ),
    Field(
        "ledger add-customer",
        "--partner",
        lambda v: ["ledger", "add-customer", f"--partner={v}", CUSTOMER],
        bad_uins,
        UIN_RULES,
    ),
    Field(
        "ledger add-customer",
        "--name",
        lambda v: ["ledger", "add-customer", f"--partner={RESELLER}", f"--name={v}", CUSTOMER],
        bad_text(MAX_NAME_LENGTH),
        _text_rules(MAX_NAME_LENGTH),
    ),
    Field(
        "ledger add-subuser",
        "UIN",
        _ledger("add-subuser", f"--owner={RESELLER}"),
        bad_uins,
        UIN_RULES,
    ),
    Field(
        "ledger add-subuser",
        "--owner",
        lambda v: ["ledger", "add-subuser", f"--owner={v}", CUSTOMER],
        bad_uins,
        UIN_RULES,
    ),
    *(
        field
        for command in ("add-discount", "end-discount")
        for field in (
            Field(f"ledger {command}", "UIN", _ledger(command, "--name=x"), bad_uins, UIN_RULES),
            Field(
                f"ledger {command}",
                "--name",
                lambda v, c=command: ["ledger", c, f"--name={v}", CUSTOMER],
                bad_text(MAX_NAME_LENGTH),
                _text_rules(MAX_NAME_LENGTH),
            ),
        )
    ),
    Field("ledger show", "UIN", _ledger("show"), bad_uins, UIN_RULES),
    Field("ledger set", "UIN", _ledger("set", "--frozen"), bad_uins, UIN_RULES),
    Field(
        "ledger set",
        "--credit",
        lambda v: ["ledger", "set", f"--credit={v}", CUSTOMER],
        bad_amounts,
        ("is not an amount with at most 2 decimals", "is out of range"),
    ),
    *(
        Field(
            "ledger set",
            option,
            lambda v, o=option: ["ledger", "set", f"{o}={v}", CUSTOMER],
            bad_choice(valid),
            CHOICE_RULES,
        )
        for option, valid in (
            ("--privilege", {"none", "postpaid", "prepaid"}),
            ("--group", {"none", "admin", "member"}),
        )
    ),
    Field(
        "health",
        "--endpoint",
        lambda v: ["health", f"--endpoint={v}"],
        bad_endpoints,
        (ENDPOINT.RULE,),
    ),
    Field(
        "ledger set",
        "--savings-unit",
        lambda v: ["ledger", "set", f"--savings-unit={v}", CUSTOMER],
        bad_text(MAX_SAVINGS_UNIT_LENGTH),
        _text_rules(MAX_SAVINGS_UNIT_LENGTH),
    ),
    *(
        Field(
            f"db {command}",
            "--database-url",
            lambda v, c=command: ["db", c, f"--database-url={v}"],
            bad_database_urls,
            DATABASE_URL_RULES,
        )
        for command in ("upgrade", "current")
    ),
]


def test_every_command_with_a_field_is_fuzzed() -> None:
    covered = {field.command for field in FIELDS}
    commands = {name for name in cli.commands if name not in GROUPS}
    for group in GROUPS:
        subcommands = cli.commands[group]
        assert isinstance(subcommands, click.Group)
        commands |= {f"{group} {name}" for name in subcommands.commands if name != "seed-demo"}
    assert covered == commands


def _fields_of(command: click.Command) -> set[str]:
    """The names of the parameters that take a value (flags cannot be bad)."""
    names = set()
    for param in command.params:
        if isinstance(param, click.Option) and (param.is_flag or param.is_bool_flag):
            continue
        if isinstance(param, click.Argument):
            names.add(param.human_readable_name)
        else:
            names.add(max((o for o in param.opts if o.startswith("--")), key=len))
    return names


def test_every_field_of_every_command_is_fuzzed() -> None:
    commands: dict[str, click.Command] = {
        name: command for name, command in cli.commands.items() if name not in GROUPS
    }
    for group in GROUPS:
        subcommands = cli.commands[group]
        assert isinstance(subcommands, click.Group)
        commands |= {f"{group} {name}": command for name, command in subcommands.commands.items()}
    for name, command in commands.items():
        fuzzed = {field.name for field in FIELDS if field.command == name}
        assert fuzzed == _fields_of(command), name


# ---- nothing may be contacted or written ------------------------------------------------


@contextmanager
def nothing_reachable(database: Path) -> Iterator[list[str]]:
    """Temporal at a dead port and a database file that must not appear; any
    attempt to connect to either is recorded."""
    attempts: list[str] = []
    original_connect = UnbindingClient.connect.__func__  # type: ignore[attr-defined]
    original_init = SqlPartnerCenter.__init__

    async def connect(cls: type[UnbindingClient], **options: Any) -> UnbindingClient:
        attempts.append("temporal")
        return await original_connect(cls, **options)

    def open_database(self: SqlPartnerCenter, url: str, **options: Any) -> None:
        attempts.append("database")
        original_init(self, url, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEMPORAL_ADDRESS", NOWHERE)
        patch.setenv("UNBIND_DATABASE_URL", f"sqlite:///{database}")
        patch.setattr(UnbindingClient, "connect", classmethod(connect))
        patch.setattr(SqlPartnerCenter, "__init__", open_database)
        yield attempts


@pytest.fixture(scope="module")
def database() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        yield Path(directory) / "never.db"


def _field_by_index(index: int) -> Field:
    return FIELDS[index % len(FIELDS)]


@fuzz
@given(data=st.data(), as_json=st.booleans())
def test_bad_input_in_any_field_exits_2_naming_it(
    data: st.DataObject, as_json: bool, database: Path
) -> None:
    field = data.draw(st.sampled_from(FIELDS), label="field")
    value = data.draw(field.values, label=f"{field.command} {field.name}")
    args = field.build(value)
    if as_json:
        after_command = 2 if args[0] in GROUPS else 1
        args = [*args[:after_command], "--json", *args[after_command:]]

    with nothing_reachable(database) as attempts:
        result = CliRunner().invoke(cli, args, catch_exceptions=False)

    assert result.exit_code == 2, (args, result.output, result.stderr)
    if as_json:
        error = json.loads(result.stdout)
        assert error["field"] == field.name, (args, error)
        message = error["error"]
    else:
        assert result.stdout == ""
        message = result.stderr
        assert "Traceback" not in message
    assert field.name in message, (args, message)
    assert any(rule in message for rule in field.rules), (args, message)
    assert attempts == []
    assert not database.exists()


# ---- the real command, as a user runs it --------------------------------------------------

REAL_CASES = {
    "Arabic-Indic digits": (
        [
            "confirm",
            "--customer",
            "\u0662\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0661",
            "--as",
            CUSTOMER,
        ],
        "--customer",
    ),
    "leading zero": ([*APPLY, "--customer", "020000000001"], "--customer"),
    "zero-width space in a UIN": ([*APPLY, "--initiator", "10000\u200b000002"], "--initiator"),
    "bidi override in a reason": (
        ["withdraw", "--customer", CUSTOMER, "--as", RESELLER, "--reason", "ok\u202egnp.exe"],
        "--reason",
    ),
    "escape sequence in a reason": (
        ["reject", "--customer", CUSTOMER, "--as", CUSTOMER, "--reason", "\x1b[2Jgone"],
        "--reason",
    ),
    "over-long reason": (
        [*APPLY, "--reason", "x" * (SETTINGS.max_reason_length + 1)],
        "--reason",
    ),
    "blank reason": (
        ["withdraw", "--customer", CUSTOMER, "--as", RESELLER, "--reason", " "],
        "--reason",
    ),
    "credit that overflows": (["ledger", "set", CUSTOMER, "--credit", "1e999999999"], "--credit"),
}


@pytest.mark.parametrize(("args", "field"), REAL_CASES.values(), ids=REAL_CASES.keys())
def test_the_real_command_refuses_bad_input_without_a_trace(
    args: list[str], field: str, tmp_path: Path
) -> None:
    database = tmp_path / "never.db"
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": NOWHERE,
        "UNBIND_DATABASE_URL": f"sqlite:///{database}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "starter.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert f"Invalid value for '{field}'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not database.exists()
