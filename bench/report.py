"""A bench run's results file and its figures.

``bench.run`` writes every result, the latency samples and the RSS points to
one JSON file, then draws the figures of docs/PERFORMANCE.md from that file
when matplotlib is installed (``pip install -e '.[bench]'``). They can be drawn
again from any results file:

    python -m bench.report artifacts/bench/<time>.json [--out DIR]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FIGURES = ("cpu-per-app.png", "rss-waiting.png", "throughput-workers.png", "latency.png")
"""The figures, in the order of docs/PERFORMANCE.md."""
PROCESSES = ("server", "worker", "bench")


def write_results(
    path: Path,
    results: dict[str, Any],
    *,
    samples: dict[str, list[float]],
    rss: dict[str, list[tuple[int, int]]],
) -> Path:
    """``results`` with the latency samples (ms) and RSS points (waiting, bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        **results,
        "latency_samples_ms": {
            name: [round(1000 * s, 1) for s in values] for name, values in samples.items()
        },
        "rss_points": {name: [list(point) for point in points] for name, points in rss.items()},
    }
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    return path


def figures_or_reason(results_file: Path) -> str:
    """Draw the figures beside ``results_file``; where they went, or why not."""
    try:
        drawn = draw(results_file, results_file.with_suffix(""))
    except ModuleNotFoundError as missing:
        return f"not drawn ({missing.name} is missing: pip install -e '.[bench]')"
    return ", ".join(str(path) for path in drawn) if drawn else "nothing measured to draw"


def draw(results_file: Path, out_dir: Path) -> list[Path]:
    """The figures for what ``results_file`` holds (a phase not run, no figure)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    results = json.loads(results_file.read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn = []
    for name, plot in zip(FIGURES, (_cpu, _rss, _workers, _latency), strict=True):
        figure = plot(results)
        if figure is None:
            continue
        path = out_dir / name
        figure.savefig(path, dpi=100, bbox_inches="tight")
        drawn.append(path)
    return drawn


def _titled(title: str, results: dict[str, Any]) -> Any:
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4))
    sizes = f"--apps {results.get('apps')} --waiting {results.get('waiting')}"
    axes.set_title(f"{title}\n{sizes}, {results.get('date', '')}", fontsize=10)
    return figure, axes


def _cpu(results: dict[str, Any]) -> Any:
    per_app: dict[str, dict[str, float]] = results.get("cpu_ms_per_app") or {}
    if not per_app:
        return None
    figure, axes = _titled("CPU per application, by process", results)
    kinds = list(per_app)
    bottom = [0.0] * len(kinds)
    for process in PROCESSES:
        heights = [per_app[kind].get(process, 0.0) for kind in kinds]
        axes.bar(kinds, heights, bottom=bottom, label=process)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_ylabel("CPU ms per application")
    axes.legend()
    return figure


def _rss(results: dict[str, Any]) -> Any:
    points: dict[str, list[list[int]]] = results.get("rss_points") or {}
    if not points:
        return None
    figure, axes = _titled("Worker RSS against waiting applications", results)
    for name, line in points.items():
        axes.plot([p[0] for p in line], [p[1] / 2**20 for p in line], marker="o", label=name)
    axes.set_xlabel("waiting applications")
    axes.set_ylabel("worker RSS (MB)")
    axes.legend()
    return figure


def _workers(results: dict[str, Any]) -> Any:
    rates: dict[str, float] = results.get("workers_per_s") or {}
    if not rates:
        return None
    figure, axes = _titled("Throughput against worker processes", results)
    counts = sorted(rates, key=int)
    axes.plot([int(c) for c in counts], [rates[c] for c in counts], marker="o")
    axes.set_xticks([int(c) for c in counts])
    axes.set_xlabel("worker processes")
    axes.set_ylabel("applications per second")
    axes.set_ylim(bottom=0)
    return figure


def _latency(results: dict[str, Any]) -> Any:
    samples: dict[str, list[float]] = {
        name: values for name, values in (results.get("latency_samples_ms") or {}).items() if values
    }
    if not samples:
        return None
    figure, axes = _titled("Latency distributions (share of actions answered within)", results)
    for name, values in samples.items():
        ordered = sorted(values)
        shares = [(i + 1) / len(ordered) for i in range(len(ordered))]
        axes.step(ordered, shares, where="post", label=f"{name} (n={len(ordered)})")
    axes.set_xscale("log")
    axes.set_xlabel("ms")
    axes.set_ylabel("share of samples")
    axes.legend(fontsize=8, loc="lower right")
    return figure


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report")
    parser.add_argument("results", type=Path, help="a results file of `make bench`")
    parser.add_argument(
        "--out", type=Path, default=None, help="where the PNGs go (default: beside the file)"
    )
    args = parser.parse_args(argv)
    if not args.results.is_file():
        parser.error(f"results: no file {args.results}")
    for path in draw(args.results, args.out or args.results.with_suffix("")):
        print(path)


if __name__ == "__main__":
    main()
