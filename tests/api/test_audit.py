"""Every refused attempt through the API is audited: who (the token's subject,
or nobody), what (method, path, action, customer), why (status and reason),
when. Operators read it at ``GET /audit``; ``unbind audit --json`` lists the
same rows from the database."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from starter.devstack.process import ROOT
from tests.api.conftest import (
    Stack,
    World,
    act,
    assert_problem,
    bearer,
    listed_items,
    submitted,
)
from tests.conftest import eventually

pytestmark = pytest.mark.integration

AUDIT_FIELDS = {
    "at",
    "principal",
    "method",
    "path",
    "action",
    "customer_uin",
    "status_code",
    "reason",
}


async def refuse_one_of_each(
    http: httpx.AsyncClient, stack: Stack, world: World
) -> dict[str, tuple[int, str | None, str]]:
    """One refused attempt of each kind; by kind: (status, principal, action)."""
    path = f"/applications/{world.customer}"
    bad_token = await http.post(
        f"{path}/confirm",
        json={},
        headers={**bearer(stack.tokens.forged(world.customer)), "Idempotency-Key": "forged-1"},
    )
    assert_problem(bad_token, 401)
    no_token = await http.post(f"{path}/confirm", json={}, headers={"Idempotency-Key": "none-1"})
    assert_problem(no_token, 401)
    wrong_party = await act(http, world, "sub_user_of_initiator", "withdraw")
    assert_problem(wrong_party, 403)
    not_a_party = await act(http, world, "other_reseller", "withdraw")
    assert_problem(not_a_party, 404)
    wrong_state = await act(http, world, "customer", "confirm")
    assert_problem(wrong_state, 409)
    bad_input = await act(http, world, "distributor", "review", {"approve": "maybe"})
    assert_problem(bad_input, 422)
    return {
        "bad token": (401, None, "confirm"),
        "no token": (401, None, "confirm"),
        "wrong party": (403, world.uins["sub_user_of_initiator"], "withdraw"),
        "not a party": (404, world.uins["other_reseller"], "withdraw"),
        "wrong state": (409, world.customer, "confirm"),
        "bad input": (422, world.distributor, "review"),
    }


def ours(rows: list[dict[str, Any]], world: World) -> list[dict[str, Any]]:
    return [
        r for r in rows if world.customer in (r.get("customer_uin"), *str(r.get("path")).split("/"))
    ]


def check_rows(
    rows: list[dict[str, Any]], expected: dict[str, tuple[int, str | None, str]], since: datetime
) -> None:
    for row in rows:
        assert set(row) >= AUDIT_FIELDS, sorted(row)
        assert row["reason"], row
        at = datetime.fromisoformat(row["at"])
        assert since - timedelta(seconds=5) <= at <= datetime.now(UTC) + timedelta(seconds=5), row
        assert row["method"] == "POST", row
        # What was tried: the path always names it; the action column too where
        # the API got that far (a refused token or body may leave it empty).
        if row["action"]:
            assert row["path"].endswith(f"/{row['action']}"), row
    seen = sorted(
        (r["status_code"], r["principal"], r["action"] or r["path"].rsplit("/", 1)[-1])
        for r in rows
    )
    assert seen == sorted(expected.values()), rows


async def test_refused_attempts_are_audited(
    http: httpx.AsyncClient, stack: Stack, world: World
) -> None:
    since = datetime.now(UTC)
    await submitted(http, world)
    expected = await refuse_one_of_each(http, stack, world)

    async def audit() -> list[dict[str, Any]]:
        response = await http.get(
            "/audit",
            params={"since": (since - timedelta(seconds=1)).isoformat(), "limit": 1000},
            headers=world.as_("operator"),
        )
        assert response.status_code == 200, response.text
        return ours(listed_items(response.json()), world)

    rows = await eventually(audit, lambda rows: len(rows) >= len(expected))
    check_rows(rows, expected, since)
    # The accepted submission is no refusal.
    assert all(r["status_code"] >= 400 for r in rows)

    # Reading the audit as someone else is itself refused (403) and audited.
    for role in ("customer", "initiator", "distributor"):
        assert_problem(await http.get("/audit", headers=world.as_(role)), 403)

    # The CLI lists the same rows from the database.
    since_text = (since - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    code, out, err = await unbind_audit(stack, "--since", since_text)
    assert code == 0, err
    check_rows(ours(listed_items(json.loads(out)), world), expected, since)


async def unbind_audit(stack: Stack, *args: str) -> tuple[int | None, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "starter.cli",
        "audit",
        *args,
        "--json",
        cwd=ROOT,
        env=dict(stack.env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


async def test_the_cli_takes_the_times_the_audit_shows(
    http: httpx.AsyncClient, stack: Stack, world: World
) -> None:
    """``--since`` accepts an ``at`` the audit printed (ISO-8601, UTC, with
    fractions and an offset), as ``GET /audit?since=`` does."""
    refused = await act(http, world, "customer", "confirm")
    assert_problem(refused, 404)
    response = await http.get("/audit", params={"limit": 1}, headers=world.as_("operator"))
    [latest] = listed_items(response.json())
    code, out, err = await unbind_audit(stack, "--since", latest["at"])
    assert code == 0, out + err
    assert latest in listed_items(json.loads(out))
