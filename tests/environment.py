"""The environment of a process a test or the fault suite starts (the CLI, a
worker): only what the caller chooses, nothing of the developer's own
Temporal setup (profiles, API keys, TLS) or ``UNBIND_*`` settings."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def isolated_environment(*, address: str, task_queue: str, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "UNBIND_"))}
    env.update(
        TEMPORAL_ADDRESS=address,
        TEMPORAL_NAMESPACE="default",
        TEMPORAL_CONFIG_FILE=str(ROOT / "var" / "no-such-temporal-config.toml"),
        UNBIND_TASK_QUEUE=task_queue,
        UNBIND_DATABASE_URL=database_url,
        PYTHONPATH=str(ROOT),
    )
    return env
