"""The field types every message is made of: account ids, actors, action
ids and free text, with the rules that make text safe to show to others.

Free text has two rules: the one every stored message is decoded with
(``text_problem``, lenient, so recorded histories keep decoding) and the
stricter one for new text at the edge (``new_text_problem``, asked for with
the ``NEW_TEXT`` validation context by the client and the CLI).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints, ValidationInfo

from workflows.settings import SETTINGS

UIN_PATTERN = r"^[1-9][0-9]{4,19}$"
OPERATOR_PATTERN = r"^operator:[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
# Control characters (C0 but tab and newline, DEL, C1); bidirectional
# embeddings, overrides and isolates, which make text shown to other parties
# read differently from what it says; lone surrogates, which are not text.
_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# Everything str.splitlines() breaks a line at.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


# Characters that show nothing yet are not format characters (category Cf):
# the combining grapheme joiner, Hangul and Khmer fillers.
_BLANK_LOOKING = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0")


def text_problem(value: str) -> str | None:
    """Why ``value`` is not acceptable free text (a reason, a name), or None.

    The rule every recorded value already met: the workflow decodes its input
    and actions with it on replay, so it must never grow stricter (see
    :func:`new_text_problem` for the rule new text is held to)."""
    if not value.strip():
        return "must not be blank: leave it out instead"
    if _UNSAFE_CHARS.search(value):
        return "must not contain control, bidirectional-override or surrogate characters"
    return None


def invisible_character(value: str) -> str | None:
    """The first character of ``value`` that takes no visible place (zero-width
    and other format characters, fillers), or None."""
    for char in value:
        if unicodedata.category(char) == "Cf" or char in _BLANK_LOOKING:
            return char
    return None


def new_text_problem(value: str) -> str | None:
    """Why ``value`` may not be sent as new free text, or None: the rule of
    :func:`text_problem`, and one line of visible characters, because the text
    is shown to other people (a line break forges a line in ``unbind status``;
    an invisible character makes two words look like one). Applied at the
    edge only (client builders, CLI), never to what the workflow decodes."""
    if value.strip() and any(char in _LINE_BREAKS for char in value):
        return "must be one line: no line breaks"
    problem = text_problem(value)
    if problem:
        return problem
    invisible = invisible_character(value)
    if invisible is not None:
        return (
            "must not contain invisible characters such as zero-width or format "
            f"characters (found U+{ord(invisible):04X})"
        )
    return None


NEW_TEXT = "new_text"
"""Validation context key: set (``{NEW_TEXT: True}``) where new text enters,
so free text is held to :func:`new_text_problem`; values decoded from history
are not."""


def _plain_text(value: str, info: ValidationInfo) -> str:
    context = info.context or {}
    problem = new_text_problem(value) if context.get(NEW_TEXT) else text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Uin = Annotated[str, StringConstraints(pattern=UIN_PATTERN)]
"""An account id: digits only, no leading zero, 5-20 digits. Always text."""

Actor = Annotated[str, StringConstraints(pattern=f"{UIN_PATTERN}|{OPERATOR_PATTERN}")]
"""Who takes an action: a UIN, or ``operator:<name>`` for an operator."""

Reason = Annotated[
    str,
    StringConstraints(max_length=SETTINGS.max_reason_length),
    AfterValidator(_plain_text),
]
ActionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:@-]{1,128}$")]


def is_operator(actor: str) -> bool:
    return actor.startswith("operator:")
