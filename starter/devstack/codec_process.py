"""The codec server in a process of its own (``python -m starter.codec_server``),
with the stack's payload keys, callable from the Web UI at ``ui_origin``."""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

from starter.devstack.api_process import ServingProcess
from starter.devstack.environment import isolated_environment
from starter.devstack.ports import HOST
from starter.secret_files import write_once

DEMO_KEY_ID = "demo-1"


class CodecServerProcess(ServingProcess):
    """``python -m starter.codec_server`` on ``HOST:port``."""

    def __init__(self, *, payload_keys: str, port: int, ui_origin: str, log_path: Path) -> None:
        self.port = port
        # The codec server talks to no Temporal service and no database.
        env = isolated_environment(
            address="", task_queue="", database_url="", payload_keys=payload_keys
        )
        env.update(UNBIND_CODEC_ADDRESS=f"{HOST}:{port}", UNBIND_CODEC_CORS_ORIGINS=ui_origin)
        command = [sys.executable, "-m", "starter.codec_server"]
        super().__init__("codec server", command, log_path=log_path, env=env)


def demo_payload_keys(directory: Path) -> str:
    """A development ``UNBIND_PAYLOAD_KEYS``, generated on first use and kept in
    ``directory`` so that a dev server's persisted histories stay readable
    across runs."""
    path = directory / "demo-payload-keys"
    if not path.exists():
        write_once(path, f"{DEMO_KEY_ID}:{base64.b64encode(os.urandom(32)).decode()}".encode())
    return path.read_text().strip()
