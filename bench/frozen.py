"""The frozen reference skeleton ("skeleton-v1", issue 12): the orchestration
shape the unbinding had when the performance targets were set, kept as data
(``bench/skeleton-v1.json``). The learned skeleton follows our shape as it
moves; this one does not, so a design that changes the shape is measured
against a fixed yardstick.

Beside it, two floors with the same actions, waits and answers, run in the
same run. "floor": one (no-op) activity after each action, the least a design
of this process does, since each answer follows a write to the system of
record (an answer the record does not hold yet could be lost with the worker).
A target the floor misses in a run is out of reach on that machine, whatever
the workflow does. "bare": no activity at all, what the stack spends on the
API alone."""

from __future__ import annotations

import json
from pathlib import Path

from bench.paths import PATHS
from bench.skeleton import Segment

FROZEN_NAME = "skeleton-v1"
FROZEN_FILE = Path(__file__).with_name(f"{FROZEN_NAME}.json")
FLOOR_NAME = "floor"
BARE_NAME = "bare"


class BadFrozenSkeleton(ValueError):
    """The frozen shapes file does not describe every path of the bench."""


def frozen_shapes(path: Path = FROZEN_FILE) -> dict[str, list[Segment]]:
    """Activities per segment of each path, checked against the bench's paths."""
    shapes = json.loads(path.read_text())["shapes"]
    names = {story.name for story in PATHS}
    if set(shapes) != names:
        raise BadFrozenSkeleton(
            f"{path}: shapes must name exactly the bench's paths {sorted(names)}, "
            f"got {sorted(shapes)}"
        )
    for name, segments in shapes.items():
        if not segments or not all(isinstance(n, int) and n >= 0 for n in segments):
            raise BadFrozenSkeleton(f"{path}: {name!r} must be a list of activity counts ≥ 0")
    return {name: list(segments) for name, segments in shapes.items()}


def floor_shapes(shapes: dict[str, list[Segment]]) -> dict[str, list[Segment]]:
    """Every path of ``shapes`` with its actions and one activity after each."""
    return {name: [1] * len(segments) for name, segments in shapes.items()}


def bare_shapes(shapes: dict[str, list[Segment]]) -> dict[str, list[Segment]]:
    """Every path of ``shapes`` with its actions and no activity after any of them."""
    return {name: [0] * len(segments) for name, segments in shapes.items()}
