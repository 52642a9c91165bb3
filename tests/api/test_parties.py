"""Who may see and do what through the HTTP API, every endpoint by every kind
of caller: the customer, its partner (the initiator) and the partner's
sub-user, the customer's sub-user, the customer's distributor, another
reseller, another distributor, and an operator.

Expected answers come from SPEC section 4 (``tests.workflows.spec_oracle``)
and the contract's visibility rule (``VISIBLE_TO``): the allowed party acts;
a party that may see the application but not take the action gets 403
naming who may; anyone who may not see it gets exactly the 404 of a missing
application; the right party in the wrong state gets 409. A refusal changes
nothing.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.api.conftest import (
    VISIBLE_TO,
    Stack,
    World,
    act,
    assert_problem,
    build_world,
    listed_items,
    state_of,
    submit,
    submitted,
    timeline_of,
)
from tests.conftest import eventually, fresh_uin
from tests.workflows.spec_oracle import (
    ALLOWED_ROLES,
    HUMAN_WAITS,
    ROLES,
    SPEC_ACCEPTED_IN,
    Role,
    spec_allows,
)
from workflows.model import ActionKind, UnbindStatus

pytestmark = pytest.mark.integration
S = UnbindStatus
K = ActionKind

BODIES: dict[ActionKind, dict[str, Any]] = {
    K.RESELLER_REVIEW: {"approve": True},
    K.REVIEW: {"approve": True},
    K.REJECT: {"reason": "staying with our partner"},
    K.WITHDRAW: {"reason": "changed our mind"},
}
# Words the 403's ``allowed`` must contain: who SPEC section 4 lets act.
ALLOWED_WORDS: dict[ActionKind, tuple[str, ...]] = {
    K.RESELLER_REVIEW: ("reseller",),
    K.REVIEW: ("distributor",),
    K.CONFIRM: ("customer",),
    K.REJECT: ("customer",),
    K.CARD_BOUND: ("customer",),
    K.WITHDRAW: ("initiator",),
    K.RECHECK: ("initiator", "operator"),
}


def without(body: dict[str, Any], text: str) -> dict[str, Any]:
    """The problem body with one customer's UIN blanked, to compare two 404s."""
    return {k: (v.replace(text, "<uin>") if isinstance(v, str) else v) for k, v in body.items()}


async def missing_404(http: httpx.AsyncClient, world: World, role: Role, kind: ActionKind) -> Any:
    """What ``role`` gets for the same action on a customer with no application."""
    nobody = fresh_uin()
    response = await http.post(
        f"/applications/{nobody}/{kind.value}",
        json=BODIES.get(kind, {}),
        headers={**world.as_(role), "Idempotency-Key": fresh_uin()},
    )
    return without(assert_problem(response, 404), nobody)


async def expect_refused(
    http: httpx.AsyncClient, world: World, role: Role, kind: ActionKind, status: UnbindStatus
) -> None:
    response = await act(http, world, role, kind.value, BODIES.get(kind))
    where = (role, kind.value, status.value)
    if role not in VISIBLE_TO:
        body = assert_problem(response, 404)
        expected = await missing_404(http, world, role, kind)
        assert without(body, world.customer) == expected, where
    elif role not in ALLOWED_ROLES[kind]:
        if status in SPEC_ACCEPTED_IN[kind]:
            body = assert_problem(response, 403)
        else:  # wrong party and wrong state: either refusal is right
            assert response.status_code in (403, 409), (where, response.text)
            body = assert_problem(response, response.status_code)
        if response.status_code == 403:
            allowed = body["allowed"].lower()
            assert all(word in allowed for word in ALLOWED_WORDS[kind]), (where, body)
    else:
        assert_problem(response, 409)


async def wrong_callers_change_nothing(
    http: httpx.AsyncClient, stack: Stack, world: World, status: UnbindStatus
) -> int:
    """Every caller but the one SPEC lets act tries every action; returns how
    many tries were made."""
    before = await state_of(http, world)
    assert before["status"] == status.value
    record_before = stack.partner_center.records(world.customer)
    tries = 0
    for kind in K:
        for role in ROLES:
            if spec_allows(role, kind, status, second_level=True):
                continue
            await expect_refused(http, world, role, kind, status)
            tries += 1
    after = await state_of(http, world)
    assert after["status"] == status.value
    accepted_before = [e for e in timeline_of(before) if e["accepted"]]
    assert [e for e in timeline_of(after) if e["accepted"]] == accepted_before
    assert stack.partner_center.records(world.customer) == record_before
    return tries


async def right_caller_acts(
    http: httpx.AsyncClient, world: World, role: Role, kind: ActionKind
) -> dict[str, Any]:
    response = await act(http, world, role, kind.value, BODIES.get(kind))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["accepted"] is True, answer
    return answer


