"""A backend sends an application id again: for another customer, or for an
application that already finished. A second run is refused by its checks, and
the first application's record, messages and cutover stay its own. Real
client API, real dev server, real partner center."""

from __future__ import annotations

import uuid

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.inputs import ApplicationFields, build_application
from tests.conftest import Ledger, fresh_uin
from tests.integration.conftest import handle_for
from workflows.contract import workflow_id_for
from workflows.model import CheckName, UnbindStatus
from workflows.unbinding import UnbindingWorkflow

pytestmark = pytest.mark.integration
S = UnbindStatus


def sent(application_id: str, *, customer: str, reseller: str) -> ApplicationFields:
    """What the backend sends for ``customer``, under the id it chose."""
    return ApplicationFields(
        customer_uin=customer,
        initiator_uin=reseller,
        notice_acknowledged=True,
        application_id=application_id,
    )


async def test_an_id_sent_again_for_another_customer_is_refused_at_submission(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, worker: Worker
) -> None:
    parties = ledger.direct(card=True)
    neighbour = fresh_uin()
    partner_center.add_customer(neighbour, partner_uin=parties.reseller, card=True)
    client = UnbindingClient(dev_env.client, task_queue=worker.task_queue)
    application_id = uuid.uuid4().hex

    first = await client.apply(
        **sent(application_id, customer=parties.customer, reseller=parties.reseller)
    )
    again = await client.apply(
        **sent(application_id, customer=neighbour, reseller=parties.reseller)
    )

    assert first.accepted and not again.accepted
    [refusal] = again.failed_checks
    assert refusal.check is CheckName.OPEN_APPLICATION
    assert application_id in refusal.hint and "new application id" in refusal.hint
    [record] = partner_center.records()
    assert (record.customer_uin, record.status) == (
        parties.customer,
        S.PENDING_CUSTOMER_CONFIRMATION,
    )
    assert partner_center.inbox(neighbour) == []


async def test_a_finished_application_submitted_again_does_not_run_again(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, worker: Worker
) -> None:
    parties = ledger.direct(card=True)
    client = UnbindingClient(dev_env.client, task_queue=worker.task_queue)
    application = sent(uuid.uuid4().hex, customer=parties.customer, reseller=parties.reseller)
    submitted = await client.apply(**application)
    assert submitted.accepted
    await client.confirm(parties.customer, actor=parties.customer)
    done = await handle_for(dev_env, parties.customer).result()
    assert done.status is S.COMPLETED
    # Bound again later; then the backend retries the finished submission.
    partner_center.add_customer(parties.customer, partner_uin=parties.reseller)
    messages_before = len(partner_center.inbox(parties.reseller))

    # Through the client, the server answers the retried update-with-start with
    # the first run's answer and starts nothing.
    retried = await client.apply(**application)
    assert retried == submitted
    # A raw start with the same id runs, and is refused by its checks.
    again = await dev_env.client.execute_workflow(
        UnbindingWorkflow.run,
        build_application(**application),
        id=workflow_id_for(parties.customer),
        task_queue=worker.task_queue,
    )

    assert again.status is S.PRECHECK_FAILED
    assert [c.check for c in again.failed_checks] == [CheckName.OPEN_APPLICATION]
    [record] = partner_center.records(parties.customer)
    assert record.status is S.COMPLETED and record.effective_at == done.effective_at
    assert partner_center.show(parties.customer)["partner"]["uin"] == parties.reseller
    assert len(partner_center.inbox(parties.reseller)) == messages_before
