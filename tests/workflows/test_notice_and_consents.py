"""Issue 13's workflow paths on the time-skipping server, with a real worker
and partner center: the notice's checks fail the final check and are settled,
the parties' decisions keep the hash of their text and the verdict, the record
writes them once each as evidence, and a quota refuses at submission."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from activities.sql.schema import consent_evidence
from tests.conftest import Ledger, running_worker
from tests.workflows.record_histories import notice_and_consents_recorded, quota_refused
from workflows.model import CheckName, UnbindStatus
from workflows.notice import CURRENT, Consent

S = UnbindStatus


async def test_decisions_and_the_notice_are_kept_as_evidence(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    client, pc = time_skipping_env.client, ledger.pc
    async with running_worker(client, pc, executor) as worker:
        handle = await notice_and_consents_recorded(client, worker.task_queue, ledger)
        outcome = await handle.result()

    assert outcome.status is S.COMPLETED
    assert (outcome.notice_version, outcome.notice_sha256) == (
        CURRENT.version,
        CURRENT.sha256(Consent.NOTICE),
    )
    decided = [(e.action, e.approve, e.text_sha256) for e in outcome.timeline if e.text_sha256]
    assert decided == [
        ("review", True, CURRENT.sha256(Consent.REVIEW)),
        ("confirm", None, CURRENT.sha256(Consent.CONFIRMATION)),
    ]
    failed = [t.status for t in outcome.transitions].count(S.AWAITING_REMEDIATION)
    assert failed == 1
    with pc._read() as conn:
        rows = conn.execute(
            select(consent_evidence).where(consent_evidence.c.customer_uin == outcome.customer_uin)
        ).all()
    # Saved with every record revision, written once each.
    assert sorted((r.action, r.text_version, r.text_sha256) for r in rows) == sorted(
        [
            ("notice", CURRENT.version, CURRENT.sha256(Consent.NOTICE)),
            ("review", CURRENT.version, CURRENT.sha256(Consent.REVIEW)),
            ("confirm", CURRENT.version, CURRENT.sha256(Consent.CONFIRMATION)),
        ]
    )


async def test_a_quota_refuses_at_submission(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, ledger.pc, executor) as worker:
        handle = await quota_refused(client, worker.task_queue, ledger)
        outcome = await handle.result()
    assert outcome.status is S.PRECHECK_FAILED
    assert [c.check for c in outcome.failed_checks] == [
        CheckName.CUSTOMER_QUOTA,
        CheckName.PAIR_QUOTA,
    ]
    assert all(c.next_allowed_at is not None for c in outcome.failed_checks)
