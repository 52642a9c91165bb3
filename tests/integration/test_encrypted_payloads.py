"""Encrypted payloads on the real dev server: a worker and a client with the
payload codec run an application to the end; Temporal's history holds
ciphertext only (no UIN, no reason), while the codec's client reads the
application in full and the encrypted history replays with the codec.

The UINs that stay in the clear are the search attributes (operators filter
on them) and the workflow id (``unbind-<customer UIN>``): both are Temporal's
own metadata, never payloads.

tests/test_no_secrets_in_history.py is the other half: card data and
credentials must never reach a payload at all, sealed or not (whoever holds
the keys, or reaches the codec server, reads payloads), so it scans plain
histories, where it can read them."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
import pytest_asyncio
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.devstack.environment import isolated_environment
from starter.payload_codec import EncryptionCodec, data_converter_with, parse_payload_keys, sealed
from tests.cli import run_unbind
from tests.conftest import Ledger, Parties, eventually, running_worker
from tests.test_no_secrets_in_history import texts
from workflows import search_attributes as sa
from workflows.contract import DATA_CONVERTER
from workflows.model import ApplicationInput, UnbindStatus
from workflows.unbinding import UnbindingWorkflow

pytestmark = pytest.mark.integration

REASON = "contract ends: Zebra-Canary-4417"


KEYS = f"test-1:{base64.b64encode(os.urandom(32)).decode()}"


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every payload in a protobuf message, search attributes left out."""
    if isinstance(message, SearchAttributes):
        return
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            items = [v for v in value.values() if isinstance(v, Message)]
        else:
            items = [value] if isinstance(value, Message) else list(value)
        for item in items:
            yield from payloads_in(item)


def without_search_attributes(event: HistoryEvent) -> HistoryEvent:
    copy = HistoryEvent()
    copy.CopyFrom(event)
    copy.workflow_execution_started_event_attributes.ClearField("search_attributes")
    copy.upsert_workflow_search_attributes_event_attributes.ClearField("search_attributes")
    return copy


@dataclass(frozen=True)
class SealedWorker:
    plain: Client
    """No codec: Temporal's raw view."""
    sealing: Client
    unbinding: UnbindingClient
    """On the sealing client and the worker's task queue."""


@asynccontextmanager
async def sealed_worker(
    plain: Client, partner_center: SqlPartnerCenter, executor: ThreadPoolExecutor
) -> AsyncIterator[SealedWorker]:
    """A worker and a client sealing payloads with the test's keys."""
    config = plain.config()
    config["data_converter"] = data_converter_with(EncryptionCodec(parse_payload_keys(KEYS)))
    client = Client(**config)
    async with running_worker(client, partner_center, executor) as worker:
        yield SealedWorker(plain, client, UnbindingClient(client, task_queue=worker.task_queue))


@pytest_asyncio.fixture
async def stack(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, executor: ThreadPoolExecutor
) -> AsyncIterator[SealedWorker]:
    async with sealed_worker(dev_env.client, partner_center, executor) as running:
        yield running


