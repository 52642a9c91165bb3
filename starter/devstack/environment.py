"""The environment of a process a local stack starts (a worker, the CLI):
only what the caller chooses, nothing of the developer's own Temporal setup
(profiles, API keys, TLS) or ``UNBIND_*`` settings."""

from __future__ import annotations

import os

from starter.devstack.process import ROOT

NAMESPACE = "default"


def isolated_environment(*, address: str, task_queue: str, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "UNBIND_"))}
    env.update(
        TEMPORAL_ADDRESS=address,
        TEMPORAL_NAMESPACE=NAMESPACE,
        TEMPORAL_CONFIG_FILE=os.devnull,
        UNBIND_TASK_QUEUE=task_queue,
        UNBIND_DATABASE_URL=database_url,
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env
