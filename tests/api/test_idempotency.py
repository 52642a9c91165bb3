"""``Idempotency-Key`` is the action's ``action_id``: the same request twice has
one effect and gets the same answer; a missing or malformed key is 422 and
reaches nothing."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.api.conftest import (
    Stack,
    World,
    act,
    assert_problem,
    build_world,
    state_of,
    submitted,
    timeline_of,
)
from tests.conftest import eventually
from workflows.model import UnbindStatus

pytestmark = pytest.mark.integration
S = UnbindStatus

MALFORMED_KEYS = {
    "empty": "",
    "space inside": "two words",
    "too long": "k" * 129,
    "slash": "a/b",
    "non-ASCII": "clé-1234",
}


async def test_the_same_request_twice_has_one_effect_and_one_answer(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    world = build_world(stack, card=True)
    await submitted(http, world)
    review_key = "review-once-1"
    first = await act(http, world, "distributor", "review", {"approve": True}, key=review_key)
    again = await act(http, world, "distributor", "review", {"approve": True}, key=review_key)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json() == again.json()
    assert first.json()["status"] == S.PENDING_CUSTOMER_CONFIRMATION.value

    # Sent again after the application moved on (and ended): still the first answer.
    confirm_key = "confirm-once-1"
    confirmed = await act(http, world, "customer", "confirm", key=confirm_key)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["accepted"] is True
    await eventually(lambda: state_of(http, world), lambda s: s["status"] == S.COMPLETED.value)
    late = await act(http, world, "customer", "confirm", key=confirm_key)
    assert late.status_code == 200, late.text
    assert late.json()["accepted"] is True

    state = await state_of(http, world)
    accepted = Counter(e["action"] for e in timeline_of(state) if e["accepted"])
    assert accepted == {"review": 1, "confirm": 1}
    [record] = stack.partner_center.records(world.customer)
    assert record.status is S.COMPLETED
    for uin in (world.customer, world.initiator, world.distributor):
        events = [m["event"] for m in stack.partner_center.inbox(uin)]
        assert len(events) == len(set(events)), (uin, events)


async def test_the_same_key_at_the_same_time_has_one_effect(
    http: httpx.AsyncClient, stack: Stack, world: World
) -> None:
    await submitted(http, world)
    answers = await asyncio.gather(
        *(
            act(http, world, "distributor", "review", {"approve": True}, key="same-1")
            for _ in range(5)
        )
    )
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1
    state = await state_of(http, world)
    assert [e["action"] for e in timeline_of(state) if e["accepted"]] == ["review"]


async def test_a_new_key_is_a_new_action(http: httpx.AsyncClient, world: World) -> None:
    await submitted(http, world)
    assert (await act(http, world, "distributor", "review", {"approve": True})).status_code == 200
    # Another key: a second review, refused because the review is done.
    second = await act(http, world, "distributor", "review", {"approve": True})
    assert_problem(second, 409)


async def test_a_missing_or_malformed_key_is_bad_input(
    http: httpx.AsyncClient, world: World
) -> None:
    await submitted(http, world)
    path = f"/applications/{world.customer}/review"
    missing = await http.post(path, json={"approve": True}, headers=world.as_("distributor"))
    problem = assert_problem(missing, 422)
    assert any("idempotency" in str(e["field"]).lower() for e in problem["errors"]), problem
    for name, key in MALFORMED_KEYS.items():
        headers = {**world.as_("distributor"), "Idempotency-Key": key}
        try:
            response = await http.post(path, json={"approve": True}, headers=headers)
        except (UnicodeEncodeError, httpx.LocalProtocolError):
            continue  # the client will not even send it
        problem = assert_problem(response, 422)
        assert any("idempotency" in str(e["field"]).lower() for e in problem["errors"]), (
            name,
            problem,
        )
    state = await state_of(http, world)
    assert state["status"] == S.PENDING_DISTRIBUTOR_REVIEW.value
    assert timeline_of(state) == []


async def test_a_key_reused_for_another_request_has_no_effect(
    http: httpx.AsyncClient, world: World
) -> None:
    await submitted(http, world)
    key = "reused-key-1"
    first = await act(http, world, "distributor", "review", {"approve": True}, key=key)
    assert first.status_code == 200, first.text
    # Another body, then another action and party, under the same key.
    for role, action, body in (
        ("distributor", "review", {"approve": False, "reason": "changed"}),
        ("customer", "confirm", {}),
    ):
        response = await act(http, world, role, action, body, key=key)
        assert response.status_code in (409, 422), (action, response.text)
        assert_problem(response, response.status_code)
    state = await state_of(http, world)
    assert state["status"] == S.PENDING_CUSTOMER_CONFIRMATION.value
    assert [e["action"] for e in timeline_of(state) if e["accepted"]] == ["review"]
