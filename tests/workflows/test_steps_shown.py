"""The two steps that take seconds, the final check's read and the cutover,
are shown in the search attributes only once they last
(``SETTINGS.step_shown_after``): a quick one costs no upsert, and one that lasts
(the partner center down) is listed by the runbook's "stuck" query. On the real
dev server, with gates holding each step in flight."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.worker import Worker

from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger, eventually
from tests.workflows.gates import GatedPartnerCenter
from tests.workflows.scenarios import act, reach
from workflows import search_attributes as sa
from workflows.model import ActionKind, UnbindStatus
from workflows.settings import SETTINGS

pytestmark = pytest.mark.integration
S = UnbindStatus
SHOWN_WITHIN = SETTINGS.step_shown_after.total_seconds() + 10
"""A held step is shown after ``step_shown_after``; the list view then catches up."""


async def shown_status(handle: WorkflowHandle) -> str | None:
    described = await handle.describe()
    return described.typed_search_attributes.get(sa.UNBIND_STATUS)


async def upserted_statuses(handle: WorkflowHandle) -> list[str]:
    """The ``UnbindStatus`` of each upsert in the run's history, in order."""
    history = await handle.fetch_history()
    statuses = []
    for event in history.events:
        if event.event_type != EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            continue
        fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
        status = fields.indexed_fields.get(sa.UNBIND_STATUS.name)
        if status is not None:
            statuses.append(status.data.decode().strip('"'))
    return statuses


async def test_a_final_check_and_a_cutover_that_last_are_shown_quick_ones_are_not(
    dev_env, partner_center: SqlPartnerCenter, gated: GatedPartnerCenter, gated_run: Worker
) -> None:
    client, queue = dev_env.client, gated_run.task_queue
    ledger = Ledger(partner_center)

    # Held: each step is shown once it has lasted.
    slow = ledger.direct(card=True)
    handle = await reach(client, queue, partner_center, slow, S.AWAITING_REMEDIATION)
    partner_center.set_account(slow.customer, frozen=False)
    reading, cutting = gated.hold("check_account"), gated.hold("cut_over")
    recheck = asyncio.create_task(act(handle, ActionKind.RECHECK, slow.reseller))
    await reading.entered()
    shown = await eventually(
        lambda: shown_status(handle), lambda s: s == S.FINAL_CHECK, within=SHOWN_WITHIN
    )
    assert shown == S.FINAL_CHECK
    reading.release()
    await cutting.entered()
    shown = await eventually(
        lambda: shown_status(handle), lambda s: s == S.CUTTING_OVER, within=SHOWN_WITHIN
    )
    assert shown == S.CUTTING_OVER
    cutting.release()
    assert (await recheck).status is S.COMPLETED
    assert await upserted_statuses(handle) == [
        S.PENDING_CUSTOMER_CONFIRMATION,
        S.AWAITING_REMEDIATION,
        S.FINAL_CHECK,
        S.CUTTING_OVER,
        S.COMPLETED,
    ]

    # Not held: the same path shows neither step.
    quick = ledger.direct(card=True)
    handle = await reach(client, queue, partner_center, quick, S.AWAITING_REMEDIATION)
    partner_center.set_account(quick.customer, frozen=False)
    assert (await act(handle, ActionKind.RECHECK, quick.reseller)).status is S.COMPLETED
    assert await upserted_statuses(handle) == [
        S.PENDING_CUSTOMER_CONFIRMATION,
        S.AWAITING_REMEDIATION,
        S.COMPLETED,
    ]
