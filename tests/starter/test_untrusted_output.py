"""What ``unbind`` prints of text someone typed (reasons, names) or a stored
message: refused at the edge when new (exit 2, naming the option), and shown
as one visible line per field when it got in another way (an older history,
a raw Temporal client, the database itself)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from activities.sql import SqlPartnerCenter
from starter.cli import cli
from starter.cli.output import account_text, action_text, state_text
from tests.states import CUSTOMER, NOW, RESELLER, submitted_state
from workflows.model import (
    ActionResult,
    CheckName,
    CutoverPlan,
    Effective,
    FailedCheck,
    Notification,
    PartnerKind,
    TimelineEntry,
    UnbindingState,
    UnbindStatus,
)
from workflows.texts import confirmation_requested, describe, plan_lines

HOSTILE = {
    "forged line": "ok\n  status       COMPLETED",
    "line separator": "ok\u2028  status       COMPLETED",
    "zero width": "pay\u200bpal\ufeff",
    "markdown": "[click](http://evil.example)",
}
FORGED = "status       COMPLETED"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SQLite file on purpose, whatever UNBIND_TEST_DATABASE says: a refused
    input must leave it uncreated, which a file shows."""
    path = tmp_path / "x.db"
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
    monkeypatch.setenv("UNBIND_DATABASE_URL", f"sqlite:///{path}")
    return path


@pytest.fixture
def ledger_url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's partner-center database (tests/conftest.py, SQLite or
    PostgreSQL), where the CLI reads too."""
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
    monkeypatch.setenv("UNBIND_DATABASE_URL", database_url)
    return database_url


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def assert_shown_safely(shown: str, text: str) -> None:
    """No line of ``shown`` starts with a later line of ``text``; nothing invisible."""
    for fragment in text.splitlines()[1:]:
        assert not any(line.strip().startswith(fragment.strip()) for line in shown.splitlines())
    assert not any(unicodedata.category(c) == "Cf" for c in shown), ascii(shown)


# ---- the edge: new text is one visible line ----------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["withdraw", "--customer", CUSTOMER, "--as", RESELLER],
        ["reject", "--customer", CUSTOMER, "--as", CUSTOMER],
        ["review", "--customer", CUSTOMER, "--as", RESELLER, "--reject"],
        ["apply", "--customer", CUSTOMER, "--initiator", RESELLER, "--acknowledge-notice"],
        ["close-terminated", "--customer", CUSTOMER, "--as", "operator:ops"],
    ],
    ids=lambda args: args[0],
)
@pytest.mark.parametrize(
    ("reason", "rule"),
    [
        ("ok\n**Status:** COMPLETED", "one line"),
        ("ok\u2028Status: COMPLETED", "one line"),
        ("pay\u200bpal", "U+200B"),
        ("a\u2060b", "U+2060"),
        ("\ufeffhello", "U+FEFF"),
    ],
)
def test_a_reason_with_a_line_break_or_an_invisible_character_is_refused(
    args: list[str], reason: str, rule: str, database: Path
) -> None:
    result = run(*args, "--reason", reason, "--json")

    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)
    assert error["field"] == "--reason"
    assert rule in error["error"]


@pytest.mark.parametrize("name", ["Acme\nforged: yes", "Ac\u200bme"])
def test_a_display_name_with_a_line_break_or_an_invisible_character_is_refused(
    name: str, database: Path
) -> None:
    result = run("ledger", "add-partner", RESELLER, "--kind", "reseller", "--name", name, "--json")

    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["field"] == "--name"
    assert not database.exists()


# ---- what got in another way is shown one line per field -------------------------------


def _state(text: str) -> UnbindingState:
    return submitted_state(
        status=UnbindStatus.WITHDRAWN,
        outcome_reason=text,
        failed_checks=[FailedCheck(check=CheckName.CREDIT, hint=text)],
        timeline=[
            TimelineEntry(at=NOW, actor=RESELLER, action="withdraw", accepted=True, reason=text)
        ],
    )


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_status_text_shows_reasons_hints_and_the_timeline_one_line_each(text: str) -> None:
    shown = state_text(_state(text), "COMPLETED")

    assert_shown_safely(shown, text)
    assert len(shown.splitlines()) == len(state_text(_state("plain"), "COMPLETED").splitlines())


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_refusal_is_one_line(text: str) -> None:
    result = ActionResult(accepted=False, status=UnbindStatus.WITHDRAWN, reason=text)
    shown = action_text(f"unbind-{CUSTOMER}", result)

    assert_shown_safely(shown, text)
    assert len(shown.splitlines()) == 1


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_ledger_show_prints_a_stored_name_on_one_line(
    text: str, ledger_url: str, partner_center: SqlPartnerCenter
) -> None:
    pc = partner_center
    pc.add_partner(RESELLER, kind=PartnerKind.RESELLER, name=text)  # past the CLI
    shown = run("ledger", "show", RESELLER)

    assert shown.exit_code == 0, shown.output
    assert_shown_safely(shown.stdout, text)
    assert account_text({"name": text}).count("\n") == 0


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_inbox_prints_each_stored_line_visibly(
    text: str, ledger_url: str, partner_center: SqlPartnerCenter
) -> None:
    pc = partner_center
    pc.deliver(
        Notification(
            application_id="app-12345678",
            workflow_id=f"unbind-{CUSTOMER}",
            event="withdrawn",
            recipients=(RESELLER,),
            subject=f"Subject {text}",
            body="Line one.\nLine two.",
            at=NOW,
        )
    )
    shown = run("inbox", "--account", RESELLER)

    assert shown.exit_code == 0, shown.output
    assert_shown_safely(shown.stdout, text)
    # A body's own lines are kept.
    assert "    Line one." in shown.stdout and "    Line two." in shown.stdout


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_discount_name_in_the_cutover_plan_is_one_line(text: str) -> None:
    """Discount names come from the partner center (issue 13, item 5): shown in
    ``unbind status``, the Web UI's details and every message, one line each."""
    plan = CutoverPlan(
        effective=Effective.END_OF_MONTH,
        effective_on=NOW,
        discounts_ending=(text, "plain"),
        delayed_bills="delayed bills stay with the reseller",
    )
    shown = state_text(submitted_state(plan=plan), "RUNNING")
    plain = state_text(
        submitted_state(plan=plan.model_copy(update={"discounts_ending": ("x",)})), "RUNNING"
    )

    assert_shown_safely(shown, text)
    assert len(shown.splitlines()) == len(plain.splitlines())
    details = describe(submitted_state(plan=plan))
    assert_shown_safely(details, text)
    assert "](http" not in details  # the markdown link is escaped, not rendered
    body = confirmation_requested(RESELLER, plan).body
    assert len(body.splitlines()) == len(plan_lines(plan)) + 1
