"""Untrusted text in what people read (``workflows/texts.py``): a reason, a
hint or a name is shown on one line, with nothing invisible and, in markdown,
nothing live, whatever it holds. Histories may hold such text from before the
edge refused it, and a raw Temporal client bypasses the edge, so the texts
must be safe on their own."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.states import CUSTOMER, NOW, RESELLER, submitted_state
from workflows import texts
from workflows.fields import NEW_TEXT, new_text_problem, text_problem
from workflows.model import (
    ApplicationInput,
    CheckName,
    FailedCheck,
    RejectAction,
    ReviewAction,
    UnbindStatus,
    WithdrawAction,
)
from workflows.texts import markdown_text, one_line

LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff", "\u00ad"]
HOSTILE = {
    "newline": "ok\n**Status:** COMPLETED",
    "carriage return": "ok\rStatus: COMPLETED",
    "crlf": "line\r\nforged: yes",
    "line separator": "ok\u2028Status: COMPLETED",
    "link": "[click](http://evil.example)",
    "image": "![x](http://evil.example/x.png)",
    "heading": "# Approved by the provider",
    "list": "- item",
    "ordered list": "1. item",
    "emphasis": "**bold** _em_ *it* ~~gone~~",
    "backticks": "`code` ```fence```",
    "html": "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "entity": "&lt;b&gt; &#10;",
    "table": "| a | b |",
    "autolinks": "see www.evil.example, https://evil.example or a@evil.example",
    "zero width": "a\u200bb\u200dc\u2060d\ufeffe",
    "bidi": "\u202eevil\u202c",
    "escape": "\\*not bold\\*",
}
# What markdown_text leaves escaped: everything it must neutralise.
LIVE_MARKDOWN = set("\\`*_[]()<>&|~!@")


def unescaped(markdown: str) -> str:
    """What a markdown renderer shows for text with backslash escapes only."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def live_characters(markdown: str) -> list[str]:
    """Markdown characters in ``markdown`` that no backslash escapes."""
    stripped = re.sub(r"\\[!-/:-@\[-`{-~]", "", markdown)
    return [char for char in stripped if char in LIVE_MARKDOWN]


def assert_one_visible_line(text: str) -> None:
    assert len(text.splitlines()) <= 1, text
    assert not any(unicodedata.category(c) in ("Cf", "Cc", "Cs") for c in text), ascii(text)
    assert text == text.strip()


# ---- one_line: plain text ---------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_is_one_visible_line(text: str) -> None:
    assert_one_visible_line(one_line(text))
    assert_one_visible_line(markdown_text(text))


@pytest.mark.parametrize("brk", LINE_BREAKS, ids=[ascii(b) for b in LINE_BREAKS])
def test_every_line_break_becomes_a_space(brk: str) -> None:
    assert one_line(f"ok{brk}Status: COMPLETED") == "ok Status: COMPLETED"


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_invisible_characters_go(char: str) -> None:
    assert one_line(f"pay{char}pal") == "paypal"


def test_words_and_their_punctuation_stay() -> None:
    assert one_line("  Contract ended;  moving to\ta direct account. ") == (
        "Contract ended; moving to a direct account."
    )
    assert one_line("Vertrag gekündigt — 合同结束") == "Vertrag gekündigt — 合同结束"


# ---- markdown_text: markdown that renders as the text ----------------------------------


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_markdown_is_escaped(text: str) -> None:
    shown = markdown_text(text)
    assert not live_characters(shown), shown
    assert unescaped(shown) == one_line(text)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("[click](http://evil.example)", r"\[click\]\(http\://evil.example\)"),
        ("# big", r"\# big"),
        ("- item", r"\- item"),
        ("+ item", r"\+ item"),
        ("12. item", r"12\. item"),
        ("ok\n**Status:** COMPLETED", r"ok \*\*Status:\*\* COMPLETED"),
        ("www.evil.example", r"www\.evil.example"),
        ("contract ended", "contract ended"),
    ],
)
def test_markdown_escapes(text: str, shown: str) -> None:
    assert markdown_text(text) == shown


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_one_line_of_inert_markdown(text: str) -> None:
    shown = markdown_text(text)
    assert_one_visible_line(shown)
    assert not live_characters(shown), shown
    assert unescaped(shown) == one_line(text)
    assert not re.match(r"[#>+=-]|[0-9]+[.)]", shown), shown


