"""Every error answer the API documents has plain words in the console,
with the details a person needs and no status code to decode."""

from __future__ import annotations

import pytest

from starter.api.app import ERROR_RESPONSES
from starter.api.problems import ApiProblem
from starter.console.words import STATUS_WORDS, trouble_of
from workflows.model import UnbindStatus

PROBLEMS = {
    401: ApiProblem(401, "the token has expired"),
    403: ApiProblem(403, "1 may not review", allowed="only the customer's distributor may review"),
    404: ApiProblem(404, "no application for customer 123456 that you may see"),
    409: ApiProblem(409, "not in this state", application_status="WITHDRAWN"),
    422: ApiProblem(422, "bad", errors=[{"field": "reason", "rule": "one visible line"}]),
    503: ApiProblem(503, "Temporal: unavailable", action_id="console-confirm-1"),
}


@pytest.mark.parametrize("status", sorted(ERROR_RESPONSES))
def test_every_documented_error_has_plain_words(status: int) -> None:
    trouble = trouble_of(PROBLEMS[status])
    assert trouble.status == status
    text = " ".join([trouble.title, trouble.sentence, *trouble.details])
    assert str(status) not in text
    expected = {
        401: "sign in again",
        403: "only the customer's distributor may review",
        404: "not one of yours",
        409: "Withdrawn by the reseller",
        422: "reason: one visible line",
        503: "console-confirm-1",
    }[status]
    assert expected in text


def test_failed_checks_are_listed_by_name() -> None:
    checks = [{"check": "root_account", "hint": "log in with the root account"}]
    trouble = trouble_of(ApiProblem(409, "not accepted", failed_checks=checks))
    assert trouble.title == "The application was not accepted"
    assert trouble.failed_checks == checks


def test_every_status_has_words() -> None:
    assert set(STATUS_WORDS) == set(UnbindStatus)
