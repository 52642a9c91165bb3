"""The customer's own request (issue 13, item 4) and the effective date (item 5)
through the HTTP API, on the live stack (API process, worker, dev server)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import Stack, World, act, assert_problem, state_of
from tests.conftest import eventually
from tests.workflows.spec_oracle import Role
from workflows.model import UnbindStatus

pytestmark = pytest.mark.integration
S = UnbindStatus


async def request_as(
    http: httpx.AsyncClient, world: World, role: str, **body: object
) -> httpx.Response:
    payload = {
        "customer_uin": world.customer,
        "acknowledge_notice": True,
        "requested_by": "customer",
        **body,
    }
    return await http.post("/applications", json=payload, headers=world.as_(role))  # type: ignore[arg-type]


async def test_the_customer_requests_and_only_its_reseller_reviews(
    http: httpx.AsyncClient, stack: Stack, world: World
) -> None:
    # Only the customer applies for itself: its reseller may not ask in its name.
    problem = assert_problem(await request_as(http, world, "initiator"), 422)
    assert "initiated by the customer itself" in str(problem["errors"])
    assert stack.partner_center.records(world.customer) == []

    response = await request_as(http, world, "customer", effective="end_of_month")
    assert response.status_code == 201, response.text
    assert response.json()["status"] == S.PENDING_RESELLER_REVIEW.value

    state = await state_of(http, world)
    assert state["requested_by"] == "customer"
    assert state["reseller_uin"] == world.initiator
    assert state["plan"]["effective"] == "end_of_month"
    assert state["plan"]["effective_on"] is not None

    async def worklist() -> list[dict[str, object]]:
        answer = await http.get("/me/worklist", headers=world.as_("initiator"))
        assert answer.status_code == 200, answer.text
        items: list[dict[str, object]] = answer.json()
        return [i for i in items if i["customer_uin"] == world.customer]

    listed = await eventually(worklist, lambda items: bool(items))
    assert [item["actions"] for item in listed] == [["reseller_review"]]
    for role in ("customer", "distributor", "other_reseller"):
        refused = await act(http, world, role, "reseller_review", {"approve": True})
        assert refused.status_code in (403, 404), (role, refused.text)
    approved = await act(http, world, "initiator", "reseller_review", {"approve": True})
    assert approved.status_code == 200, approved.text
    # The world's customer has no card: on to card binding, not to a confirmation.
    assert approved.json()["status"] == S.PENDING_CARD_BINDING.value
    withdrawn = await act(http, world, "customer", "withdraw", {"reason": "staying after all"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == S.WITHDRAWN.value


async def test_at_remediation_the_worklist_offers_the_recheck_to_the_initiator_not_the_reseller(
    http: httpx.AsyncClient, stack: Stack, world: World
) -> None:
    """In the customer's own request the customer is the initiator: the
    worklist offers it the recheck, and not the reseller (who would be refused)."""
    assert (await request_as(http, world, "customer")).status_code == 201
    approved = await act(http, world, "initiator", "reseller_review", {"approve": True})
    assert approved.json()["status"] == S.PENDING_CARD_BINDING.value, approved.text
    # The card is bound, but the account was frozen meanwhile: remediation.
    stack.partner_center.set_account(world.customer, card_bound=True, frozen=True)
    moved = await act(http, world, "customer", "card_bound")
    assert moved.json()["status"] == S.AWAITING_REMEDIATION.value, moved.text

    async def offered(role: Role) -> list[object]:
        answer = await http.get("/me/worklist", headers=world.as_(role))
        assert answer.status_code == 200, answer.text
        return [i["actions"] for i in answer.json() if i["customer_uin"] == world.customer]

    # Once the list view shows the remediation to the customer, it shows it to all.
    assert await eventually(lambda: offered("customer"), lambda a: a == [["recheck"]])
    assert await offered("initiator") == []
    assert await offered("operator") == [["recheck"]]
    refused = await act(http, world, "initiator", "recheck")
    assert refused.status_code == 403, refused.text
    rechecked = await act(http, world, "customer", "recheck")
    assert rechecked.json()["status"] == S.AWAITING_REMEDIATION.value, rechecked.text
