"""Records the continue-as-new path as replay fixtures, one file per run:

    python -m tests.workflows.record_continued_histories

A storm in the confirmation wait and another in the remediation wait push the
history past the server's continue-as-new suggestion (lowered to a few
hundred events on a dev server of its own, see ``storms.py``), so the
fixtures hold a run that continues as new from a human wait, runs that resume
in one, and the run that completes. The time-skipping server never suggests
continue-as-new, hence a separate recorder from ``record_histories.py``; the
same rules for re-recording apply (docs/DEVELOPING.md, "Changing workflow code safely").
"""

from __future__ import annotations

import asyncio
import tempfile
from concurrent.futures import ThreadPoolExecutor

from activities.sql import SqlPartnerCenter
from starter.devstack.database import migrated
from tests.conftest import Ledger, running_worker
from tests.workflows.record_histories import HISTORIES
from tests.workflows.storms import continue_as_new_path, run_ids, short_history_environment

NAME = "continued_as_new"
SEED = 7


async def main() -> None:
    HISTORIES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(16) as executor:
        pc = SqlPartnerCenter(migrated(f"sqlite:///{tmp}/pc.db"))
        async with (
            short_history_environment() as env,
            running_worker(env.client, pc, executor) as worker,
        ):
            parties = Ledger(pc).second_level(card=True)
            long = await continue_as_new_path(env.client, worker.task_queue, pc, parties, SEED)
            outcome = await long.handle.result()
            for number, run_id in enumerate(await run_ids(env.client, long.handle), start=1):
                run = env.client.get_workflow_handle(long.handle.id, run_id=run_id)
                history = await run.fetch_history()
                target = HISTORIES / f"{NAME}_run{number}.json"
                target.write_text(history.to_json())
                print(f"{NAME} run {number}: {len(history.events)} events -> {target}")
            print(f"{NAME}: {outcome.status} after {outcome.runs} runs")
        pc.dispose()


if __name__ == "__main__":
    asyncio.run(main())
