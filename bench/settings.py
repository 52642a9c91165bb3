"""A bench run's settings, from ``python -m bench``'s command line."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.idle import IDLE_APPS
from starter.devstack.ports import free_port
from starter.devstack.process import ROOT
from starter.devstack.server import DEV_SERVER_DYNAMIC_CONFIG, DEV_SERVER_SQLITE_PRAGMAS

SERVER_PRAGMAS = DEV_SERVER_SQLITE_PRAGMAS


@dataclass(frozen=True)
class BenchSettings:
    apps: int
    waiting: int
    scale: int
    process_apps: int
    concurrency: int
    database_url: str | None
    phases: frozenset[str]
    temporal_port: int
    server_pragmas: tuple[str, ...]
    run_dir: Path
    profile_memory: bool = False
    idle: int = IDLE_APPS
    results_file: Path | None = None
    server_dynamic_config: tuple[str, ...] = DEV_SERVER_DYNAMIC_CONFIG


PHASES = ("idle", "throughput", "processes", "memory", "scale")


def parse(argv: Sequence[str] | None) -> BenchSettings:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Throughput, memory and scale of the unbinding worker against a skeleton.",
    )
    parser.add_argument("--apps", type=int, default=200, help="applications per throughput run")
    parser.add_argument(
        "--waiting", type=int, default=2000, help="waiting applications for the memory phase"
    )
    parser.add_argument(
        "--scale", type=int, default=10_000, help="waiting-then-confirmed applications"
    )
    parser.add_argument(
        "--idle", type=int, default=IDLE_APPS, help="applications per step of the idle phase"
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="the results file (default: artifacts/bench/<time>.json)",
    )
    parser.add_argument(
        "--process-apps",
        type=int,
        default=None,
        help="applications per run of the processes phase (default: --apps)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="applications in flight at once (default: all of a throughput run; "
        "200 when filling the memory and scale phases)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("UNBIND_DATABASE_URL") or None,
        help="the partner center (default: UNBIND_DATABASE_URL, else a fresh SQLite file "
        "in the run directory)",
    )
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"comma-separated subset of {','.join(PHASES)}",
    )
    parser.add_argument(
        "--temporal-port", type=int, default=0, help="dev server port (default: a free one)"
    )
    parser.add_argument(
        "--server-sqlite-pragma",
        action="append",
        default=None,
        metavar="PRAGMA=VALUE",
        help="passed to `temporal server start-dev --sqlite-pragma` (repeatable; replaces "
        f"the default {' '.join(SERVER_PRAGMAS)}; `none` for the server's own defaults)",
    )
    parser.add_argument(
        "--server-dynamic-config",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="passed to `temporal server start-dev --dynamic-config-value` (repeatable; "
        f"replaces the default {' '.join(DEV_SERVER_DYNAMIC_CONFIG)}; `none` for the "
        "server's own defaults)",
    )
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="where the server file, ledger and logs go (default: var/bench/<time>)",
    )
    parser.add_argument(
        "--profile-memory",
        action="store_true",
        help="trace the memory phase's workers with tracemalloc (slow) and print "
        "where the Python heap grew per waiting workflow",
    )
    args = parser.parse_args(argv)
    phases = frozenset(p.strip() for p in args.phases.split(",") if p.strip())
    if unknown := phases - set(PHASES):
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    for name in ("apps", "waiting", "scale", "idle"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return BenchSettings(
        apps=args.apps,
        waiting=args.waiting,
        scale=args.scale,
        process_apps=args.process_apps or args.apps,
        concurrency=args.concurrency or 0,
        database_url=args.database_url,
        phases=phases,
        temporal_port=args.temporal_port or free_port(),
        server_pragmas=tuple(
            p for p in (args.server_sqlite_pragma or SERVER_PRAGMAS) if p.lower() != "none"
        ),
        profile_memory=args.profile_memory,
        run_dir=(args.run_dir or ROOT / "var" / "bench" / stamp).resolve(),
        idle=args.idle,
        server_dynamic_config=tuple(
            value
            for value in (args.server_dynamic_config or DEV_SERVER_DYNAMIC_CONFIG)
            if value.lower() != "none"
        ),
        results_file=(args.results or ROOT / "artifacts" / "bench" / f"{stamp}.json").resolve(),
    )
