"""A reason is a person's free text, shown to other people: in ``unbind status``,
in the Web UI's current details (markdown) and in the inbox. It may hold
newlines, markdown and invisible characters that make the text read as
something it is not (a forged status line, a link, two words that look like
one).

Two outcomes are correct, and either passes: the edge refuses such a reason
(``unbind`` exits 2 naming the field, nothing is sent), or every place that
shows it shows it safely: no line starting with text taken from the reason,
no live markdown, no invisible characters.
"""

from __future__ import annotations

import unicodedata

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger, Parties
from tests.integration.conftest import Unbind, apply
from workflows.contract import workflow_id_for
from workflows.model import ActionResult, RejectAction
from workflows.texts import one_line

pytestmark = pytest.mark.integration

HOSTILE_REASONS = {
    "forged-status-line": "ok\n**Status:** COMPLETED",
    "markdown-link": "[click](http://evil.example)",
    "zero-width-space": "a\u200bb",
    "forged-line-crlf": "line\r\nforged: yes",
}
MARKDOWN = set("[]()*_`#<>|")


def unsafe_showings(shown: str, reason: str, where: str, *, markdown: bool) -> list[str]:
    """What is wrong with how ``shown`` shows ``reason`` (empty when it is safe)."""
    problems = []
    lines = [line.strip() for line in shown.splitlines()]
    for fragment in reason.splitlines()[1:]:
        fragment = fragment.strip()
        if fragment and any(line.startswith(fragment) for line in lines):
            problems.append(f"{where}: a line starts with {fragment!r}, taken from the reason")
    invisible = {c for c in reason if unicodedata.category(c) == "Cf"}
    if any(c in shown for c in invisible):
        problems.append(f"{where}: shows the reason's invisible characters {sorted(invisible)!r}")
    if markdown and MARKDOWN & set(reason) and reason in shown:
        problems.append(f"{where}: shows the reason's markdown unescaped: {reason!r}")
    if markdown and "\n" in reason and reason in shown:
        problems.append(f"{where}: shows the reason's newlines raw")
    return problems


@pytest.fixture
async def applied(ledger: Ledger, unbind: Unbind) -> Parties:
    """A direct customer whose application was submitted through ``unbind``."""
    parties = ledger.direct()
    assert (await apply(unbind, parties)).code == 0
    return parties


@pytest.mark.parametrize("reason", HOSTILE_REASONS.values(), ids=HOSTILE_REASONS.keys())
async def test_a_hostile_withdrawal_reason_is_refused_or_shown_safely(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    unbind: Unbind,
    applied: Parties,
    reason: str,
) -> None:
    parties = applied

    withdrawn = await unbind(
        "withdraw", "--customer", parties.customer, "--as", parties.reseller, "--reason", reason
    )
    if withdrawn.code == 2:
        # Refused at the edge: the error names the field, and nothing was sent.
        assert "reason" in (withdrawn.data or {}).get("field", ""), withdrawn
        status = await unbind("status", "--customer", parties.customer)
        assert status.data["status"] == "PENDING_CUSTOMER_CONFIRMATION", status.data
        return
    assert withdrawn.code == 0 and withdrawn.data["accepted"], withdrawn

    problems: list[str] = []
    status = await unbind("status", "--customer", parties.customer, json=False)
    assert status.code == 0, status
    problems += unsafe_showings(status.stdout, reason, "unbind status", markdown=False)

    handle = dev_env.client.get_workflow_handle(workflow_id_for(parties.customer))
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    problems += unsafe_showings(
        metadata.current_details, reason, "Web UI current details", markdown=True
    )

    for uin in (parties.reseller, parties.customer):
        for message in partner_center.inbox(uin):
            where = f"inbox of {uin}, {message['event']}"
            problems += unsafe_showings(message["subject"], reason, where, markdown=True)
            problems += unsafe_showings(message["body"], reason, where, markdown=True)

    assert not problems, "\n".join(problems)


# What a raw Temporal client can still send: the workflow decodes actions with
# the rule every recorded value met (no control characters), not the edge's
# stricter one, so these reach the history, as they may have before the edge
# refused them.
BYPASSING_REASONS = {
    "forged-status-line": "ok\n**Status:** COMPLETED",
    "line-separator": "ok\u2028Status: COMPLETED",
    "markdown-link-and-image": "[click](http://evil.example) ![x](http://evil.example/x.png)",
    "zero-width-and-bom": "a\u200bb\u2060c\ufeffd",
    "heading-and-html": "# big\n<script>alert(1)</script> `code` _em_",
}


@pytest.mark.parametrize("reason", BYPASSING_REASONS.values(), ids=BYPASSING_REASONS.keys())
async def test_a_hostile_reason_sent_past_the_edge_is_shown_safely(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    unbind: Unbind,
    applied: Parties,
    reason: str,
) -> None:
    parties = applied

    # The customer rejects through a raw client (no edge), with the reason.
    handle = dev_env.client.get_workflow_handle(workflow_id_for(parties.customer))
    rejection = RejectAction(action_id="raw-reject-1", actor=parties.customer, reason=reason)
    answer = await handle.execute_update(
        "reject", rejection, id=rejection.action_id, result_type=ActionResult
    )
    assert answer.accepted, answer

    problems: list[str] = []
    status = await unbind("status", "--customer", parties.customer, json=False)
    assert status.code == 0, status
    assert "CUSTOMER_REJECTED" in status.stdout, status
    problems += unsafe_showings(status.stdout, reason, "unbind status", markdown=False)

    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    problems += unsafe_showings(
        metadata.current_details, reason, "Web UI current details", markdown=True
    )

    messages = 0
    for uin in (parties.reseller, parties.customer):
        for message in partner_center.inbox(uin):
            where = f"inbox of {uin}, {message['event']}"
            problems += unsafe_showings(message["subject"], reason, where, markdown=True)
            problems += unsafe_showings(message["body"], reason, where, markdown=True)
            messages += 1
        inbox = await unbind("inbox", "--account", uin, json=False)
        assert inbox.code == 0, inbox
        problems += unsafe_showings(inbox.stdout, reason, f"unbind inbox {uin}", markdown=False)
    assert messages, "no system message was sent"

    assert not problems, "\n".join(problems)
    # What was said is still there to read, on one line.
    words = [word for word in one_line(reason).split() if word.isalpha()]
    assert all(word in status.stdout for word in words), status.stdout
