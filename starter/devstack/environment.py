"""The environment of a process a local stack starts (a worker, the CLI):
only what the caller chooses, nothing of the developer's own Temporal setup
(profiles, API keys, TLS) or ``UNBIND_*`` settings."""

from __future__ import annotations

import os

from starter.devstack.process import ROOT
from starter.payload_codec import KEYS_VARIABLE

NAMESPACE = "default"


def isolated_environment(
    *, address: str, task_queue: str, database_url: str, payload_keys: str | None = None
) -> dict[str, str]:
    """``payload_keys``: the stack's ``UNBIND_PAYLOAD_KEYS`` (default: plain payloads)."""
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
    if payload_keys:
        env[KEYS_VARIABLE] = payload_keys
    return env
