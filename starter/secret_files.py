"""Development secrets generated on first use and kept in a file."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_once(path: Path, content: bytes) -> None:
    """Create ``path`` (owner-only) holding ``content`` unless it exists. Two
    processes generating at once agree: the first file written wins (O_EXCL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(content)
