"""No card data and no secrets ever reach workflow history.

The process only ever learns *whether* a card is bound (the partner center
answers a yes/no); the worker holds the database URL and Temporal credentials.
Everything a history carries is read here: every payload of every event
(inputs, results, signals, updates, markers), search attributes, memo, user
metadata (summaries and details), headers, and every failure message and stack
trace, plus what describe() and the current-details query return.

Checked on every recorded history (tests/workflows/histories) and on fresh
ones from every path run now on the time-skipping server, with card-looking
and secret-looking text planted where a careless change could copy it into the
workflow: account names, savings-unit ids, and the worker process's
environment (a password-bearing database URL and a Temporal API key).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger, Parties, fresh_uin, running_worker
from tests.workflows.record_histories import PATHS
from workflows.model import PartnerKind

HISTORIES_DIR = Path(__file__).parent / "workflows" / "histories"
HISTORIES = sorted(HISTORIES_DIR.rglob("*.json"))

# Planted secrets: none may ever show up in a history.
CARD_NUMBER = "4111 1111 1111 1111"
CARD_DIGITS = CARD_NUMBER.replace(" ", "")
CVV_TEXT = "cvv 737 exp 03/30"
DATABASE_PASSWORD = "pw-Canary-5b1d"
API_KEY = "tmprl-api-key-Canary-9e77"
PLANTED = (CARD_NUMBER, CARD_DIGITS, CVV_TEXT, DATABASE_PASSWORD, API_KEY)

SECRET_WORDS = re.compile(
    r"cvv|cvc|card[ _-]?number|\bpan\b|password|passwd|secret|api[ _-]?key|bearer|"
    r"private key|authorization|\btoken\b",
    re.IGNORECASE,
)
CREDENTIALS_IN_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/@:]*:[^\s/@]+@", re.IGNORECASE)
DATABASE_URL = re.compile(r"sqlite:/|postgres(ql)?(\+\w+)?:/", re.IGNORECASE)
CARD_LIKE = re.compile(r"\b\d{13,19}\b|\b\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}\b")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def texts(message: Message) -> Iterator[str]:
    """Every string in a protobuf message, payloads decoded, recursively."""
    if isinstance(message, Payload):
        yield message.data.decode("utf-8", "replace")
        for key, value in message.metadata.items():
            yield key
            yield value.decode("utf-8", "replace")
        return
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                for key, item in value.items():
                    yield str(key)
                    yield from texts(item) if isinstance(item, Message) else [str(item)]
            elif isinstance(value, Message):
                yield from texts(value)
            else:  # a repeated field
                for item in value:
                    yield from texts(item)
        elif field.type == FieldDescriptor.TYPE_STRING:
            yield from [value] if isinstance(value, str) else value
        elif field.type == FieldDescriptor.TYPE_BYTES:
            items = [value] if isinstance(value, bytes) else value
            yield from (item.decode("utf-8", "replace") for item in items)


def leaks(corpus: str) -> list[str]:
    """Everything in ``corpus`` that looks like card data or a secret."""
    found = [planted for planted in PLANTED if planted in corpus]
    found += [m.group(0) for m in SECRET_WORDS.finditer(corpus)]
    found += [m.group(0) for m in CREDENTIALS_IN_URL.finditer(corpus)]
    found += [m.group(0) for m in DATABASE_URL.finditer(corpus)]
    for match in CARD_LIKE.finditer(corpus):
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and _luhn_valid(digits):
            found.append(match.group(0))
    return found


def history_corpus(history: WorkflowHistory) -> str:
    return "\n".join(text for event in history.events for text in texts(event))


def test_the_scanner_finds_what_it_looks_for() -> None:
    samples = [
        f"name: Visa {CARD_NUMBER}",
        "pan=5500005555555559",
        "postgresql+psycopg://unbind:hunter2@db:5432/unbind",
        "sqlite:///var/unbind.db",
        "the CVV was 123",
        "Authorization: Bearer abc",
    ]
    for sample in samples:
        assert leaks(sample), sample
    # UINs, timestamps, run ids and event ids are not card numbers.
    assert not leaks("30012345001 20000000001 2026-11-26T23:31:22+00:00 01a21a2d-9697-74cf")


def test_the_scanner_reads_every_payload_and_failure() -> None:
    history_file = HISTORIES_DIR / "second_level_with_card_binding.json"
    corpus = history_corpus(WorkflowHistory.from_json("x", history_file.read_text()))
    # Decoded payloads (inputs, activity results, update results), search
    # attributes, summaries, and the refused card-binding reason are all read.
    for expected in (
        '"notice_acknowledged":true',
        "UnbindStatus",
        "PENDING_CARD_BINDING",
        "Verify the customer's card binding",
        "no card is bound in the partner center",
    ):
        assert expected in corpus, expected


@pytest.mark.parametrize("history_file", HISTORIES, ids=lambda p: p.stem)
def test_recorded_histories_carry_no_card_data_or_secrets(history_file: Path) -> None:
    history = WorkflowHistory.from_json(history_file.stem, history_file.read_text())
    assert leaks(history_corpus(history)) == []


class PlantingLedger(Ledger):
    """A ledger whose accounts carry card-looking and secret-looking text."""

    def _partner(self, kind: PartnerKind, distributor: str | None = None) -> str:
        uin = fresh_uin()
        self.pc.add_partner(uin, kind=kind, distributor_uin=distributor, name=f"api key {API_KEY}")
        return uin

    def _customer(self, partner: str, card: bool) -> str:
        uin = fresh_uin()
        self.pc.add_customer(
            uin, partner_uin=partner, name=f"Visa {CARD_NUMBER} {CVV_TEXT}", card=card
        )
        return uin

    def direct(self, *, card: bool = True) -> Parties:
        reseller = self._partner(PartnerKind.RESELLER)
        return Parties(customer=self._customer(reseller, card), reseller=reseller)

    def second_level(self, *, card: bool = True) -> Parties:
        distributor = self._partner(PartnerKind.DISTRIBUTOR)
        reseller = self._partner(PartnerKind.SECOND_LEVEL_RESELLER, distributor)
        return Parties(
            customer=self._customer(reseller, card), reseller=reseller, distributor=distributor
        )


@pytest.mark.timeskipping
async def test_fresh_histories_of_every_path_carry_no_card_data_or_secrets(
    time_skipping_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    executor: ThreadPoolExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What a deployed worker's environment holds; nothing may copy it along.
    monkeypatch.setenv(
        "UNBIND_DATABASE_URL", f"postgresql+psycopg://unbind:{DATABASE_PASSWORD}@db/unbind"
    )
    monkeypatch.setenv("TEMPORAL_API_KEY", API_KEY)
    client = time_skipping_env.client
    ledger = PlantingLedger(partner_center)
    scanned: dict[str, list[str]] = {}
    async with running_worker(client, partner_center, executor) as worker:
        for path in PATHS:
            handle = await path(client, worker.task_queue, ledger)
            await handle.result()
            history = await handle.fetch_history()
            # Raw: the SDK's describe() cannot parse the test server's datetimes.
            description = await client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=client.namespace,
                    execution=WorkflowExecution(workflow_id=handle.id),
                )
            )
            metadata = await handle.query(
                "__temporal_workflow_metadata", result_type=WorkflowMetadata
            )
            corpus = "\n".join(
                [
                    history_corpus(history),
                    *texts(description),
                    *texts(metadata),
                ]
            )
            # The details operators read were scanned too.
            assert "**Status:**" in corpus
            scanned[path.__name__] = leaks(corpus)
    assert scanned == {path.__name__: [] for path in PATHS}
    # The planted card text is really in the partner center, just not in history.
    completed = [r for r in partner_center.records() if r.status.value == "COMPLETED"]
    assert CARD_NUMBER in str(partner_center.show(completed[0].customer_uin)["name"])
