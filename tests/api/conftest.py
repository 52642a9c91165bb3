"""The HTTP API on a live stack: the Temporal dev server, ``python worker.py``
and ``python -m starter.api`` as real processes, one SQLite partner center
they share with the test, and bearer tokens minted here with keys of our own.

The stack is started once per session; every test builds its parties with
fresh UINs (``world``), so tests never see each other's applications. The
worker runs in a process of its own, so a test may block (schemathesis does)
without stalling the workflows it talks to.

What is expected is written from the agreed contract (/work/api-spec/API.md,
mirrored in ``CONTRACT`` below) and SPEC section 4 via
``tests.workflows.spec_oracle``, never from the API's code.
"""

from __future__ import annotations

import base64
import secrets
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from starter.devstack.database import migrated
from starter.devstack.environment import isolated_environment
from starter.devstack.ports import HOST, free_port
from starter.devstack.process import ChildProcess, StackFailed
from starter.devstack.worker_process import WorkerProcess
from tests.conftest import eventually, fresh_uin
from tests.workflows.spec_oracle import ROLES, Role
from workflows.model import PartnerKind

API_START_TIMEOUT = 60.0
"""Seconds for the API process to answer ``/healthz``."""
ISSUER = "unbind-api-tests"
AUDIENCE = "unbind-api-under-test"
OPERATOR_NAME = "alice"
PROBLEM_JSON = "application/problem+json"


# ---- tokens ---------------------------------------------------------------------


def _ed25519() -> tuple[Ed25519PrivateKey, bytes]:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, public


@dataclass(frozen=True)
class Tokens:
    """Mints bearer tokens the API under test trusts (``valid``) and every
    kind it must refuse."""

    key: Ed25519PrivateKey
    public_pem: bytes
    other_key: Ed25519PrivateKey = field(default_factory=lambda: _ed25519()[0])

    def _sign(self, claims: Mapping[str, Any], *, key: Ed25519PrivateKey | None = None) -> str:
        return jwt.encode(dict(claims), key or self.key, algorithm="EdDSA")

    def claims(self, sub: str, **extra: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=30)).timestamp()),
            **extra,
        }

    def account(self, uin: str, *, owner: str | None = None) -> str:
        extra = {"owner": owner} if owner else {}
        return self._sign(self.claims(uin, **extra))

    def operator(self, name: str = OPERATOR_NAME) -> str:
        return self._sign(self.claims(f"ops-{name}", operator=name))

    # -- what must be refused -------------------------------------------------
    def expired(self, uin: str) -> str:
        past = datetime.now(UTC) - timedelta(hours=2)
        return self._sign(
            self.claims(
                uin,
                iat=int(past.timestamp()),
                exp=int((past + timedelta(minutes=30)).timestamp()),
            )
        )

    def forged(self, uin: str) -> str:
        """Well-formed, right issuer and audience, signed with another key."""
        return self._sign(self.claims(uin), key=self.other_key)

    def wrong_issuer(self, uin: str) -> str:
        return self._sign(self.claims(uin, iss="someone-else"))

    def wrong_audience(self, uin: str) -> str:
        return self._sign(self.claims(uin, aud="another-api"))

    def unsigned(self, uin: str) -> str:
        """``alg: none``: no signature at all."""
        return jwt.encode(self.claims(uin), key=None, algorithm="none")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- the stack ------------------------------------------------------------------