async def test_every_action_by_every_caller_in_every_waiting_state(
    http: httpx.AsyncClient, stack: Stack, world: World
) -> None:
    answer = await submitted(http, world)
    assert answer["status"] == S.PENDING_DISTRIBUTOR_REVIEW.value

    await wrong_callers_change_nothing(http, stack, world, S.PENDING_DISTRIBUTOR_REVIEW)
    moved = await right_caller_acts(http, world, "distributor", K.REVIEW)
    assert moved["status"] == S.PENDING_CUSTOMER_CONFIRMATION.value

    await wrong_callers_change_nothing(http, stack, world, S.PENDING_CUSTOMER_CONFIRMATION)
    moved = await right_caller_acts(http, world, "customer", K.CONFIRM)
    assert moved["status"] == S.PENDING_CARD_BINDING.value

    await wrong_callers_change_nothing(http, stack, world, S.PENDING_CARD_BINDING)
    # The card is bound, but the account was frozen meanwhile: remediation.
    stack.partner_center.set_account(world.customer, card_bound=True, frozen=True)
    moved = await right_caller_acts(http, world, "customer", K.CARD_BOUND)
    assert moved["status"] == S.AWAITING_REMEDIATION.value

    await wrong_callers_change_nothing(http, stack, world, S.AWAITING_REMEDIATION)
    for who in ("operator", "initiator"):
        moved = await right_caller_acts(http, world, who, K.RECHECK)
        assert moved["status"] == S.AWAITING_REMEDIATION.value
    moved = await right_caller_acts(http, world, "initiator", K.WITHDRAW)
    assert moved["status"] == S.WITHDRAWN.value

    final = await state_of(http, world)
    accepted = [(e["action"], e["actor"]) for e in timeline_of(final) if e["accepted"]]
    assert accepted == [
        ("review", world.distributor),
        ("confirm", world.customer),
        ("card_bound", world.customer),
        ("recheck", f"operator:{'alice'}"),
        ("recheck", world.initiator),
        ("withdraw", world.initiator),
    ]
    assert HUMAN_WAITS  # the four states walked above are SPEC's human waits


