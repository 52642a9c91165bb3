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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
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
from tests.conftest import Ledger, eventually, running_worker
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


async def test_history_holds_ciphertext_while_the_codec_client_reads_the_application(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    executor: ThreadPoolExecutor,
    ledger: Ledger,
    database_url: str,
) -> None:
    codec = EncryptionCodec(parse_payload_keys(KEYS))
    plain_client = dev_env.client  # no codec: Temporal's raw view
    sealing_client = Client(
        **{**plain_client.config(), "data_converter": data_converter_with(codec)}
    )
    parties = ledger.direct(card=True)
    async with running_worker(sealing_client, partner_center, executor) as worker:
        unbinding = UnbindingClient(sealing_client, task_queue=worker.task_queue)
        applied = await unbinding.apply(
            customer_uin=parties.customer,
            initiator_uin=parties.reseller,
            notice_acknowledged=True,
            reason=REASON,
        )
        assert applied.accepted, applied
        await unbinding.confirm(parties.customer, actor=parties.customer)
        state = await unbinding.status(parties.customer)
        handle = sealing_client.get_workflow_handle(applied.workflow_id)
        await handle.result()
        history = await plain_client.get_workflow_handle(applied.workflow_id).fetch_history()

    # The codec's client reads it all back.
    assert state.customer_uin == parties.customer
    final = await UnbindingClient(sealing_client).status(parties.customer)
    assert final.status is UnbindStatus.COMPLETED
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
        task_queue=worker.task_queue,
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
    for converter, replays in ((data_converter_with(codec), True), (DATA_CONVERTER, False)):
        replayer = Replayer(workflows=[UnbindingWorkflow], data_converter=converter)
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert (result.replay_failure is None) is replays, result.replay_failure


def _is_patch_marker(event: HistoryEvent) -> bool:
    return event.marker_recorded_event_attributes.marker_name == "core_patch"


async def _ids(client: Client, query: str) -> list[str]:
    return [execution.id async for execution in client.list_workflows(query)]
