"""The typed client API and the message models, fuzzed (hypothesis): random
dicts with fields missing, extra fields and values of the wrong type are
refused with a ``ValidationError`` (models) or ``BadInput`` (client builders)
that names the field. Then, on the real dev server: bad calls through every
method of :class:`~starter.client.UnbindingClient` start, signal and write
nothing.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient, build_action, build_application, build_deadlines
from starter.errors import OPTION_NAMES, BadInput
from tests.conftest import Ledger, eventually
from workflows.actions import ACTION_TYPES
from workflows.contract import workflow_id_for
from workflows.model import (
    ApplicationInput,
    ConfirmAction,
    Deadlines,
    ResellerReviewAction,
    ReviewAction,
    WithdrawAction,
)

fuzz = settings(max_examples=int(os.environ.get("UNBIND_FUZZ_EXAMPLES", "400")), deadline=None)

CUSTOMER, RESELLER = "20000000001", "10000000002"
ARABIC_INDIC_UIN = "\u0661\u0660\u0660\u0660\u0660\u0660"
# What the client builders fill in themselves when left out.
BUILDER_DEFAULTS = {"application_id", "submitter_uin", "action_id", "acknowledged_at"}

VALID: dict[type[BaseModel], dict[str, Any]] = {
    ApplicationInput: {
        "application_id": "app-12345678",
        "customer_uin": CUSTOMER,
        "initiator_uin": RESELLER,
        "submitter_uin": RESELLER,
        "notice_acknowledged": True,
        "acknowledged_at": "2026-01-01T00:00:00Z",
        "reason": "contract ended",
        "deadlines": {"customer_confirmation": "P3D"},
    },
    Deadlines: {"distributor_review": "P10D", "card_binding": "P2D", "reminders_before": ["P1D"]},
    **{
        cls: {"action_id": "a-1", "actor": CUSTOMER}
        | ({"approve": True, "reason": "ok"} if cls in (ReviewAction, ResellerReviewAction) else {})
        for cls in ACTION_TYPES.values()
    },
}
MODELS = list(VALID)

# Values of the wrong type for each kind of field: never acceptable.
NOT_TEXT = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
WRONG_TYPE: dict[str, st.SearchStrategy[Any]] = {
    "text": NOT_TEXT,
    "bool": st.one_of(
        # Strict booleans: not even the words and numbers pydantic would coerce.
        st.sampled_from(["maybe", "yes", "no", "on", "off", "true", "0", "1", "", "y"]),
        st.integers(),
        st.floats(),
        st.none(),
        st.lists(st.booleans(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.booleans(), max_size=2),
    ),
    "datetime": st.one_of(
        st.sampled_from(["yesterday", "", "2026-13-01", "01/02/2026", "now"]),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        st.booleans(),
    ),
    "duration": st.one_of(
        st.sampled_from(["soon", "", "3 days", "P", "PT"]),
        st.lists(st.integers(), min_size=1, max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), min_size=1, max_size=2),
        st.booleans(),
    ),
    "deadlines": st.one_of(NOT_TEXT.filter(lambda v: not isinstance(v, dict)), st.text()),
    "reminders": st.one_of(
        st.text(min_size=1), st.integers(), st.lists(st.sampled_from(["soon", "x"]), min_size=1)
    ),
}


def _field_kind(model: type[BaseModel], name: str) -> str:
    annotation = str(model.model_fields[name].annotation)
    if name == "deadlines":
        return "deadlines"
    if name == "reminders_before":
        return "reminders"
    for marker, kind in (
        ("bool", "bool"),
        ("datetime", "datetime"),
        ("timedelta", "duration"),
    ):
        if marker in annotation:
            return kind
    return "text"


def _required(model: type[BaseModel]) -> list[str]:
    return [name for name, field in model.model_fields.items() if field.is_required()]


def _first_field(error: ValidationError) -> set[str]:
    return {str(e["loc"][0]) for e in error.errors() if e["loc"]}


@st.composite
def broken_messages(draw: st.DrawFn) -> tuple[type[BaseModel], dict[str, Any], str]:
    """A model, a dict that breaks it, and the field that is broken."""
    model = draw(st.sampled_from(MODELS))
    payload = dict(VALID[model])
    how = draw(st.sampled_from(["missing", "extra", "wrong type"]))
    required = _required(model)
    if how == "missing" and required:
        field = draw(st.sampled_from(required))
        payload.pop(field, None)
    elif how == "extra" or not required:
        field = draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in model.model_fields))
        payload[field] = draw(st.one_of(st.none(), st.integers(), st.text(max_size=10)))
    else:
        field = draw(st.sampled_from(list(model.model_fields)))
        payload[field] = draw(WRONG_TYPE[_field_kind(model, field)])
    return model, payload, field


@fuzz
@given(broken_messages())
def test_broken_messages_are_refused_naming_the_field(
    broken: tuple[type[BaseModel], dict[str, Any], str],
) -> None:
    model, payload, field = broken
    with pytest.raises(ValidationError) as refused:
        model.model_validate(payload)
    assert field in _first_field(refused.value), refused.value.errors()


@fuzz
@given(broken_messages())
def test_client_builders_refuse_them_as_bad_input_naming_the_field(
    broken: tuple[type[BaseModel], dict[str, Any], str],
) -> None:
    model, payload, field = broken
    assume(field in payload or field not in BUILDER_DEFAULTS)
    assume(field != "acknowledged_at")
    # build_deadlines takes None as "the default" for any wait.
    assume(not (model is Deadlines and field in payload and payload[field] is None))
    with pytest.raises((BadInput, TypeError)) as refused:
        if model is ApplicationInput:
            arguments = {k: v for k, v in payload.items() if k != "acknowledged_at"}
            if "deadlines" in arguments and isinstance(arguments["deadlines"], dict):
                arguments["deadlines"] = Deadlines.model_validate(arguments["deadlines"])
            build_application(**arguments)
        elif model is Deadlines:
            build_deadlines(**payload)
        else:
            kind = next(k for k, cls in ACTION_TYPES.items() if cls is model)
            build_action(ACTION_TYPES[kind], **payload)
    if refused.type is TypeError:
        # A missing keyword-only argument or one the builder does not take:
        # Python names it before anything runs.
        assert field in str(refused.value)
        return
    error = refused.value
    assert isinstance(error, BadInput)
    assert error.model_field is not None
    path = error.model_field
    assert path == field or path.startswith(f"{field}."), (field, path, error.message)
    assert error.field == OPTION_NAMES.get(error.model_field, OPTION_NAMES.get(field, error.field))


# ---- on the real server: bad calls start, signal and write nothing -------------------


async def _exists(dev_env: WorkflowEnvironment, workflow_id: str) -> bool:
    try:
        await dev_env.client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        assert error.status == RPCStatusCode.NOT_FOUND, error
        return False
    return True


@pytest.mark.integration
async def test_bad_calls_through_the_client_start_and_write_nothing(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    worker: Worker,
) -> None:
    client = UnbindingClient(dev_env.client, task_queue=worker.task_queue)
    parties = ledger.direct()
    customer, reseller = parties.customer, parties.reseller
    good = {"customer_uin": customer, "initiator_uin": reseller, "notice_acknowledged": True}
    unchecked_confirm = ConfirmAction.model_construct(action_id="a b", actor="0123")
    unchecked_withdraw = WithdrawAction(action_id="w-1", actor=reseller).model_copy(
        update={"reason": "\x1b[2J"}
    )
    unchecked_application = ApplicationInput.model_construct(
        **{**good, "application_id": "short", "submitter_uin": reseller},
        acknowledged_at=datetime.now(UTC),
        deadlines=Deadlines(),
    )
    calls: dict[str, tuple[Callable[[], Awaitable[Any]], str]] = {
        "leading-zero customer": (
            lambda: client.apply(**{**good, "customer_uin": "0" + customer[1:]}),
            "customer_uin",
        ),
        "Unicode-digit initiator": (
            lambda: client.apply(
                **{**good, "initiator_uin": "\u0661\u0660\u0660\u0660\u0660\u0660"}
            ),
            "initiator_uin",
        ),
        "submitter that is an operator": (
            lambda: client.apply(**good, submitter_uin="operator:alice"),
            "submitter_uin",
        ),
        "notice not acknowledged": (
            lambda: client.apply(**{**good, "notice_acknowledged": False}),
            "notice_acknowledged",
        ),
        "notice acknowledged as text": (
            lambda: client.apply(**{**good, "notice_acknowledged": "yes"}),
            "notice_acknowledged",
        ),
        "over-long reason": (lambda: client.apply(**good, reason="x" * 501), "reason"),
        "bidi override in reason": (lambda: client.apply(**good, reason="ok\u202eevil"), "reason"),
        "blank reason": (lambda: client.apply(**good, reason="   "), "reason"),
        "application id too short": (
            lambda: client.apply(**good, application_id="short"),
            "application_id",
        ),
        "deadline too long": (
            lambda: client.apply(
                **good, deadlines=Deadlines.model_construct(card_binding=timedelta(days=900))
            ),
            "deadlines",
        ),
        "application built unchecked": (
            lambda: client.submit(unchecked_application),
            "application_id",
        ),
        "confirm by a bad actor": (lambda: client.confirm(customer, actor="customer"), "actor"),
        "review with approve as text": (
            lambda: client.review(customer, actor=reseller, approve="maybe"),  # type: ignore[arg-type]
            "approve",
        ),
        "reject with a NUL in the reason": (
            lambda: client.reject(customer, actor=customer, reason="no\x00"),
            "reason",
        ),
        "withdraw with a bad action id": (
            lambda: client.withdraw(customer, actor=reseller, action_id="has space"),
            "action_id",
        ),
        "recheck for a bad customer": (
            lambda: client.recheck("12", actor="operator:alice"),
            "customer_uin",
        ),
        "act with an unchecked action": (
            lambda: client.act(customer, unchecked_confirm),
            "action_id",
        ),
        "signal with an unchecked action": (
            lambda: client.signal(customer, unchecked_withdraw),
            "reason",
        ),
        "status of a bad customer": (lambda: client.status(customer + "x"), "customer_uin"),
        "list by a bad reseller": (lambda: client.list(reseller_uin="007"), "reseller_uin"),
        "list by an unknown status": (lambda: client.list(status="DONE"), "status"),
    }
    for case, (call, field) in calls.items():
        with pytest.raises(BadInput) as refused:
            await call()
        path = refused.value.model_field
        assert path is not None, case
        assert path == field or path.startswith(f"{field}."), (case, refused.value.message)

    # Nothing started, for this customer or any other.
    assert not await _exists(dev_env, workflow_id_for(customer))
    assert partner_center.records(customer) == []
    assert partner_center.inbox(reseller) == []

    # A good application is the first and only one on this task queue.
    accepted = await client.apply(**good)
    assert accepted.accepted
    query = f"TaskQueue = '{worker.task_queue}'"

    async def started() -> list[str]:
        return [w.id async for w in dev_env.client.list_workflows(query)]

    assert await eventually(started, lambda ids: len(ids) >= 1) == [workflow_id_for(customer)]
    assert len(partner_center.records(customer)) == 1