@dataclass
class ApiProcess:
    """``python -m starter.api`` on a free port, in an isolated environment."""

    child: ChildProcess
    base_url: str

    async def wait_until_healthy(self, *, within: float = API_START_TIMEOUT) -> None:
        """Probe ``/healthz`` (with ``tests.conftest.eventually``) until it
        answers 200; fail at once if the process died."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as client:

            async def health() -> int | None:
                if not self.child.running:
                    raise self.child.died()
                try:
                    return (await client.get("/healthz")).status_code
                except httpx.TransportError:
                    return None

            if await eventually(health, lambda status: status == 200, within=within) == 200:
                return
        self.child.stop()
        raise StackFailed(
            f"the API did not answer /healthz within {within:g}s; its log:\n{self.child.tail()}"
        )


def start_api(*, env: Mapping[str, str], log_path: Path, name: str = "api") -> ApiProcess:
    port = free_port()
    child = ChildProcess(
        name,
        [sys.executable, "-m", "starter.api"],
        log_path=log_path,
        env={**env, "UNBIND_API_ADDRESS": f"{HOST}:{port}"},
    )
    child.start()
    return ApiProcess(child=child, base_url=f"http://{HOST}:{port}")


@dataclass(frozen=True)
class Stack:
    """One live stack: where the API listens, and what the test may use."""

    base_url: str
    partner_center: SqlPartnerCenter
    tokens: Tokens
    database_url: str
    temporal_address: str
    task_queue: str
    env: Mapping[str, str]
    """The environment the API runs with (for the ``unbind`` CLI beside it)."""
    run_dir: Path


def signing_keys() -> str:
    return f"tests:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def signed_actions_worker(env: Mapping[str, str], log_path: Path) -> WorkerProcess:
    """``python worker.py`` in ``env`` (an ``isolated_environment`` with the
    signing keys), as deployed: it takes a party's action only when the API
    signed it."""
    worker = WorkerProcess(
        address=env["TEMPORAL_ADDRESS"],
        task_queue=env["UNBIND_TASK_QUEUE"],
        database_url=env["UNBIND_DATABASE_URL"],
        log_path=log_path,
    )
    worker.env = {**(worker.env or {}), **env, "UNBIND_REQUIRE_SIGNED_ACTIONS": "1"}
    return worker


@pytest_asyncio.fixture(scope="session")
async def stack(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    run_dir = tmp_path_factory.mktemp("api-stack")
    database_url = f"sqlite:///{run_dir / 'partner-center.db'}"
    partner_center = SqlPartnerCenter(migrated(database_url))
    address = dev_env.client.service_client.config.target_host
    task_queue = f"api-{uuid.uuid4().hex}"
    key, public_pem = _ed25519()
    key_path = run_dir / "api-public.pem"
    key_path.write_bytes(public_pem)
    base_env = isolated_environment(
        address=address, task_queue=task_queue, database_url=database_url
    )
    base_env["UNBIND_ACTION_SIGNING_KEYS"] = signing_keys()
    api_env = {
        **base_env,
        "UNBIND_API_ISSUER": ISSUER,
        "UNBIND_API_AUDIENCE": AUDIENCE,
        "UNBIND_API_PUBLIC_KEY": str(key_path),
        "UNBIND_DEV_KEY_DIR": str(run_dir / "dev-keys"),
    }
    worker = signed_actions_worker(base_env, run_dir / "worker.log")
    await worker.start_polling(dev_env.client)
    api = start_api(env=api_env, log_path=run_dir / "api.log")
    try:
        await api.wait_until_healthy()
        yield Stack(
            base_url=api.base_url,
            partner_center=partner_center,
            tokens=Tokens(key, public_pem),
            database_url=database_url,
            temporal_address=address,
            task_queue=task_queue,
            env=api_env,
            run_dir=run_dir,
        )
    finally:
        api.child.stop()
        worker.stop()
        partner_center.dispose()


@pytest_asyncio.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An async client for the API: the tests' event loop also runs nothing
    else, but keeping to async lets a test fire requests concurrently."""
    async with httpx.AsyncClient(
        base_url=stack.base_url,
        timeout=httpx.Timeout(60.0),
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
    ) as client:
        yield client


# ---- the parties ---------------------------------------------------------------

VISIBLE_TO: frozenset[Role] = frozenset(
    {"customer", "initiator", "sub_user_of_initiator", "distributor", "operator"}
)
"""Who may see an application (API.md, GET /applications/{customer_uin}): its
customer, its initiator and the initiator's sub-users, its distributor, and
operators. Everyone else gets the 404 of a missing application. The
customer's sub-users are not named there, so they are not parties."""


@dataclass(frozen=True)
class World:
    """A second-level reseller's customer and every kind of caller around it
    (tests.workflows.spec_oracle.ROLES), each with a token."""

    uins: dict[Role, str]
    tokens: dict[Role, str]

    @property
    def customer(self) -> str:
        return self.uins["customer"]

    @property
    def initiator(self) -> str:
        return self.uins["initiator"]

    @property
    def distributor(self) -> str:
        return self.uins["distributor"]

    def as_(self, role: Role) -> dict[str, str]:
        return bearer(self.tokens[role])


