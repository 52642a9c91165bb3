"""The partner center's schema migrations (issue 14): from an empty database
to the head, from the schema the code before migrations created at run time,
the migrated schema equal to the models, and every process refusing a
database that is not at the head. On SQLite by default, on PostgreSQL with
UNBIND_TEST_DATABASE=postgresql (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from activities.sql import SqlPartnerCenter
from activities.sql.migrations.revisions import (
    BASELINE,
    SchemaNotCurrent,
    alembic_config,
    head_revision,
    scripts,
)
from activities.sql.migrations.upgrade import Upgraded, describe, upgrade
from activities.sql.schema import metadata
from starter.devstack.process import ROOT
from workflows.model import PartnerKind

HERE = Path(__file__).parent
NOWHERE = "127.0.0.1:1"
RESELLER, CUSTOMER = "10000000002", "20000000001"
UPGRADE_HINT = "unbind db upgrade"
UPGRADE_WITHIN = 60.0
"""Seconds an upgrade may take before a test calls it stuck."""


@pytest.fixture
def engine(empty_database_url: str) -> Iterator[Engine]:
    """On the test's empty database."""
    engine = create_engine(empty_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def migrated_engine(database_url: str) -> Iterator[Engine]:
    """On the test's migrated database."""
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def _unbind(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "starter.cli", *args], env or {})


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "UNBIND_"))}
    return subprocess.run(
        argv,
        cwd=ROOT,
        env={**inherited, "TEMPORAL_ADDRESS": NOWHERE, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _differences_from_the_models(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        found = compare_metadata(MigrationContext.configure(conn), metadata)
    return [describe(difference) for difference in found]


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _build_the_old_way(engine: Engine) -> None:
    """The schema exactly as main's code created it at run time (frozen DDL)."""
    lines = (HERE / f"main_schema_{engine.dialect.name}.sql").read_text().splitlines()
    ddl = "\n".join(line for line in lines if not line.startswith("--"))
    with engine.begin() as conn:
        for statement in filter(str.strip, ddl.split(";")):
            conn.exec_driver_sql(statement)


# ---- from an empty database -------------------------------------------------------


def test_upgrade_builds_the_models_schema_from_an_empty_database(
    empty_database_url: str, engine: Engine
) -> None:
    before = _unbind("db", "current", "--database-url", empty_database_url, "--json")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["revision"] is None

    done = _unbind("db", "upgrade", "--database-url", empty_database_url, "--json")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["before"], result["after"], result["adopted"]) == (None, head_revision(), False)
    assert _revision(engine) == head_revision()
    assert _differences_from_the_models(engine) == []
    after = _unbind("db", "current", "--database-url", empty_database_url, "--json")
    assert json.loads(after.stdout)["at_head"] is True
    with SqlPartnerCenter(empty_database_url) as center:
        center.add_partner(RESELLER, kind=PartnerKind.RESELLER)
        assert center.count("partners") == 1


def test_upgrade_again_changes_nothing_and_keeps_rows(database_url: str) -> None:
    with SqlPartnerCenter(database_url) as center:
        center.add_partner(RESELLER, kind=PartnerKind.RESELLER)

    again = upgrade(database_url)

    assert (again.before, again.after, again.adopted) == (head_revision(), head_revision(), False)
    with SqlPartnerCenter(database_url) as center:
        assert center.count("partners") == 1


def test_every_revision_downgrades_to_nothing_and_upgrades_again(
    database_url: str, migrated_engine: Engine
) -> None:
    engine = migrated_engine
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert _tables(engine) <= {"alembic_version"}
    assert _revision(engine) is None

    upgrade(database_url)
    assert _differences_from_the_models(engine) == []


def test_the_revisions_form_one_line_from_the_baseline_named_by_number() -> None:
    """One head (two helpers' revisions on one parent must be put in line),
    files named ``NNNN_what.py`` after their revision (docs/OPERATIONS.md)."""
    revisions = list(scripts().walk_revisions())
    assert revisions[-1].revision == BASELINE
    assert scripts().get_heads() == [head_revision()]
    for revision in revisions:
        assert revision.revision.isdigit() and len(revision.revision) == 4, revision.revision
        assert Path(revision.path).name.startswith(f"{revision.revision}_"), revision.path


# ---- from the schema the code before migrations created -----------------------------


def test_a_database_built_by_the_code_before_migrations_is_adopted_with_its_rows(
    empty_database_url: str, engine: Engine
) -> None:
    _build_the_old_way(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO accounts (uin, frozen, credit_cents, overdue_privilege, group_role,"
                " card_bound, created_at) VALUES (:uin, false, 0, 'none', 'none', false,"
                " '2026-11-01 00:00:00+00:00')"
            ),
            {"uin": RESELLER},
        )
        conn.execute(
            text("INSERT INTO partners (uin, kind) VALUES (:uin, 'reseller')"), {"uin": RESELLER}
        )
    with pytest.raises(SchemaNotCurrent, match=UPGRADE_HINT):
        SqlPartnerCenter(empty_database_url)

    done = _unbind("db", "upgrade", "--database-url", empty_database_url)

    assert done.returncode == 0, done.stderr
    assert "made before migrations" in done.stdout
    assert _revision(engine) == head_revision()
    assert _differences_from_the_models(engine) == []
    with SqlPartnerCenter(empty_database_url) as center:
        assert center.count("partners") == 1
        assert center.show(RESELLER)["partner_profile"]["kind"] == "reseller"


def test_an_unversioned_database_unlike_the_baseline_is_refused_untouched(
    empty_database_url: str, engine: Engine
) -> None:
    _build_the_old_way(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE inbox ADD COLUMN hand_made VARCHAR(10)")
    before = _tables(engine)

    done = _unbind("db", "upgrade", "--database-url", empty_database_url)

    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert "differ from the baseline" in done.stderr
    assert "inbox.hand_made" in done.stderr
    assert _tables(engine) == before  # nothing stamped, nothing created
    assert _revision(engine) is None


# ---- nothing serves a database that is not at the head ---------------------------------


def _one_line_refusal(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert UPGRADE_HINT in lines[0]
    return lines[0]


def test_the_worker_the_api_and_the_cli_refuse_an_unmigrated_database(
    empty_database_url: str, engine: Engine
) -> None:
    _build_the_old_way(engine)
    env = {"UNBIND_DATABASE_URL": empty_database_url}

    worker = _run([sys.executable, "worker.py"], env)
    api = _run([sys.executable, "-m", "starter.api"], {**env, "UNBIND_API_DEV_TOKENS": "1"})
    ledger = _unbind("ledger", "show", CUSTOMER, env=env)

    for refused in (worker, api, ledger):
        assert "no schema revision" in _one_line_refusal(refused)
    assert _revision(engine) is None


def test_the_worker_refuses_a_database_behind_the_head(
    database_url: str, migrated_engine: Engine
) -> None:
    engine = migrated_engine
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))

    done = _run([sys.executable, "worker.py"], {"UNBIND_DATABASE_URL": database_url})

    assert "revision older" in _one_line_refusal(done)


def test_a_missing_sqlite_file_is_refused_not_created(tmp_path: Path) -> None:
    """SQLite on purpose: only a file can be missing."""
    database = tmp_path / "unbind.db"
    done = _run([sys.executable, "worker.py"], {"UNBIND_DATABASE_URL": f"sqlite:///{database}"})

    current = _unbind("db", "current", "--database-url", f"sqlite:///{database}", "--json")

    assert "does not exist" in _one_line_refusal(done)
    assert current.returncode == 0, current.stderr
    assert json.loads(current.stdout)["revision"] is None
    assert not database.exists()


# ---- shipped inside the package ----------------------------------------------------------


def test_an_installed_package_finds_its_migrations(tmp_path: Path) -> None:
    """The files an install puts in site-packages (setuptools' build_py, which
    reads pyproject.toml's package list and package data), run from elsewhere
    with nothing else on the path, so the checkout cannot be what answers."""
    target = tmp_path / "site"
    build = subprocess.run(
        [
            sys.executable,
            "-c",
            "from setuptools import setup; setup()",
            "-q",
            "build_py",
            "--build-lib",
            str(target),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    database = tmp_path / "installed.db"
    probe = (
        "import activities\n"
        "from activities.sql.migrations.upgrade import upgrade\n"
        f"done = upgrade('sqlite:///{database}')\n"
        "print(activities.__file__, done.after)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    where, revision = ran.stdout.split()
    assert Path(where).is_relative_to(target)
    assert revision == head_revision()


# ---- two deploy jobs at once --------------------------------------------------------------


def test_two_upgrades_at_once_migrate_once_and_both_succeed(
    empty_database_url: str, engine: Engine
) -> None:
    """PostgreSQL serialises them with an advisory lock, SQLite with BEGIN IMMEDIATE."""
    start = threading.Barrier(2)

    def upgrade_when_both_are_ready() -> Upgraded:
        start.wait()
        return upgrade(empty_database_url)

    pool = ThreadPoolExecutor(2)
    try:
        # Unserialised, two upgraders block each other on PostgreSQL: fail, do not hang.
        runs = [pool.submit(upgrade_when_both_are_ready) for _ in range(2)]
        results = [run.result(timeout=UPGRADE_WITHIN) for run in runs]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)

    assert sorted(str(result.before) for result in results) == sorted(["None", head_revision()])
    assert {result.after for result in results} == {head_revision()}
    assert _differences_from_the_models(engine) == []
