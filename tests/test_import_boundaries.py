"""Shipped code and its tools never import the test suite: what the demo, the
benchmark and the fault suite need lives in ``starter/devstack``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("workflows", "activities", "starter", "bench", "chaos", "worker.py")


def _python_files() -> Iterator[Path]:
    for name in SHIPPED:
        path = ROOT / name
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def _imported_modules(source: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            # `from tests import conftest` names the package itself.
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _is_test_suite(module: str) -> bool:
    return module == "tests" or module.startswith("tests.")


def test_no_shipped_module_imports_the_test_suite() -> None:
    offenders = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in _python_files()
        for module in _imported_modules(path)
        if _is_test_suite(module)
    }
    assert not offenders, sorted(offenders)


def test_the_scan_sees_every_kind_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import tests.conftest\nfrom tests import conftest\nfrom tests.postgres import X\n"
        "import testsuite\nfrom .tests import y\n"
    )
    found = [m for m in _imported_modules(sample) if _is_test_suite(m)]
    assert set(found) == {"tests.conftest", "tests", "tests.postgres", "tests.postgres.X"}
