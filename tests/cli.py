"""``unbind`` run as a real subprocess, as a person runs it in a shell.

Awaited with ``asyncio.create_subprocess_exec``, not ``subprocess.run``: a
worker on the test's event loop must keep answering while the CLI waits on it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from json import loads
from typing import Any

from starter.devstack.process import ROOT

CLI_TIMEOUT = 60.0
"""Seconds one CLI run may take before the test gives up on it."""


@dataclass(frozen=True)
class Result:
    """One finished ``unbind`` run."""

    code: int
    data: Any
    """Parsed ``--json`` output (None without ``--json`` or when stdout is empty)."""
    stdout: str
    stderr: str


async def start_unbind(env: Mapping[str, str], *argv: str) -> asyncio.subprocess.Process:
    """``unbind <argv>`` started in ``env``, its output piped, not awaited."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "starter.cli",
        *argv,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run_unbind(env: Mapping[str, str], *args: str, json: bool = True) -> Result:
    """``unbind <args> [--json]`` in ``env``, to its end (at most ``CLI_TIMEOUT``)."""
    argv = [*args, "--json"] if json else list(args)
    process = await start_unbind(env, *argv)
    try:
        out, err = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"unbind {' '.join(argv)} did not finish in {CLI_TIMEOUT}s") from None
    stdout, stderr = out.decode(), err.decode()
    assert process.returncode is not None
    data = loads(stdout) if json and stdout.strip() else None
    return Result(process.returncode, data, stdout, stderr)