# ---- the texts themselves -----------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_web_ui_details_show_a_reason_and_a_hint_on_their_own_line(text: str) -> None:
    def details(reason: str) -> list[str]:
        return texts.describe(
            submitted_state(
                status=UnbindStatus.WITHDRAWN,
                outcome_reason=reason,
                failed_checks=[FailedCheck(check=CheckName.CREDIT, hint=reason)],
            )
        ).splitlines()

    lines = details(text)
    assert len(lines) == len(details("plain"))
    [reason_line] = [line for line in lines if line.startswith("**Reason:**")]
    assert reason_line == f"**Reason:** {markdown_text(text)}"
    [hint_line] = [line for line in lines if line.startswith("- `credit`")]
    assert hint_line == f"- `credit`: {markdown_text(text)}"


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_system_messages_carry_a_reason_on_the_body_line(text: str) -> None:
    def outcome(status: UnbindStatus, *, closed_by: str | None = None) -> texts.Message:
        return texts.outcome(
            status,
            customer_uin=CUSTOMER,
            reseller_uin=RESELLER,
            effective_at=None,
            reason=text,
            closed_by=closed_by,
        )

    messages = [
        # Built without validation: the texts must not rely on any rule.
        texts.review_decided(
            ReviewAction.model_construct(
                action_id="a-1", actor="30000000003", approve=False, reason=text
            )
        ),
        texts.customer_decided(
            CUSTOMER, RejectAction.model_construct(action_id="a-2", actor=CUSTOMER, reason=text)
        ),
        outcome(UnbindStatus.WITHDRAWN),
        # The repair's message (starter/repair.py).
        outcome(UnbindStatus.CANCELLED, closed_by="operator:ops"),
    ]
    for message in messages:
        assert_one_visible_line(message.subject)
        assert_one_visible_line(message.body)
        assert message.body.endswith(f" Reason: {markdown_text(text)}"), message.body
    assert "closed by operator:ops." in messages[-1].body


# ---- the edge's rule and the lenient one ---------------------------------------------


@pytest.mark.parametrize(
    "text", [f"a{b}b" for b in ["\n", "\u2028", "\u2029"]] + [f"a{c}b" for c in INVISIBLE]
)
def test_new_text_must_be_one_visible_line_but_recorded_text_still_decodes(text: str) -> None:
    assert new_text_problem(text) is not None
    # What the workflow decodes on replay (no context): as lenient as ever.
    assert text_problem(text) is None
    payload = WithdrawAction(action_id="a-1", actor=RESELLER, reason=text).model_dump_json()
    assert WithdrawAction.model_validate_json(payload).reason == text
    # What the edge builds: refused, naming the field.
    with pytest.raises(ValidationError) as refused:
        WithdrawAction.model_validate_json(payload, context={NEW_TEXT: True})
    assert refused.value.errors()[0]["loc"] == ("reason",)


def test_an_application_recorded_with_a_two_line_reason_still_decodes() -> None:
    fields = {
        "application_id": "app-12345678",
        "customer_uin": CUSTOMER,
        "initiator_uin": RESELLER,
        "submitter_uin": RESELLER,
        "notice_acknowledged": True,
        "acknowledged_at": NOW,
        "reason": "contract ended\nsee ticket 42",
    }
    assert ApplicationInput.model_validate(fields).reason == fields["reason"]
    with pytest.raises(ValidationError, match="one line"):
        ApplicationInput.model_validate(fields, context={NEW_TEXT: True})


def test_bidi_overrides_were_always_refused() -> None:
    with pytest.raises(ValidationError, match="bidirectional"):
        RejectAction(action_id="a-1", actor=CUSTOMER, reason="\u202eevil")
    assert new_text_problem("\u202eevil") is not None


def test_markdown_and_punctuation_are_fine_at_the_edge() -> None:
    # They are shown escaped, not refused: people write "(see #42)".
    assert new_text_problem("[see](ticket #42) *urgent*") is None