async def test_history_holds_ciphertext_while_the_codec_client_reads_the_application(
    stack: SealedWorker, ledger: Ledger, database_url: str
) -> None:
    plain_client, sealing_client = stack.plain, stack.sealing
    parties = ledger.direct(card=True)
    applied = await stack.unbinding.apply(
        customer_uin=parties.customer,
        initiator_uin=parties.reseller,
        notice_acknowledged=True,
        reason=REASON,
    )
    assert applied.accepted, applied
    # A refusal's message, sealed on the way, reads in full at the caller.
    refused = await stack.unbinding.confirm(parties.customer, actor=parties.reseller)
    assert not refused.accepted and refused.reason, refused
    assert parties.reseller in refused.reason and "Encoded failure" not in refused.reason
    await stack.unbinding.confirm(parties.customer, actor=parties.customer)
    await sealing_client.get_workflow_handle(applied.workflow_id).result()
    history = await plain_client.get_workflow_handle(applied.workflow_id).fetch_history()

    # The codec's client reads it all back.
    final = await stack.unbinding.status(parties.customer)
    assert final.status is UnbindStatus.COMPLETED and final.customer_uin == parties.customer
    started = history.events[0].workflow_execution_started_event_attributes
    [application] = await sealing_client.data_converter.decode(
        started.input.payloads, [ApplicationInput]
    )
    assert application.reason == REASON
    assert application.customer_uin == parties.customer

    # Temporal holds ciphertext only: every payload sealed, no UIN, no reason.
    # The SDK's own patch markers (workflow.patched) are written by its core,
    # past any codec: they carry a patch name and nothing of the customer's.
    patch_markers = [e for e in history.events if _is_patch_marker(e)]
    assert patch_markers
    for marker in patch_markers:
        for payload in payloads_in(marker):
            assert set(json.loads(payload.data)) == {"id", "deprecated"}
    # Nothing else is written past the codec (a new run records no local
    # activity, whose bookkeeping the SDK's core writes in the clear).
    payloads = [p for e in history.events if not _is_patch_marker(e) for p in payloads_in(e)]
    assert len(payloads) > 10
    assert [p for p in payloads if not sealed(p)] == []
    corpus = "\n".join(
        text for event in history.events for text in texts(without_search_attributes(event))
    )
    for secret in (REASON, parties.customer, parties.reseller):
        assert secret not in corpus, secret
    # A client without the codec cannot read the application; the CLI says
    # which setting is missing (exit 2) and, given the keys, reads it.
    with pytest.raises(Exception, match="encoding"):
        await plain_client.data_converter.decode(started.input.payloads, [ApplicationInput])
    env = isolated_environment(
        address=plain_client.service_client.config.target_host,
        task_queue=stack.unbinding.task_queue,
        database_url=database_url,
    )
    keyless = await run_unbind(env, "status", "--customer", parties.customer)
    assert keyless.code == 2, keyless
    assert keyless.data["field"] == "UNBIND_PAYLOAD_KEYS"
    assert "payloads are encrypted (key id 'test-1')" in keyless.data["error"]
    keyed = await run_unbind(
        {**env, "UNBIND_PAYLOAD_KEYS": KEYS}, "status", "--customer", parties.customer
    )
    assert keyed.code == 0, keyed
    assert keyed.data["status"] == "COMPLETED"

    # Search attributes stay in the clear: operators filter on the UIN.
    listed = await eventually(
        lambda: _ids(plain_client, f"{sa.CUSTOMER_UIN.name} = '{parties.customer}'"),
        lambda ids: applied.workflow_id in ids,
    )
    assert applied.workflow_id in listed

    # The encrypted history replays with the codec (and not without it).
    converters = ((sealing_client.data_converter, True), (DATA_CONVERTER, False))
    for converter, replays in converters:
        replayer = Replayer(workflows=[UnbindingWorkflow], data_converter=converter)
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert (result.replay_failure is None) is replays, result.replay_failure


async def failed_at_cutover(
    unbinding: UnbindingClient, ledger: Ledger, parties: Parties, database_url: str
) -> tuple[str, str]:
    """An application whose cutover failed on a relationship conflict, with a
    message naming the UINs, run to its end: its workflow id and the reseller
    the customer moved to."""
    applied = await unbinding.apply(
        customer_uin=parties.customer, initiator_uin=parties.reseller, notice_acknowledged=True
    )
    ledger.pc.set_account(parties.customer, frozen=True)
    confirmed = await unbinding.confirm(parties.customer, actor=parties.customer)
    assert confirmed.status is UnbindStatus.AWAITING_REMEDIATION, confirmed
    # Behind the process's back, the customer moves to another reseller.
    other = ledger.moved_to_another_reseller(parties.customer, database_url)
    ledger.pc.set_account(parties.customer, frozen=False)
    rechecked = await unbinding.recheck(parties.customer, actor=parties.reseller)
    assert rechecked.status is UnbindStatus.FAILED, rechecked
    await unbinding.temporal.get_workflow_handle(applied.workflow_id).result()
    return applied.workflow_id, other


def _is_patch_marker(event: HistoryEvent) -> bool:
    return event.marker_recorded_event_attributes.marker_name == "core_patch"


async def _ids(client: Client, query: str) -> list[str]:
    return [execution.id async for execution in client.list_workflows(query)]


async def test_a_business_failure_s_message_is_sealed_and_read_back_by_the_codec_client(
    stack: SealedWorker, ledger: Ledger, database_url: str
) -> None:
    parties = ledger.direct(card=True)
    workflow_id, other = await failed_at_cutover(stack.unbinding, ledger, parties, database_url)
    state = await stack.unbinding.status(parties.customer)
    history = await stack.plain.get_workflow_handle(workflow_id).fetch_history()

    failures = [
        e.activity_task_failed_event_attributes.failure
        for e in history.events
        if e.HasField("activity_task_failed_event_attributes")
    ]
    assert failures
    for failure in failures:
        assert failure.message == "Encoded failure" and failure.stack_trace == ""
        assert sealed(failure.encoded_attributes)
    corpus = "\n".join(
        text for event in history.events for text in texts(without_search_attributes(event))
    )
    assert other not in corpus and parties.customer not in corpus
    # The codec's client reads the failure's message back.
    [failure] = failures[:1]
    decoded = await stack.sealing.data_converter.decode_failure(failure)
    assert f"is bound to {other}" in str(decoded)
    assert state.outcome_reason is not None and other in state.outcome_reason
