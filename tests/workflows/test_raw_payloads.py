"""Malformed signals and updates sent raw through a plain Temporal client (no
pydantic converter, or hand-made payloads), on the dev server with a real
worker: no argument, several, null, wrong types, missing and extra fields,
bad UINs, over-long reasons, broken JSON, unknown encodings.

Each update is rejected with an error naming what is wrong and adds no history
event; each signal is dropped without failing a workflow task (before the fix
in ``workflows.intake.action_in``, a signal with no argument failed every
workflow task from then on, wedging the application). Nothing reaches the
database, and afterwards a legitimate action still carries the application
through to completion.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from activities.sql.schema import metadata
from tests.conftest import Ledger, eventually, history_length, running_worker
from tests.workflows.scenarios import act, submit
from tests.workflows.storms import HistorySize, at_most_one_workflow_task
from workflows.actions import ACTION_TYPES
from workflows.contract import INVALID_ACTION
from workflows.model import ActionKind, UnbindingState, UnbindStatus
from workflows.settings import SETTINGS
from workflows.unbinding import UnbindingWorkflow

pytestmark = pytest.mark.integration
S = UnbindStatus

RANDOM_MUTATIONS_PER_ACTION = 25
SEED = 20261126
TASKS_WAIT = 20.0
"""Seconds the worker may take to process every signal sent."""

Args = list[Any]


def _raw(data: bytes, **metadata: bytes) -> RawValue:
    return RawValue(Payload(metadata=metadata, data=data))


# Payloads no JSON decoder can read: the SDK itself refuses them.
UNDECODABLE: dict[str, Args] = {
    "broken JSON": [_raw(b'{"action_id": ', encoding=b"json/plain")],
    "invalid UTF-8": [_raw(b'{"action_id": "\xff\xfe"}', encoding=b"json/plain")],
    "unknown encoding": [_raw(b"\x00\x01garbage", encoding=b"application/x-garbage")],
    "no encoding metadata": [_raw(b'{"action_id": "a"}')],
    "protobuf claim on garbage": [
        _raw(b"\x08\x96\x01", encoding=b"json/protobuf", messageType=b"no.Such")
    ],
}


def _valid(kind: ActionKind, actor: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"action_id": f"raw-{kind.value}", "actor": actor}
    if kind is ActionKind.REVIEW:
        fields["approve"] = True
    return fields


def _hand_made(kind: ActionKind, actor: str) -> dict[str, Args]:
    """Malformed payloads a careless or hostile client might send, by name."""
    valid = _valid(kind, actor)
    cases: dict[str, Args] = {
        "no argument": [],
        "two actions": [valid, valid],
        "null": [None],
        "a string": ["confirm"],
        "a number": [42],
        "a list": [[valid]],
        "empty object": [{}],
        "missing action_id": [{k: v for k, v in valid.items() if k != "action_id"}],
        "missing actor": [{k: v for k, v in valid.items() if k != "actor"}],
        "action_id a number": [{**valid, "action_id": 5}],
        "action_id too long": [{**valid, "action_id": "a" * 129}],
        "action_id with a space": [{**valid, "action_id": "a b"}],
        "extra field": [{**valid, "card_number": "4111111111111111"}],
        "actor leading zero": [{**valid, "actor": "0" + actor[1:]}],
        "actor too short": [{**valid, "actor": "1234"}],
        "actor in Arabic digits": [{**valid, "actor": "١٢٣٤٥٦"}],
        "actor with a newline": [{**valid, "actor": actor + "\n"}],
        "actor null": [{**valid, "actor": None}],
        "operator without a name": [{**valid, "actor": "operator:"}],
    }
    if kind is ActionKind.REVIEW:
        cases["approve missing"] = [{k: v for k, v in valid.items() if k != "approve"}]
        cases["approve not a bool"] = [{**valid, "approve": "maybe"}]
    if kind in (ActionKind.REVIEW, ActionKind.REJECT, ActionKind.WITHDRAW):
        too_long = "x" * (SETTINGS.max_reason_length + 1)
        cases["reason too long"] = [{**valid, "reason": too_long}]
        cases["reason with a control character"] = [{**valid, "reason": "ok\x00\x1b[2J"}]
        cases["reason a number"] = [{**valid, "reason": 7}]
    return cases


_JUNK: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    1.5,
    "",
    " ",
    "0",
    "١٢٣٤٥",
    "\u202e12345",
    "1\u200b2345",
    "x" * 600,
    [],
    {},
    {"nested": {"deep": [1, 2]}},
    "operator:",
    "operator:" + "a" * 65,
]


def _mutations(kind: ActionKind, actor: str, rng: random.Random) -> Iterator[Args]:
    """Random mutations of a valid action that the model refuses: fields
    dropped, replaced with junk, or added."""
    model = ACTION_TYPES[kind]
    fields = [*_valid(kind, actor), "reason"]
    produced = 0
    while produced < RANDOM_MUTATIONS_PER_ACTION:
        payload = _valid(kind, actor)
        for _ in range(rng.randint(1, 3)):
            match rng.choice(["drop", "replace", "add"]):
                case "drop":
                    payload.pop(rng.choice(fields), None)
                case "replace":
                    payload[rng.choice(fields)] = rng.choice(_JUNK)
                case "add":
                    payload[rng.choice(["kind", "card", "token", "x"])] = rng.choice(_JUNK)
        try:
            model.model_validate(payload)
        except ValueError:
            produced += 1
            yield [payload]


def _database_rows(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                table.name: sorted(tuple(map(repr, row)) for row in conn.execute(select(table)))
                for table in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _event_types(events: list[Any]) -> list[int]:
    return [event.event_type for event in events]


async def _history(handle: WorkflowHandle[Any, Any]) -> list[int]:
    return _event_types(list((await handle.fetch_history()).events))


def _processed_after_last_signal(types: list[int]) -> bool:
    """A workflow task completed after the last signal arrived."""
    signals = [
        i for i, t in enumerate(types) if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    return any(
        t == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for t in types[max(signals, default=0) :]
    )


def _names_the_problem(error: ApplicationError, case: str, payload: Args) -> None:
    """The rejection says what is wrong: for a field-level problem, the field."""
    message = error.message
    assert message, case
    if error.type != INVALID_ACTION:
        # Undecodable bytes: the SDK's own refusal, with the decoder's reason.
        assert error.type == "RuntimeError" and message == "Failed decoding arguments", case
        assert isinstance(error.cause, ApplicationError) and error.cause.message, case
        return
    if len(payload) != 1:
        assert "carries exactly one" in message, case
        assert f"action, got {len(payload)}" in message, case
    elif isinstance(payload[0], dict):
        model_fields = set(ACTION_TYPES[ActionKind.CONFIRM].model_fields) | {"approve", "reason"}
        named = {f for f in [*model_fields, *payload[0]] if f"{f}:" in message}
        assert named, (case, message)


async def test_malformed_raw_signals_and_updates_never_wedge_the_application(
    dev_env: WorkflowEnvironment,
    plain_client: Client,
    partner_center: SqlPartnerCenter,
    database_url: str,
    ledger: Ledger,
    executor: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="temporalio.workflow")
    parties = ledger.direct(card=True)
    rng = random.Random(SEED)
    async with running_worker(dev_env.client, partner_center, executor) as worker:
        handle, submitted = await submit(dev_env.client, worker.task_queue, parties)
        assert submitted.status is S.PENDING_CUSTOMER_CONFIRMATION
        raw = plain_client.get_workflow_handle(handle.id)
        cases: list[tuple[str, str, Args]] = []
        for kind in ActionKind:
            for case, args in _hand_made(kind, parties.customer).items():
                cases.append((kind.value, f"{kind.value}: {case}", args))
            for number, args in enumerate(_mutations(kind, parties.customer, rng)):
                cases.append((kind.value, f"{kind.value}: random #{number}", args))
            for case, args in UNDECODABLE.items():
                cases.append((kind.value, f"{kind.value}: {case}", args))
        warm_up = await history_length(handle)
        name, _case, args = cases[0]
        with pytest.raises(WorkflowUpdateFailedError):
            await raw.execute_update(name, args=args, result_type=dict)
        assert at_most_one_workflow_task(HistorySize(await history_length(handle) - warm_up, 0))
        state_before: UnbindingState = await handle.query(UnbindingWorkflow.status)
        rows_before = _database_rows(database_url)
        events_before = await _history(handle)

        # Updates: every one rejected, naming the problem, and none in history.
        for name, case, args in cases:
            with pytest.raises(WorkflowUpdateFailedError) as rejected:
                await raw.execute_update(name, args=args, result_type=dict)
            assert isinstance(rejected.value.cause, ApplicationError), case
            _names_the_problem(rejected.value.cause, case, args)
        assert await _history(handle) == events_before

        # Signals: every one delivered, dropped, and no workflow task fails.
        for name, _case, args in cases:
            await raw.signal(name, args=args)
        types = await eventually(
            lambda: _history(handle), _processed_after_last_signal, within=TASKS_WAIT
        )
        assert types.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == len(cases)
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in types
        assert _processed_after_last_signal(types), "the worker never caught up"
        state_after: UnbindingState = await handle.query(UnbindingWorkflow.status)
        assert state_after.status is S.PENDING_CUSTOMER_CONFIRMATION
        assert state_after.timeline == state_before.timeline
        assert _database_rows(database_url) == rows_before
        dropped = [r for r in caplog.records if "dropped a malformed signal" in r.getMessage()]
        # The SDK drops undecodable payloads itself, before the workflow sees them.
        assert len(dropped) == len(cases) - len(UNDECODABLE) * len(ActionKind)

        # Still alive: the customer's real confirmation completes the application.
        confirmed = await act(handle, ActionKind.CONFIRM, parties.customer)
        assert confirmed.accepted and confirmed.status is S.COMPLETED, confirmed
        final = await handle.result()
    assert [entry.action for entry in final.timeline] == ["confirm"]
    [record] = partner_center.records(parties.customer)
    assert record.status is S.COMPLETED


async def test_submission_update_with_stray_arguments_still_answers(
    dev_env: WorkflowEnvironment,
    plain_client: Client,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    executor: Any,
) -> None:
    parties = ledger.direct()
    async with running_worker(dev_env.client, partner_center, executor) as worker:
        handle, _ = await submit(dev_env.client, worker.task_queue, parties)
        raw = plain_client.get_workflow_handle(handle.id)
        for args in ([1], [None, "x"], [{"accepted": False}]):
            answer = await raw.execute_update("submission", args=args, result_type=dict)
            assert answer["status"] == S.PENDING_CUSTOMER_CONFIRMATION.value
        types = await _history(handle)
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in types
