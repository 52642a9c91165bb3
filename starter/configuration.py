"""The environment every process is configured by, checked before use.

A mistake here (a database URL SQLAlchemy cannot use, a Temporal profile that
is not in the config file, a config file that cannot be read) is the
operator's to fix, not a fault to retry: it is a :class:`BadConfiguration`
(exit 2) naming the variable and what to do, raised before anything is
started, connected to or written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from temporalio.envconfig import ClientConfig

from activities.partner_center import Quota, Quotas
from activities.sql import DEFAULT_DATABASE_URL
from starter.errors import BadConfiguration

DATABASE_URL_VARIABLE = "UNBIND_DATABASE_URL"

SUPPORTED_DATABASES = frozenset({"sqlite", "postgresql"})
_DATABASE_FORMS = "sqlite:///PATH/unbind.db or postgresql+psycopg://USER:PASSWORD@HOST:5432/DB"


def database_url() -> str:
    """``UNBIND_DATABASE_URL`` (default: the embedded SQLite file), checked:
    a URL SQLAlchemy can parse, a supported database, a driver that is
    installed and, for a SQLite file, an existing directory."""
    given = os.environ.get(DATABASE_URL_VARIABLE)
    if not given:
        return DEFAULT_DATABASE_URL  # file and directory (var/) made by `unbind db upgrade`
    return checked_database_url(given)


def checked_database_url(given: str, *, source: str = DATABASE_URL_VARIABLE) -> str:
    """``given`` checked as :func:`database_url` checks the variable; a mistake
    names ``source`` (the variable, or a command-line option)."""
    url = _parsed(given, source)
    shown = url.render_as_string(hide_password=True)
    backend = url.get_backend_name()
    if backend == "postgres":
        raise BadConfiguration(
            source,
            "postgres:// is not a SQLAlchemy URL (SQLAlchemy 2 has no 'postgres' dialect); "
            f"use postgresql+psycopg://… instead ({shown})",
        )
    try:
        dialect = url.get_dialect()
    except ArgumentError:  # NoSuchModuleError: an unknown dialect or driver
        raise BadConfiguration(
            source,
            f"unknown database or driver {url.drivername!r} in {shown}; use {_DATABASE_FORMS}",
        ) from None
    if backend not in SUPPORTED_DATABASES:
        raise BadConfiguration(
            source,
            f"{backend} is not supported by the partner center ({shown}); use {_DATABASE_FORMS}",
        )
    try:
        dialect.import_dbapi()
    except ImportError as error:
        raise BadConfiguration(
            source,
            f"the driver of {url.drivername}:// is not installed ({error}); use "
            f"postgresql+psycopg://… (pip install -e '.[postgres]') or sqlite:///PATH",
        ) from None
    _require_sqlite_directory(url, source)
    return given


def _parsed(given: str, source: str) -> URL:
    try:
        return make_url(given)
    except (ArgumentError, ValueError):
        # The value is not echoed: an unparsable URL may still hold a password.
        raise BadConfiguration(
            source, f"the value is not a SQLAlchemy URL; use {_DATABASE_FORMS}"
        ) from None


def _require_sqlite_directory(url: URL, source: str) -> None:
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return
    directory = Path(database).parent
    if not directory.is_dir():
        raise BadConfiguration(
            source,
            f"the directory {directory} of the SQLite file does not exist; "
            "create it, or fix the path",
        )


# ---- Temporal ------------------------------------------------------------------


def temporal_connect_config() -> dict[str, Any]:
    """Keyword arguments for ``Client.connect`` from ``temporalio.envconfig``
    (``TEMPORAL_*`` variables, ``TEMPORAL_PROFILE`` of ``TEMPORAL_CONFIG_FILE``)."""
    given_file = os.environ.get("TEMPORAL_CONFIG_FILE")
    config_file = Path(given_file) if given_file else _default_config_file()
    # The SDK reads a named file that does not exist as no file at all, which
    # hides a typo in the path; an empty file (os.devnull) is the way to say so.
    if given_file:
        _require_readable(config_file)
    try:
        config = dict(ClientConfig.load_client_connect_config())
    except Exception as error:  # the SDK's core reports a bad file or profile as one type
        raise _bad_temporal_config(error, config_file, given_file is not None) from None
    config.setdefault("target_host", "localhost:7233")
    return config


def _default_config_file() -> Path:
    home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(home) / "temporalio" / "temporal.toml"


def _require_readable(path: Path) -> None:
    try:
        path.read_bytes()
    except OSError as error:
        profile = os.environ.get("TEMPORAL_PROFILE")
        wanted = f" (for TEMPORAL_PROFILE {profile!r})" if profile else ""
        raise BadConfiguration(
            "TEMPORAL_CONFIG_FILE",
            f"cannot read {path}{wanted}: {error.strerror or error}; point it at a Temporal "
            f"config file (TOML), or at {os.devnull} for none",
        ) from None


def _bad_temporal_config(error: Exception, config_file: Path, given: bool) -> BadConfiguration:
    reason = (str(error).splitlines() or [type(error).__name__])[0]
    profile = os.environ.get("TEMPORAL_PROFILE")
    if profile and reason.startswith("Profile"):
        return BadConfiguration(
            "TEMPORAL_PROFILE",
            f"profile {profile!r} is not in {config_file}; use a profile of that file "
            "(temporal config list) or unset TEMPORAL_PROFILE",
        )
    if given or config_file.exists():
        return BadConfiguration(
            "TEMPORAL_CONFIG_FILE",
            f"cannot use {config_file}: {reason}; fix the file or point the variable elsewhere",
        )
    return BadConfiguration(None, f"the Temporal client configuration: {reason}")


QUOTA_VARIABLES = {
    "per_customer": "UNBIND_QUOTA_PER_CUSTOMER",
    "per_pair": "UNBIND_QUOTA_PER_PAIR",
}
"""Each ``LIMIT/MONTHS`` (default ``3/3``: 3 applications in 3 months); ``0/1`` is off."""


def quotas_from_env() -> Quotas:
    """The submission quotas (``UNBIND_QUOTA_PER_CUSTOMER``,
    ``UNBIND_QUOTA_PER_PAIR``), each checked: a :class:`BadConfiguration`
    naming the variable otherwise."""
    return Quotas(
        **{
            name: _quota(variable, os.environ.get(variable))
            for name, variable in QUOTA_VARIABLES.items()
        }
    )


def _quota(variable: str, given: str | None) -> Quota:
    if not given:
        return Quota()
    limit, slash, months = given.strip().partition("/")
    try:
        if not (slash and limit.isascii() and months.isascii()):
            raise ValueError
        return Quota(limit=int(limit), months=int(months))
    except ValueError:
        raise BadConfiguration(
            variable,
            f"{given!r} is not LIMIT/MONTHS (e.g. 3/3: at most 3 applications in any "
            "3 months; a limit of 0 switches the quota off; months 1-120)",
        ) from None