async def test_the_customer_alone_rejects_and_a_direct_customer_has_no_review(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    world = build_world(stack, second_level=False)
    answer = await submitted(http, world)
    assert answer["status"] == S.PENDING_CUSTOMER_CONFIRMATION.value
    # Nobody reviews a direct reseller's customer: not even "its" distributor,
    # who is no party here at all.
    for role in ROLES:
        response = await act(http, world, role, "review", BODIES[K.REVIEW])
        assert response.status_code in (403, 404, 409), (role, response.text)
        assert_problem(response, response.status_code)
    assert_problem(await act(http, world, "distributor", "review", {"approve": True}), 404)
    moved = await right_caller_acts(http, world, "customer", K.REJECT)
    assert moved["status"] == S.CUSTOMER_REJECTED.value
    # Ended: the right party in a state that takes nothing any more.
    assert_problem(await act(http, world, "customer", "confirm"), 409)
    [record] = stack.partner_center.records(world.customer)
    assert record.status is S.CUSTOMER_REJECTED


async def test_who_may_read_an_application(http: httpx.AsyncClient, world: World) -> None:
    await submitted(http, world)
    nobody = fresh_uin()
    for role in ROLES:
        response = await http.get(f"/applications/{world.customer}", headers=world.as_(role))
        if role in VISIBLE_TO:
            assert response.status_code == 200, (role, response.text)
            state = response.json()
            assert state["status"] == S.PENDING_DISTRIBUTOR_REVIEW.value
            assert state["customer_uin"] == world.customer
            assert state["initiator_uin"] == world.initiator
            assert timeline_of(state) == []
        else:
            hidden = without(assert_problem(response, 404), world.customer)
            missing = await http.get(f"/applications/{nobody}", headers=world.as_(role))
            assert hidden == without(assert_problem(missing, 404), nobody), role
    # A malformed UIN in the path is bad input, not a missing application.
    assert_problem(await http.get("/applications/007", headers=world.as_("operator")), 422)


async def test_who_sees_an_application_in_the_list(http: httpx.AsyncClient, world: World) -> None:
    await submitted(http, world)

    async def rows_for(role: Role) -> list[dict[str, Any]]:
        response = await http.get(
            "/applications", params={"customer": world.customer}, headers=world.as_(role)
        )
        assert response.status_code == 200, (role, response.text)
        return [r for r in listed_items(response.json()) if r["customer_uin"] == world.customer]

    for role in ROLES:
        if role in VISIBLE_TO:
            rows = await eventually(lambda role=role: rows_for(role), bool)  # type: ignore[misc]
            assert len(rows) == 1, role
            assert rows[0]["status"] == S.PENDING_DISTRIBUTOR_REVIEW.value
    # By now the list view has the application: those who may not see it don't.
    for role in ROLES:
        if role not in VISIBLE_TO:
            assert await rows_for(role) == [], role


async def test_only_the_partners_root_account_submits(
    http: httpx.AsyncClient, stack: Stack, world: World
) -> None:
    def failed(response: httpx.Response) -> list[str]:
        body = assert_problem(response, 409)
        return [c["check"] for c in body["failed_checks"]]

    async def submit_as(role: Role) -> httpx.Response:
        return await http.post(
            "/applications",
            json={"customer_uin": world.customer, "acknowledge_notice": True},
            headers=world.as_(role),
        )

    # Initiator = the token's owner, submitter = its sub: the root_account check.
    assert failed(await submit_as("sub_user_of_initiator")) == ["root_account"]
    for role in ("other_reseller", "distributor", "other_distributor"):
        assert failed(await submit_as(role)) == ["relationship"], role
    # The customer's sub-user submits for the customer: the customer itself
    # initiates, which is no application at all (bad input) or a failed check.
    for role in ("customer", "sub_user_of_customer", "operator"):
        response = await submit_as(role)
        assert response.status_code in (403, 409, 422), (role, response.text)
        assert_problem(response, response.status_code)
    assert stack.partner_center.records(world.customer) == []

    answer = await submitted(http, world)
    assert answer["workflow_id"] == f"unbind-{world.customer}"
    assert answer["failed_checks"] == []
    again = await submit(http, world)
    body = assert_problem(again, 409)
    assert f"unbind-{world.customer}" in body["detail"]
    [record] = stack.partner_center.records(world.customer)
    assert record.initiator_uin == world.initiator


async def test_submission_input_is_checked(http: httpx.AsyncClient, world: World) -> None:
    bad_bodies: list[tuple[dict[str, Any], str]] = [
        ({"customer_uin": world.customer, "acknowledge_notice": False}, "acknowledge_notice"),
        ({"customer_uin": world.customer}, "acknowledge_notice"),
        ({"customer_uin": "0123", "acknowledge_notice": True}, "customer_uin"),
        (
            {"customer_uin": world.customer, "acknowledge_notice": True, "reason": "x" * 5000},
            "reason",
        ),
    ]
    for body, field in bad_bodies:
        response = await http.post("/applications", json=body, headers=world.as_("initiator"))
        problem = assert_problem(response, 422)
        assert any(field in str(e["field"]) for e in problem["errors"]), (field, problem)
    # A body that is not JSON at all (or not UTF-8) is bad input too: 422, as documented.
    for raw in (b"\xff", b"{not json", b""):
        for path in ("/applications", f"/applications/{world.customer}/withdraw"):
            headers = {
                **world.as_("initiator"),
                "Content-Type": "application/json",
                "Idempotency-Key": "raw-body-1",
            }
            response = await http.post(path, content=raw, headers=headers)
            if raw == b"" and path.endswith("withdraw"):
                continue  # no body: withdraw's fields are all optional
            assert_problem(response, 422)
    assert (
        await http.get(f"/applications/{world.customer}", headers=world.as_("operator"))
    ).status_code == 404


async def test_the_actor_always_comes_from_the_token(
    http: httpx.AsyncClient, stack: Stack, world: World
) -> None:
    # The initiator names another reseller as actor and initiator in the body.
    other = world.uins["other_reseller"]
    response = await submit(http, world, actor=other, initiator_uin=other, submitter_uin=other)
    if response.status_code == 422:
        assert_problem(response, 422)
        await submitted(http, world)
    else:  # ignored: the token's account is the initiator and the submitter
        assert response.status_code == 201, response.text
    [record] = stack.partner_center.records(world.customer)
    assert record.initiator_uin == world.initiator
    assert record.notice_acknowledged_by == world.initiator
    # Another reseller names the distributor in the body: never taken as it.
    sneaky = await act(
        http, world, "other_reseller", "review", {"approve": True, "actor": world.distributor}
    )
    assert sneaky.status_code in (404, 422), sneaky.text
    assert_problem(sneaky, sneaky.status_code)
    # Nor an action_id in the body: the Idempotency-Key header is the id.
    for extra in ({"actor": world.customer}, {"action_id": "mine-1234"}):
        response = await act(http, world, "distributor", "review", {"approve": True, **extra})
        if response.status_code == 200:  # ignored, per the contract's "never actor"
            continue
        problem = assert_problem(response, 422)
        assert any(next(iter(extra)) in str(e["field"]) for e in problem["errors"]), problem
    state = await state_of(http, world)
    assert {e["actor"] for e in timeline_of(state) if e["accepted"]} <= {world.distributor}


async def test_messages_and_worklist_are_the_callers_own(
    http: httpx.AsyncClient, world: World
) -> None:
    await submitted(http, world)

    async def worklist(role: Role) -> list[dict[str, Any]]:
        response = await http.get("/me/worklist", headers=world.as_(role))
        assert response.status_code == 200, (role, response.text)
        return [i for i in listed_items(response.json()) if world.customer in str(i)]

    async def messages(role: Role) -> list[dict[str, Any]]:
        response = await http.get("/me/messages", headers=world.as_(role))
        assert response.status_code == 200, (role, response.text)
        return [m for m in listed_items(response.json()) if world.customer in str(m)]

    # The distributor's review waits, with its deadline; nobody else's turn.
    [review] = await worklist("distributor")
    assert "review" in str(review) and any("deadline" in k for k in review), review
    for role in ("customer", "other_reseller", "other_distributor", "sub_user_of_customer"):
        assert await worklist(role) == [], role
    assert await eventually(lambda: messages("distributor"), bool)
    for role in ("other_reseller", "other_distributor"):
        assert await messages(role) == [], role

    await right_caller_acts(http, world, "distributor", K.REVIEW)
    [confirm] = await worklist("customer")
    assert "confirm" in str(confirm), confirm
    assert await worklist("distributor") == []
    customer_messages = await eventually(lambda: messages("customer"), bool)
    ats = [m["at"] for m in customer_messages]
    assert ats == sorted(ats, reverse=True), "newest first"


async def test_only_operators_read_the_audit(http: httpx.AsyncClient, world: World) -> None:
    for role in ROLES:
        response = await http.get("/audit", headers=world.as_(role))
        if role == "operator":
            assert response.status_code == 200, response.text
            listed_items(response.json())
        else:
            assert_problem(response, 403)


async def test_a_resellers_list_pages_through_its_own(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    world = build_world(stack, second_level=False)
    customers = [world.customer]
    for _ in range(2):
        customer = fresh_uin()
        stack.partner_center.add_customer(customer, partner_uin=world.initiator, card=True)
        customers.append(customer)
    for customer in customers:
        response = await http.post(
            "/applications",
            json={"customer_uin": customer, "acknowledge_notice": True},
            headers=world.as_("initiator"),
        )
        assert response.status_code == 201, response.text

    async def pages(role: Role, **params: Any) -> list[str]:
        seen: list[str] = []
        token: str | None = None
        for _ in range(10):
            query = {"page_size": 2, **params, **({"page_token": token} if token else {})}
            response = await http.get("/applications", params=query, headers=world.as_(role))
            assert response.status_code == 200, response.text
            body = response.json()
            seen += [row["customer_uin"] for row in listed_items(body)]
            token = body.get("next_page_token")
            if not token:
                break
        return seen

    for role in ("initiator", "sub_user_of_initiator"):
        listed = await eventually(lambda role=role: pages(role), lambda s: len(s) >= 3)  # type: ignore[misc]
        assert sorted(listed) == sorted(customers), role
    waiting = S.PENDING_CUSTOMER_CONFIRMATION.value
    assert sorted(await pages("initiator", status=waiting)) == sorted(customers)
    assert await pages("initiator", status=S.COMPLETED.value) == []
    assert await pages("other_reseller", reseller=world.initiator) == []
    # A page token this API never gave out, malformed or well-formed base64.
    forged = base64.urlsafe_b64encode(b"\x9e not a server token").decode()
    for token in ("garbage", forged):
        response = await http.get(
            "/applications", params={"page_token": token}, headers=world.as_("initiator")
        )
        assert_problem(response, 422)


async def test_a_strangers_submission_starts_nothing_and_hides_nothing(
    http: httpx.AsyncClient, world: World
) -> None:
    """Another reseller submitting for the customer is refused (relationship)
    before any run starts: it learns nothing of the account, and the
    application the customer's own parties see stays theirs."""
    await submitted(http, world)
    withdrawn = await act(http, world, "initiator", "withdraw", {"reason": "not now"})
    assert withdrawn.status_code == 200, withdrawn.text
    before = await http.get(f"/applications/{world.customer}", headers=world.as_("initiator"))
    assert before.status_code == 200, before.text

    body = {"customer_uin": world.customer, "acknowledge_notice": True}
    refused = await http.post("/applications", json=body, headers=world.as_("other_reseller"))

    problem = assert_problem(refused, 409)
    assert [c["check"] for c in problem["failed_checks"]] == ["relationship"]
    for role in ("initiator", "customer"):
        seen = await http.get(f"/applications/{world.customer}", headers=world.as_(role))
        assert seen.status_code == 200, seen.text
        assert seen.json()["run_id"] == before.json()["run_id"]
        assert seen.json()["status"] == "WITHDRAWN"
