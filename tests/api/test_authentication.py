"""Every endpoint refuses a caller it cannot trust: no token, a malformed
header, an expired token, one signed with another key, one with no
signature, the wrong issuer or the wrong audience. Each is a 401
problem+json and changes nothing; a good token for the same account passes.

Development tokens (``unbind token``) are trusted only by an API started with
``UNBIND_API_DEV_TOKENS=1`` and no key of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import (
    Stack,
    World,
    act,
    assert_problem,
    bearer,
    start_api,
    state_of,
    submitted,
)
from tests.cli import run_unbind
from workflows.model import ActionKind, UnbindStatus

pytestmark = pytest.mark.integration


def endpoints(customer: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, json body) for every endpoint of the contract but /healthz."""
    routes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/applications", {"customer_uin": customer, "acknowledge_notice": True}),
        ("GET", "/applications", None),
        ("GET", f"/applications/{customer}", None),
        ("GET", "/me/messages", None),
        ("GET", "/me/worklist", None),
        ("GET", "/audit", None),
    ]
    bodies = {ActionKind.REVIEW: {"approve": True}}
    routes += [
        ("POST", f"/applications/{customer}/{kind.value}", bodies.get(kind, {}))
        for kind in ActionKind
    ]
    return routes


def bad_credentials(stack: Stack, uin: str) -> dict[str, dict[str, str]]:
    t = stack.tokens
    return {
        "no token": {},
        "bearer without a token": {"Authorization": "Bearer"},
        "not a JWT": {"Authorization": "Bearer not-a-token"},
        "basic auth": {"Authorization": "Basic dXNlcjpwYXNz"},
        "expired": bearer(t.expired(uin)),
        "forged (another key)": bearer(t.forged(uin)),
        "unsigned (alg none)": bearer(t.unsigned(uin)),
        "wrong issuer": bearer(t.wrong_issuer(uin)),
        "wrong audience": bearer(t.wrong_audience(uin)),
    }


async def test_every_endpoint_refuses_every_untrusted_caller(
    http: httpx.AsyncClient, stack: Stack, world: World
) -> None:
    await submitted(http, world)
    before = await state_of(http, world)
    for name, credentials in bad_credentials(stack, world.customer).items():
        for method, path, body in endpoints(world.customer):
            headers = {**credentials, "Idempotency-Key": f"key-{name.split()[0]}-1"}
            response = await http.request(method, path, json=body, headers=headers)
            assert_problem(response, 401)
    after = await state_of(http, world)
    assert after["status"] == before["status"] == UnbindStatus.PENDING_DISTRIBUTOR_REVIEW.value
    assert after["timeline"] == before["timeline"]


async def test_a_token_without_a_usable_subject_is_refused(
    http: httpx.AsyncClient, stack: Stack, world: World
) -> None:
    t = stack.tokens
    claims_without_sub = t.claims(world.customer)
    del claims_without_sub["sub"]
    claims_without_exp = t.claims(world.customer)
    del claims_without_exp["exp"]
    for name, claims in {
        "no sub": claims_without_sub,
        "sub not a UIN": t.claims("not-a-uin"),
        "owner not a UIN": t.claims(world.customer, owner="0123"),
        "no exp": claims_without_exp,
    }.items():
        token = t._sign(claims)
        response = await http.get("/me/messages", headers=bearer(token))
        assert response.status_code in (401, 422), (name, response.text)
        assert_problem(response, response.status_code)


async def test_a_good_token_for_the_same_account_passes(
    http: httpx.AsyncClient, world: World
) -> None:
    await submitted(http, world)
    response = await act(http, world, "distributor", "review", {"approve": True})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == UnbindStatus.PENDING_CUSTOMER_CONFIRMATION.value


async def test_health_needs_no_token(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).status_code == 200


async def unbind_token(env: dict[str, str], *args: str) -> str:
    issued = await run_unbind(env, "token", *args)
    assert issued.code == 0, issued.stderr
    token: str = issued.data["token"]
    return token


async def test_development_tokens_only_where_switched_on(
    stack: Stack, world: World, tmp_path: Path
) -> None:
    dev_env = {
        k: v
        for k, v in stack.env.items()
        if k not in ("UNBIND_API_PUBLIC_KEY", "UNBIND_API_ISSUER", "UNBIND_API_AUDIENCE")
    }
    dev_env["UNBIND_DEV_KEY_DIR"] = str(tmp_path / "dev-keys")
    operator_token = await unbind_token(dev_env, "--operator", "alice")
    customer_token = await unbind_token(dev_env, "--account", world.customer)

    # The API under test has a key of its own: development tokens are forged to it.
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as client:
        for token in (operator_token, customer_token):
            assert_problem(await client.get("/me/messages", headers=bearer(token)), 401)

    # Without its own key and with the switch on, it trusts them (and only them).
    dev_api = start_api(
        env={**dev_env, "UNBIND_API_DEV_TOKENS": "1"}, log_path=tmp_path / "dev-api.log"
    )
    try:
        await dev_api.wait_until_healthy()
        async with httpx.AsyncClient(base_url=dev_api.base_url, timeout=30) as client:
            assert (await client.get("/audit", headers=bearer(operator_token))).status_code == 200
            assert (
                await client.get("/me/messages", headers=bearer(customer_token))
            ).status_code == 200
            ours = stack.tokens.account(world.customer)
            assert_problem(await client.get("/me/messages", headers=bearer(ours)), 401)
        assert "warn" in dev_api.child.log_path.read_text().lower(), "no loud start-up warning"
    finally:
        dev_api.child.stop()

    # The switch alone does not do it when a key is configured.
    mixed = start_api(
        env={
            **stack.env,
            "UNBIND_API_DEV_TOKENS": "1",
            "UNBIND_DEV_KEY_DIR": str(tmp_path / "dev-keys"),
        },
        log_path=tmp_path / "mixed-api.log",
    )
    try:
        await mixed.wait_until_healthy()
        async with httpx.AsyncClient(base_url=mixed.base_url, timeout=30) as client:
            assert_problem(await client.get("/audit", headers=bearer(operator_token)), 401)
    finally:
        mixed.child.stop()
