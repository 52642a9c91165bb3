"""The suite's verdict on real processes: the worker-kill scenario driven with
no fault injected drives every application correctly, and still fails, naming
the evidence it lacks (about 15 s: a dev server, a worker, 4 applications)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from starter.devstack.process import ROOT

pytestmark = pytest.mark.integration


def test_worker_kill_with_no_faults_fails_for_want_of_evidence(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "chaos",
            "--applications",
            "4",
            "--scenario",
            "worker-kill",
            "--no-faults",
            "--workdir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "4/4 as expected" in run.stdout
    assert "UNPROVEN 0/8 kills on open work" in run.stdout
    assert "UNPROVEN 0/4 crashes after cutover commit" in run.stdout
    assert "\nFAIL in " in run.stdout
