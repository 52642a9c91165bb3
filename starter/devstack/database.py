"""The partner-center database of a local stack (the demo, the benchmark, the
fault suite, the tests): prepared by the migrations, exactly as an operator's
``unbind db upgrade`` prepares a real one, never by creating tables directly."""

from __future__ import annotations

from activities.sql.migrations.upgrade import upgrade


def migrated(url: str) -> str:
    """``url``, its database brought to the migrations' head (created if empty)."""
    upgrade(url)
    return url
