"""Configuration mistakes (issue 9): a malformed ``UNBIND_DATABASE_URL``, an
unknown ``TEMPORAL_PROFILE`` or an unreadable ``TEMPORAL_CONFIG_FILE``.

Each exits 2 with one clear message naming the variable and what to do, for
the CLI and for ``python worker.py`` alike: no traceback, nothing started,
no database file or directory written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOWHERE = "127.0.0.1:1"
CUSTOMER, RESELLER = "20000000001", "10000000002"

# (UNBIND_DATABASE_URL, what the message must say besides the variable's name)
BAD_DATABASE_URLS = {
    "not a URL": ("not a url", "is not a SQLAlchemy URL"),
    "postgres:// scheme": ("postgres://u:secret@db.internal/unbind", "postgresql+psycopg://"),
    "unknown driver": ("postgresql+nosuchdriver://u@h/db", "postgresql+psycopg://"),
    "driver not installed": ("postgresql+pg8000://u@h/db", "postgresql+psycopg://"),
    "unsupported database": ("mysql://u@h/db", "sqlite:///"),
}

DATABASE_COMMANDS = {
    "inbox": ["inbox", "--account", RESELLER],
    "ledger show": ["ledger", "show", CUSTOMER],
    "ledger seed-demo": ["ledger", "seed-demo"],
    "close-terminated": ["close-terminated", "--customer", CUSTOMER, "--as", "operator:alice"],
}
TEMPORAL_COMMANDS = {
    "status": ["status", "--customer", CUSTOMER],
    "confirm": ["confirm", "--customer", CUSTOMER, "--as", CUSTOMER],
    "apply": ["apply", "--customer", CUSTOMER, "--initiator", RESELLER, "--acknowledge-notice"],
    "close-terminated": ["close-terminated", "--customer", CUSTOMER, "--as", "operator:alice"],
}


def _run(
    args: list[str], env: dict[str, str], *, worker: bool = False
) -> subprocess.CompletedProcess[str]:
    """``unbind <args>`` (or ``python worker.py``) with ``env`` over this
    process's environment minus its own TEMPORAL_* settings."""
    command = [sys.executable, "worker.py"] if worker else [sys.executable, "-m", "starter.cli"]
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    return subprocess.run(
        [*command, *args],
        cwd=ROOT,
        env={**inherited, "TEMPORAL_ADDRESS": NOWHERE, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _assert_configuration_error(
    done: subprocess.CompletedProcess[str], variable: str, *needles: str
) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    message = done.stderr
    assert variable in message, message
    for needle in needles:
        assert needle in message, (needle, message)
    return message


# ---- UNBIND_DATABASE_URL ---------------------------------------------------------


@pytest.mark.parametrize(("url", "hint"), BAD_DATABASE_URLS.values(), ids=BAD_DATABASE_URLS.keys())
@pytest.mark.parametrize("command", DATABASE_COMMANDS.values(), ids=DATABASE_COMMANDS.keys())
def test_a_malformed_database_url_exits_2_naming_the_variable(
    url: str, hint: str, command: list[str], tmp_path: Path
) -> None:
    done = _run(command, {"UNBIND_DATABASE_URL": url})

    message = _assert_configuration_error(done, "UNBIND_DATABASE_URL", hint)
    assert "secret" not in message
    assert done.stdout == ""


@pytest.mark.parametrize("command", DATABASE_COMMANDS.values(), ids=DATABASE_COMMANDS.keys())
def test_a_sqlite_file_in_a_missing_directory_exits_2_and_creates_nothing(
    command: list[str], tmp_path: Path
) -> None:
    missing = tmp_path / "no" / "such" / "dir"

    done = _run(command, {"UNBIND_DATABASE_URL": f"sqlite:///{missing / 'unbind.db'}"})

    _assert_configuration_error(done, "UNBIND_DATABASE_URL", str(missing), "does not exist")
    assert not (tmp_path / "no").exists()


def test_the_json_error_names_the_variable_as_its_field() -> None:
    done = _run([*DATABASE_COMMANDS["inbox"], "--json"], {"UNBIND_DATABASE_URL": "postgres://h/db"})

    assert done.returncode == 2, done.stderr
    error = json.loads(done.stdout)
    assert error["field"] == "UNBIND_DATABASE_URL"
    assert "postgresql+psycopg://" in error["error"]


# ---- TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE ---------------------------------------


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "temporal.toml"
    path.write_text('[profile.default]\naddress = "127.0.0.1:1"\n')
    return path


@pytest.mark.parametrize("command", TEMPORAL_COMMANDS.values(), ids=TEMPORAL_COMMANDS.keys())
def test_an_unknown_profile_exits_2_naming_the_profile_and_the_file(
    command: list[str], config_file: Path, tmp_path: Path
) -> None:
    database = tmp_path / "never.db"
    env = {
        "TEMPORAL_PROFILE": "staging",
        "TEMPORAL_CONFIG_FILE": str(config_file),
        "UNBIND_DATABASE_URL": f"sqlite:///{database}",
    }
    done = _run(command, env)

    _assert_configuration_error(done, "TEMPORAL_PROFILE", "'staging'", str(config_file))
    assert not database.exists()


# (file name under tmp_path, its text; None: not written, "": a directory)
CONFIG_FILE_PROBLEMS = {
    "missing": ("absent.toml", None),
    "a directory": ("folder.toml", ""),
    "not TOML": ("broken.toml", "not toml [[["),
}


@pytest.mark.parametrize(
    ("name", "text"), CONFIG_FILE_PROBLEMS.values(), ids=CONFIG_FILE_PROBLEMS.keys()
)
def test_an_unreadable_config_file_exits_2_naming_it(name: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / name
    if text:
        path.write_text(text)
    elif text == "":
        path.mkdir()
    done = _run(TEMPORAL_COMMANDS["status"], {"TEMPORAL_CONFIG_FILE": str(path)})

    _assert_configuration_error(done, "TEMPORAL_CONFIG_FILE", str(path))


def test_a_profile_of_a_missing_config_file_exits_2_naming_both(tmp_path: Path) -> None:
    absent = tmp_path / "absent.toml"

    done = _run(
        TEMPORAL_COMMANDS["status"],
        {"TEMPORAL_PROFILE": "staging", "TEMPORAL_CONFIG_FILE": str(absent)},
    )

    _assert_configuration_error(done, "TEMPORAL_CONFIG_FILE", "'staging'", str(absent))


def test_an_empty_config_file_is_no_profile_at_all() -> None:
    # How the dev stack isolates its processes from the developer's own file.
    done = _run(TEMPORAL_COMMANDS["status"], {"TEMPORAL_CONFIG_FILE": os.devnull})

    assert done.returncode == 3, done.stderr
    assert NOWHERE in done.stderr


# ---- python worker.py ------------------------------------------------------------------


def test_the_worker_exits_2_on_a_malformed_database_url(tmp_path: Path) -> None:
    done = _run([], {"UNBIND_DATABASE_URL": "postgres://u@h/db"}, worker=True)

    _assert_configuration_error(done, "UNBIND_DATABASE_URL", "postgresql+psycopg://")


def test_the_worker_exits_2_on_a_sqlite_file_in_a_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "dir"

    done = _run([], {"UNBIND_DATABASE_URL": f"sqlite:///{missing / 'unbind.db'}"}, worker=True)

    _assert_configuration_error(done, "UNBIND_DATABASE_URL", str(missing))
    assert not missing.exists()


def test_the_worker_exits_2_on_an_unknown_profile(config_file: Path, tmp_path: Path) -> None:
    env = {
        "TEMPORAL_PROFILE": "staging",
        "TEMPORAL_CONFIG_FILE": str(config_file),
        "UNBIND_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}",
    }
    done = _run([], env, worker=True)

    _assert_configuration_error(done, "TEMPORAL_PROFILE", "'staging'", str(config_file))
    assert not (tmp_path / "never.db").exists()


# ---- UNBIND_PAYLOAD_KEYS ---------------------------------------------------------------


@pytest.mark.parametrize("worker", [False, True], ids=["unbind confirm", "worker.py"])
def test_malformed_payload_keys_exit_2_naming_the_rule(worker: bool, tmp_path: Path) -> None:
    database = tmp_path / "never.db"
    env = {"UNBIND_PAYLOAD_KEYS": "k1:c2hvcnQ=", "UNBIND_DATABASE_URL": f"sqlite:///{database}"}
    args = [] if worker else ["confirm", "--customer", CUSTOMER, "--as", CUSTOMER]

    done = _run(args, env, worker=worker)

    _assert_configuration_error(done, "UNBIND_PAYLOAD_KEYS", "key 'k1' has 5 bytes")
    assert not database.exists()


def test_the_api_exits_2_on_malformed_payload_keys() -> None:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "UNBIND_"))}
    done = subprocess.run(
        [sys.executable, "-m", "starter.api"],
        cwd=ROOT,
        env={**inherited, "UNBIND_PAYLOAD_KEYS": "k1:c2hvcnQ=", "UNBIND_API_DEV_TOKENS": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    _assert_configuration_error(done, "UNBIND_PAYLOAD_KEYS", "key 'k1' has 5 bytes")