def build_world(stack: Stack, *, card: bool = False, second_level: bool = True) -> World:
    pc = stack.partner_center
    uins: dict[Role, str] = {role: fresh_uin() for role in ROLES if role != "operator"}
    pc.add_partner(uins["distributor"], kind=PartnerKind.DISTRIBUTOR)
    pc.add_partner(uins["other_distributor"], kind=PartnerKind.DISTRIBUTOR)
    if second_level:
        pc.add_partner(
            uins["initiator"],
            kind=PartnerKind.SECOND_LEVEL_RESELLER,
            distributor_uin=uins["distributor"],
        )
    else:
        pc.add_partner(uins["initiator"], kind=PartnerKind.RESELLER)
    pc.add_partner(uins["other_reseller"], kind=PartnerKind.RESELLER)
    pc.add_customer(uins["customer"], partner_uin=uins["initiator"], card=card)
    pc.add_subuser(uins["sub_user_of_customer"], owner_uin=uins["customer"])
    pc.add_subuser(uins["sub_user_of_initiator"], owner_uin=uins["initiator"])
    uins["operator"] = f"operator:{OPERATOR_NAME}"
    t = stack.tokens
    tokens: dict[Role, str] = {
        "customer": t.account(uins["customer"]),
        "initiator": t.account(uins["initiator"]),
        "distributor": t.account(uins["distributor"]),
        "other_reseller": t.account(uins["other_reseller"]),
        "other_distributor": t.account(uins["other_distributor"]),
        "sub_user_of_initiator": t.account(uins["sub_user_of_initiator"], owner=uins["initiator"]),
        "sub_user_of_customer": t.account(uins["sub_user_of_customer"], owner=uins["customer"]),
        "operator": t.operator(),
    }
    return World(uins=uins, tokens=tokens)


@pytest.fixture
def world(stack: Stack) -> World:
    return build_world(stack)


# ---- requests and answers ------------------------------------------------------


def new_key() -> str:
    return uuid.uuid4().hex


def action_headers(world: World, role: Role, key: str | None = None) -> dict[str, str]:
    return {**world.as_(role), "Idempotency-Key": key or new_key()}


async def submit(http: httpx.AsyncClient, world: World, **body: Any) -> httpx.Response:
    """The initiator submits for its customer, notice acknowledged."""
    payload = {"customer_uin": world.customer, "acknowledge_notice": True, **body}
    return await http.post("/applications", json=payload, headers=world.as_("initiator"))


async def submitted(http: httpx.AsyncClient, world: World) -> dict[str, Any]:
    response = await submit(http, world)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    assert answer["accepted"] is True, answer
    return answer


async def act(
    http: httpx.AsyncClient,
    world: World,
    role: Role,
    action: str,
    body: Mapping[str, Any] | None = None,
    *,
    key: str | None = None,
) -> httpx.Response:
    return await http.post(
        f"/applications/{world.customer}/{action}",
        json=dict(body or {}),
        headers=action_headers(world, role, key),
    )


async def state_of(http: httpx.AsyncClient, world: World) -> dict[str, Any]:
    """The application as an operator sees it."""
    response = await http.get(f"/applications/{world.customer}", headers=world.as_("operator"))
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """An RFC 9457 problem with this status (API.md: every error)."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path}: "
        f"{response.status_code} {response.text[:500]}"
    )
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith(PROBLEM_JSON), (response.request.url.path, content_type)
    body: dict[str, Any] = response.json()
    assert body.get("status") == status, body
    assert isinstance(body.get("title"), str) and body["title"], body
    assert isinstance(body.get("type"), str) and body["type"], body
    assert isinstance(body.get("detail"), str), body
    if status == 422:
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, body
        for error in errors:
            assert {"field", "rule"} <= set(error), body
    if status == 403:
        assert isinstance(body.get("allowed"), str) and body["allowed"], body
    return body


def listed_items(body: Any) -> list[dict[str, Any]]:
    """The rows of a list answer: the contract names ``next_page_token`` beside
    them but not the list's own key, so take the one list in the object."""
    if isinstance(body, list):
        return body
    lists = [value for value in body.values() if isinstance(value, list)]
    assert len(lists) == 1, f"expected one list in {sorted(body)}"
    return lists[0]


def timeline_of(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    timeline = state.get("timeline")
    assert isinstance(timeline, list), sorted(state)
    return timeline
