"""The front page stays true: README.md starts with the two commands a fresh
machine needs, both real make targets; its backend example runs against a live
stack and reaches the statuses it prints; every relative link in README.md and
docs/*.md names a file (and a heading) that exists; and what ``make demo``
installs is enough for the demo."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
import textwrap
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from click.testing import CliRunner
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from activities.sql.demo import DEMO_RESELLER
from starter.cli.app import cli
from starter.devstack.environment import isolated_environment
from starter.devstack.process import ROOT
from starter.devstack.worker_process import WorkerProcess
from tests.conftest import fresh_uin

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))

EXAMPLE_TIMEOUT = 120.0
"""Seconds for one command of the example (a fresh interpreter, a cutover)."""

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def code_blocks(markdown: str) -> list[tuple[str, str, int]]:
    """Every fenced block: (language, body, offset of the fence)."""
    return [(m.group(1), m.group(2), m.start()) for m in FENCE.finditer(markdown)]


def commands(shell: str) -> list[str]:
    """The command lines of a shell block, comments and blank lines left out."""
    lines = (line.split("#", 1)[0].strip() for line in shell.splitlines())
    return [line for line in lines if line]


# ---- the two commands ----------------------------------------------------------


def test_the_readme_starts_with_exactly_the_two_commands() -> None:
    text = README.read_text()
    language, body, at = code_blocks(text)[0]
    before = text[:at]
    # Only the title and one sentence come first: no section, no other block.
    assert [line for line in before.splitlines() if line.startswith("#")] == [
        "# reseller-unbinding"
    ]
    assert len([line for line in before.splitlines() if line.strip()]) <= 3
    assert language == "sh"
    assert commands(body) == ["make demo", "make test"]


@pytest.mark.parametrize(
    ("target", "runs", "installs"),
    [("demo", "-m starter.demo", "[demo]"), ("test", "/pytest", "[dev]")],
)
def test_both_commands_are_make_targets_that_set_up_and_run(
    tmp_path: Path, target: str, runs: str, installs: str
) -> None:
    """``make -n`` in a fresh venv location: the target exists, creates the
    venv, installs its extra (the demo: only ``[demo]``) and runs the job."""
    venv = tmp_path / "venv"
    # Under `make test` the parent make's flags would make this one print
    # "Entering/Leaving directory" lines: run it as from a shell.
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", target, f"VENV={venv}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert dry.returncode == 0, dry.stderr
    assert f"-m venv {venv}" in dry.stdout
    installs_line = f"{venv}/bin/pip install -e '.{installs}'"
    assert installs_line in dry.stdout
    assert runs in dry.stdout.splitlines()[-1]
    if target == "demo":
        assert "[dev]" not in dry.stdout


def test_what_make_demo_installs_is_enough_for_the_demo() -> None:
    """The demo's processes (the demo, the worker, the HTTP API) import nothing
    that only ``[dev]`` or ``[postgres]`` brings: imported in a fresh
    interpreter in which those packages cannot be imported. ``.ci/run`` also
    plays the demo from a venv holding ``[demo]`` alone."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]

    def distributions(extra: str) -> set[str]:
        names: set[str] = set()
        for spec in extras[extra]:
            match = re.match(r"([A-Za-z0-9._-]+)(?:\[([^\]]*)\])?", spec)
            assert match is not None, spec
            name, inner = match.group(1).lower(), match.group(2) or ""
            if name == "reseller-unbinding":
                for included in inner.split(","):
                    names |= distributions(included.strip())
            else:
                names.add(name)
        return names

    not_for_the_demo = distributions("dev") - distributions("demo")
    assert {"pytest", "hypothesis", "psycopg"} <= not_for_the_demo
    modules = sorted(
        module
        for module, owners in packages_distributions().items()
        # A namespace shared with a package the demo has (opentelemetry: its
        # API comes with FastAPI, its SDK with [dev]) is not blocked.
        if {owner.lower() for owner in owners} <= not_for_the_demo and module.isidentifier()
    )
    assert "pytest" in modules
    probe = textwrap.dedent(
        f"""
        import importlib.abc, sys
        BLOCKED = set({modules!r})
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError(f"the demo imported {{name}}, which only [dev] installs")
        sys.meta_path.insert(0, Block())
        import starter.demo, worker, starter.api.__main__, starter.cli
        print("imported")
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "imported"


# ---- the backend example ----------------------------------------------------


def backend_example() -> tuple[list[str], str]:
    """The shell block that runs the example and the Python block itself: the
    first ``python`` block and the shell block just before it."""
    blocks = code_blocks(README.read_text())
    index = next(i for i, (language, _, _) in enumerate(blocks) if language == "python")
    language, shell, _ = blocks[index - 1]
    assert language == "sh"
    return commands(shell), blocks[index][1]


def printed_promises(example: str) -> list[str]:
    """The lines the example says it prints: ``print("label:", x)  # VALUE``."""
    promises = re.findall(r'print\("([^"]+)",.*\)\s*#\s*(\S+)', example)
    return [f"{label} {value}" for label, value in promises]


@pytest.mark.integration
async def test_the_backend_example_runs_and_reaches_the_status_it_prints(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    database_url: str,
    tmp_path: Path,
) -> None:
    """The README's shell lines and example, run as a newcomer runs them next to
    ``make demo``'s stack: a dev server and ``python worker.py``."""
    shell, example = backend_example()
    promises = printed_promises(example)
    assert promises[-1] == "now: COMPLETED"
    (tmp_path / "example.py").write_text(example)
    # `make demo` seeded the ledger; the README's customer UIN, made fresh.
    partner_center.seed_demo()
    customer = fresh_uin()
    readme_customer = re.search(r"add-customer (\d+)", shell[0])
    assert readme_customer is not None
    venv_bin = Path(sys.executable).parent

    address = dev_env.client.service_client.config.target_host
    stack = dict(address=address, task_queue=f"readme-{customer}", database_url=database_url)
    worker = WorkerProcess(**stack, log_path=tmp_path / "worker.log")
    await worker.start_polling(dev_env.client)
    try:
        env = isolated_environment(**stack)
        outputs = []
        for line in shell:
            argv = shlex.split(line.replace(readme_customer.group(1), customer))
            if argv[0].startswith(".venv/bin/"):  # this test's own venv
                argv[0] = str(venv_bin / Path(argv[0]).name)
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=tmp_path,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(process.communicate(), EXAMPLE_TIMEOUT)
            assert process.returncode == 0, f"{line}: {err.decode()}"
            outputs.append(out.decode())
    finally:
        assert worker.stop() is not None

    assert outputs[-1].splitlines() == promises
    # The cutover really happened: the customer has no partner any more.
    account = partner_center.show(customer)
    assert account["partner"] is None
    assert account["agreement"]["partner_uin"] == DEMO_RESELLER
    assert account["agreement"]["invalidated_at"] is not None


# ---- the CLI at a glance ----------------------------------------------------


def test_the_cli_at_a_glance_names_real_commands_and_options() -> None:
    """Each ``unbind`` line of the README parses with the real ``unbind``
    (``--help`` stops it before anything runs): every command and option it
    names exists."""
    runner = CliRunner()
    text = README.read_text()
    lines = [
        line
        for _, body, _ in code_blocks(text)
        for line in commands(body)
        if line.startswith("unbind ")
    ]
    assert len(lines) >= 12  # the CLI at a glance and the partner safeguards
    for line in lines:
        program, *args = shlex.split(line)
        assert program == "unbind"
        result = runner.invoke(cli, [*args, "--help"])
        assert result.exit_code == 0, f"{line}: {result.output}"
        assert result.output.startswith(f"Usage: cli {args[0]}"), line
    invented = runner.invoke(cli, ["apply", "--customer", "20000000001", "--bogus", "--help"])
    assert invented.exit_code == 2


# ---- configuration ----------------------------------------------------------


def test_every_unbind_variable_in_the_readme_is_read_by_shipped_code() -> None:
    text = README.read_text()
    section = text[text.index("\n## Configuration\n") :]
    section = section[: section.index("\n## ", 1)]
    named = set(re.findall(r"`(UNBIND_[A-Z_]+)`", section))
    assert len(named) >= 5
    shipped = [*ROOT.glob("starter/**/*.py"), *ROOT.glob("activities/**/*.py"), ROOT / "worker.py"]
    source = "\n".join(path.read_text() for path in shipped)
    assert sorted(name for name in named if f'"{name}"' not in source) == []


# ---- links ------------------------------------------------------------------

LINK = re.compile(r"\]\(([^)\s]+)\)|<a href=\"([^\"]+)\"|src=\"([^\"]+)\"")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    prose = FENCE.sub("", markdown)
    return {slug(h) for h in re.findall(r"^#+ (.+)$", prose, re.MULTILINE)}


def relative_links(path: Path) -> list[str]:
    prose = FENCE.sub("", path.read_text())
    found = ("".join(groups) for groups in LINK.findall(prose))
    return [link for link in found if not re.match(r"[a-z]+:", link)]


def check_links(pages: list[Path]) -> tuple[int, list[str]]:
    """How many relative links the pages hold, and the broken ones: a file
    that does not exist, or a heading a markdown file does not have."""
    checked, broken = 0, []
    for page in pages:
        for link in relative_links(page):
            target, _, anchor = link.partition("#")
            file = (page.parent / target).resolve() if target else page
            checked += 1
            if not file.exists():
                broken.append(f"{page.name}: {link} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text()):
                broken.append(f"{page.name}: {link} (no such heading)")
    return checked, broken


def test_every_relative_link_in_the_readme_and_docs_names_what_exists() -> None:
    assert len(DOCS) >= 8
    checked, broken = check_links([README, *DOCS])
    assert broken == []
    assert checked >= 40, "the pages link to far more than this: the parser missed them"


def test_the_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## `make demo` in detail\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n## The caller's job\n\n[ok](#the-callers-job) [missing](nowhere.md)\n"
        "[there](other.md#make-demo-in-detail) [not there](other.md#make-test)\n"
        '<img src="gone.png"> [bad anchor](#no-section)\n\n```sh\n[in code](ignored.md)\n```\n'
    )
    assert check_links([page]) == (
        6,
        [
            "page.md: nowhere.md (no such file)",
            "page.md: other.md#make-test (no such heading)",
            "page.md: gone.png (no such file)",
            "page.md: #no-section (no such heading)",
        ],
    )
