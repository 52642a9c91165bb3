"""Every patch the workflow asks is decided in the first workflow task of a
run that takes issue 12's path (``workflows.publishing.local_steps``): a patch
left out could be asked after a local activity split a task, and answer
otherwise on replay (found by the fault suite's worker kills)."""

from __future__ import annotations

import importlib
import pkgutil

import workflows
from workflows.patches import LATER_PATCHES, LOCAL_STEPS_PATCH, PARTY_SIGNALS_REFUSED_PATCH


def test_every_patch_of_the_workflow_is_decided_with_the_local_steps() -> None:
    asked = set()
    for module in pkgutil.iter_modules(workflows.__path__):
        loaded = importlib.import_module(f"workflows.{module.name}")
        asked |= {
            value
            for name, value in vars(loaded).items()
            if name.endswith("_PATCH") and isinstance(value, str)
        }
    # The signing policy's marker means the policy applies: asked first in
    # every run (``Intake.party_signals_refused``), never asked to decide it.
    assert asked - {LOCAL_STEPS_PATCH, PARTY_SIGNALS_REFUSED_PATCH} == set(LATER_PATCHES)
    assert len(LATER_PATCHES) == len(set(LATER_PATCHES))
