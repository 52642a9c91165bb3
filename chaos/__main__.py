"""``python -m chaos``: run the fault scenarios and print one table.

Exit status 0 when every application of every scenario ended as its path
demands with every effect exactly once and every scenario's faults
demonstrably hit open applications; 1 when any was lost, stuck or doubled,
a fault did not land on open work (or was not injected), or a worker exited
without being killed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

from chaos.scenarios import SCENARIOS, ScenarioResult, run
from chaos.settings import ChaosSettings
from starter.progress import phase

COLUMNS = (
    "scenario",
    "applications",
    "faults injected",
    "completed as expected",
    "duplicated effects",
    "lost",
    "stuck",
    "fault evidence",
)


def table(results: list[ScenarioResult]) -> str:
    rows = [
        (
            r.name,
            str(r.applications),
            r.faults,
            str(r.as_expected),
            str(r.duplicated),
            str(r.lost),
            str(r.stuck),
            ("" if r.evidence.proven else "UNPROVEN: ") + r.evidence.column(),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]

    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(COLUMNS), rule, *(line(row) for row in rows)])


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument(
        "--applications",
        type=int,
        default=ChaosSettings.applications,
        help="applications per scenario, spread over every path (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=ChaosSettings.seed)
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="run only these (repeatable); default: all, in order",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where servers, databases and logs go (default: a temporary directory, "
        "removed after a passing run)",
    )
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="one scenario after the other (default: all at once, each on its own "
        "server, worker and database)",
    )
    parser.add_argument(
        "--no-faults",
        action="store_true",
        help="drive the applications but inject no fault: the run must FAIL for want "
        "of evidence (a check of the suite's own verdict)",
    )
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args()


async def main(arguments: argparse.Namespace) -> int:
    settings = replace(
        ChaosSettings(),
        applications=arguments.applications,
        seed=arguments.seed,
        inject_faults=not arguments.no_faults,
    )
    keys = arguments.scenario or list(SCENARIOS)
    workdir = arguments.workdir or Path(tempfile.mkdtemp(prefix="unbind-chaos-"))
    print(
        f"fault suite: {len(keys)} scenarios x {settings.applications} applications, "
        f"seed {settings.seed}{'' if settings.inject_faults else ', NO FAULTS'}, "
        f"files in {workdir}",
        flush=True,
    )
    began = time.monotonic()

    async def one(key: str) -> ScenarioResult:
        print(f"-- {SCENARIOS[key].name}: started", flush=True)
        try:
            result = await run(key, settings, workdir / key, settings.seed)
        except Exception as error:
            logging.exception("scenario %s broke", key)
            result = ScenarioResult.broken(SCENARIOS[key].name, settings.applications, error)
        print(
            f"-- {result.name}: {result.seconds:.0f} s, {result.faults}; "
            f"{result.as_expected}/{result.applications} as expected",
            flush=True,
        )
        return result

    # A CI timeout sends SIGTERM: stop the servers and workers on the way out.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    with phase("fault scenarios", total=len(keys)) as finished:

        async def counted(key: str) -> ScenarioResult:
            result = await one(key)
            finished()
            return result

        if arguments.sequential:
            results = [await counted(key) for key in keys]
        else:
            results = list(await asyncio.gather(*(counted(key) for key in keys)))
    print()
    print(table(results))
    print()
    for result in results:
        for note in result.notes:
            print(f"{result.name}: {note}")
        for problem in result.problems:
            print(f"{result.name}: PROBLEM {problem}")
        for missing in result.evidence.missing:
            print(f"{result.name}: UNPROVEN {missing}")
    passed = all(r.passed for r in results)
    print(f"\n{'PASS' if passed else 'FAIL'} in {time.monotonic() - began:.0f} s")
    if passed and arguments.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    elif not passed:
        print(f"logs and databases kept in {workdir}")
    return 0 if passed else 1


if __name__ == "__main__":
    args = _arguments()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # The suite's own client sees every fault (refused connections while the
    # server is down): those retries are expected, so only errors are shown.
    quiet = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    Runtime.set_default(Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=quiet))))
    code = asyncio.run(main(args))
    # The suite hosts no worker, but leave the same way as every process here.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
