"""As deployed, the worker requires signed actions (``UNBIND_REQUIRE_SIGNED_ACTIONS=1``):
a party's action reaches a decision only through the API, which signs it for the
token's account; the same action sent straight to Temporal is refused and
changes nothing. An operator's recheck still works unsigned (the Web UI)."""

from __future__ import annotations

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from starter.client import UnbindingClient
from tests.api.conftest import Stack, World, act, state_of, submitted, timeline_of
from workflows.model import UnbindStatus

pytestmark = pytest.mark.integration


async def test_a_party_acts_only_through_the_api(
    http: httpx.AsyncClient, stack: Stack, world: World, dev_env: WorkflowEnvironment
) -> None:
    await submitted(http, world)
    unsigned = UnbindingClient(dev_env.client, task_queue=stack.task_queue)
    answer = await unsigned.review(world.customer, actor=world.distributor, approve=True)
    assert not answer.accepted, answer
    assert answer.status is UnbindStatus.PENDING_DISTRIBUTOR_REVIEW
    assert answer.reason is not None and "sign" in answer.reason.lower(), answer.reason
    state = await state_of(http, world)
    assert [e for e in timeline_of(state) if e["accepted"]] == []

    through_api = await act(http, world, "distributor", "review", {"approve": True})
    assert through_api.status_code == 200, through_api.text
    assert through_api.json()["status"] == UnbindStatus.PENDING_CUSTOMER_CONFIRMATION.value
