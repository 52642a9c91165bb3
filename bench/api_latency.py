"""What the HTTP API adds to an action's latency, on an idle local stack.

    python -m bench.api_latency [--applications 20]

Starts its own stack (the dev server, ``python worker.py``, ``python -m
starter.api`` with a key pair made for the run), then for each path, the API
(``POST``, bearer token, Idempotency-Key) and ``UnbindingClient`` directly,
submits ``--applications`` applications of direct customers with a card and
confirms each, one at a time, and waits for each to complete before the next
so the stack is idle when it is timed. The two paths alternate. Prints a
table of p50/p95 per step and path, and one JSON line.

Not a test: numbers depend on the machine; docs/PERFORMANCE.md keeps a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.devstack.database import migrated
from starter.devstack.environment import isolated_environment
from starter.devstack.ports import HOST, free_port
from starter.devstack.process import ChildProcess, StackFailed
from starter.devstack.sdk_servers import dev_server_environment
from starter.devstack.worker_process import WorkerProcess
from workflows.model import PartnerKind, UnbindStatus

ISSUER = "unbind-bench"
AUDIENCE = "unbind-api-bench"
API_START_TIMEOUT = 60.0
COMPLETE_WITHIN = 30.0
"""Seconds an application may take to complete after its confirmation."""
FIRST_UIN = 41_000_000_000


@dataclass
class Timings:
    samples: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, step: str, path: str, seconds: float) -> None:
        self.samples.setdefault((step, path), []).append(seconds * 1000)

    def summary(self) -> dict[str, dict[str, float]]:
        return {f"{step} via {path}": _percentiles(ms) for (step, path), ms in self.samples.items()}


def _percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1),
    }


class Tokens:
    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.public_pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def account(self, uin: str) -> str:
        now = datetime.now(UTC)
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": uin,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(hours=1)).timestamp()),
        }
        return jwt.encode(claims, self.key, algorithm="EdDSA")


async def _timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    answer = await call()
    return time.perf_counter() - started, answer


async def _wait_until_completed(pc: SqlPartnerCenter, customer: str) -> None:
    give_up = time.monotonic() + COMPLETE_WITHIN
    while time.monotonic() < give_up:
        records = await asyncio.to_thread(pc.records, customer)
        if records and records[-1].status is UnbindStatus.COMPLETED:
            return
        await asyncio.sleep(0.1)
    raise StackFailed(f"customer {customer} did not complete within {COMPLETE_WITHIN:g}s")


async def _wait_for_api(api: ChildProcess, base_url: str) -> None:
    give_up = time.monotonic() + API_START_TIMEOUT
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as probe:
        while time.monotonic() < give_up:
            if not api.running:
                raise api.died()
            try:
                if (await probe.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)
    raise StackFailed(f"the API did not answer /healthz; its log:\n{api.tail()}")


async def measure(applications: int, run_dir: Path) -> dict[str, dict[str, float]]:
    database_url = f"sqlite:///{run_dir / 'partner-center.db'}"
    pc = SqlPartnerCenter(migrated(database_url))
    tokens = Tokens()
    (run_dir / "api-public.pem").write_bytes(tokens.public_pem)
    timings = Timings()
    uins = iter(range(FIRST_UIN + os.getpid() * 1000, FIRST_UIN + os.getpid() * 1000 + 10**6))
    async with dev_server_environment() as env:
        address = env.client.service_client.config.target_host
        task_queue = f"latency-{uuid.uuid4().hex}"
        base_env = isolated_environment(
            address=address, task_queue=task_queue, database_url=database_url
        )
        worker = WorkerProcess(
            address=address,
            task_queue=task_queue,
            database_url=database_url,
            log_path=run_dir / "worker.log",
        )
        port = free_port()
        api = ChildProcess(
            "api",
            [sys.executable, "-m", "starter.api"],
            log_path=run_dir / "api.log",
            env={
                **base_env,
                "UNBIND_API_ADDRESS": f"{HOST}:{port}",
                "UNBIND_API_ISSUER": ISSUER,
                "UNBIND_API_AUDIENCE": AUDIENCE,
                "UNBIND_API_PUBLIC_KEY": str(run_dir / "api-public.pem"),
            },
        )
        await worker.start_polling(env.client)
        api.start()
        try:
            base_url = f"http://{HOST}:{port}"
            await _wait_for_api(api, base_url)
            client = UnbindingClient(env.client, task_queue=task_queue)
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
                for _ in range(applications):
                    for path in ("api", "client"):
                        reseller, customer = str(next(uins)), str(next(uins))
                        pc.add_partner(reseller, kind=PartnerKind.RESELLER)
                        pc.add_customer(customer, partner_uin=reseller, card=True)
                        if path == "api":
                            await _through_api(http, tokens, timings, reseller, customer)
                        else:
                            await _through_client(client, timings, reseller, customer)
                        await _wait_until_completed(pc, customer)
        finally:
            api.stop()
            worker.stop()
            pc.dispose()
    return timings.summary()


async def _through_api(
    http: httpx.AsyncClient, tokens: Tokens, timings: Timings, reseller: str, customer: str
) -> None:
    seconds, response = await _timed(
        lambda: http.post(
            "/applications",
            json={"customer_uin": customer, "acknowledge_notice": True},
            headers={"Authorization": f"Bearer {tokens.account(reseller)}"},
        )
    )
    if response.status_code != 201:
        raise StackFailed(f"submission refused: {response.status_code} {response.text}")
    timings.add("apply", "API", seconds)
    seconds, response = await _timed(
        lambda: http.post(
            f"/applications/{customer}/confirm",
            json={},
            headers={
                "Authorization": f"Bearer {tokens.account(customer)}",
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )
    )
    if response.status_code != 200:
        raise StackFailed(f"confirmation refused: {response.status_code} {response.text}")
    timings.add("confirm", "API", seconds)


async def _through_client(
    client: UnbindingClient, timings: Timings, reseller: str, customer: str
) -> None:
    seconds, submitted = await _timed(
        lambda: client.apply(
            customer_uin=customer, initiator_uin=reseller, notice_acknowledged=True
        )
    )
    if not submitted.accepted:
        raise StackFailed(f"submission refused: {submitted}")
    timings.add("apply", "UnbindingClient", seconds)
    seconds, answer = await _timed(lambda: client.confirm(customer, actor=customer))
    if not answer.accepted:
        raise StackFailed(f"confirmation refused: {answer}")
    timings.add("confirm", "UnbindingClient", seconds)


def table(summary: dict[str, dict[str, float]]) -> str:
    rows: list[tuple[str, ...]] = [("step via path", "n", "p50 ms", "p95 ms", "min ms", "max ms")]
    for name, s in sorted(summary.items()):
        rows.append(
            (
                name,
                str(int(s["n"])),
                *(f"{s[k]:.1f}" for k in ("p50_ms", "p95_ms", "min_ms", "max_ms")),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=20, help="per path (default 20)")
    parser.add_argument("--run-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="api-latency-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    summary = asyncio.run(measure(args.applications, run_dir))
    print(table(summary))
    print(f"run directory: {run_dir}")
    print(json.dumps({"date": datetime.now(UTC).isoformat(timespec="seconds"), **summary}))
    sys.stdout.flush()
    sys.stderr.flush()
    # temporalio/sdk-python#300 (NOTES.md): leave without the core's threads.
    os._exit(0)


if __name__ == "__main__":
    main()
