"""The codec server as the Web UI meets it: a real ``python -m
starter.codec_server`` process on a free port, spoken to over HTTP with the
protocol's JSON and the browser's CORS preflight."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from starter.api.devkeys import dev_key_pair, issue_dev_token
from starter.devstack.codec_process import CodecServerProcess, demo_payload_keys
from starter.devstack.ports import free_port
from starter.devstack.process import ROOT
from starter.payload_codec import EncryptionCodec, parse_payload_keys
from workflows.contract import DATA_CONVERTER

UI_ORIGIN = "http://127.0.0.1:18233"
REASON = "contract ends: Zebra-Canary-7730"
KEYS = f"new:{base64.b64encode(os.urandom(32)).decode()}"


def as_json(payloads: list[Payload]) -> dict[str, Any]:
    return json.loads(json_format.MessageToJson(Payloads(payloads=payloads)))


def from_json(body: dict[str, Any]) -> list[Payload]:
    return list(json_format.ParseDict(body, Payloads()).payloads)


def plain(value: object) -> list[Payload]:
    return DATA_CONVERTER.payload_converter.to_payloads([value])


@pytest_asyncio.fixture(scope="module")
async def codec_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    logs = tmp_path_factory.mktemp("codec")
    server = CodecServerProcess(
        payload_keys=KEYS, port=free_port(), ui_origin=UI_ORIGIN, log_path=logs / "codec.log"
    )
    await server.start_serving()
    try:
        yield server.url
    finally:
        server.stop()


async def test_the_web_ui_s_preflight_is_answered_for_its_origin_only(codec_url: str) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    async with httpx.AsyncClient() as http:
        ours = await http.options(f"{codec_url}/decode", headers={"Origin": UI_ORIGIN, **preflight})
        other = await http.options(
            f"{codec_url}/decode", headers={"Origin": "http://evil.example", **preflight}
        )
    assert ours.status_code == 200
    assert ours.headers["access-control-allow-origin"] == UI_ORIGIN
    assert "POST" in ours.headers["access-control-allow-methods"]
    allowed = ours.headers["access-control-allow-headers"].lower()
    assert "x-namespace" in allowed and "content-type" in allowed
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers


async def test_encode_then_decode_round_trips_and_seals_the_text(codec_url: str) -> None:
    headers = {"Origin": UI_ORIGIN, "X-Namespace": "default"}
    async with httpx.AsyncClient() as http:
        encoded = await http.post(
            f"{codec_url}/encode", json=as_json(plain(REASON)), headers=headers
        )
        assert encoded.status_code == 200, encoded.text
        assert encoded.headers["access-control-allow-origin"] == UI_ORIGIN
        assert REASON not in encoded.text
        [sealed] = from_json(encoded.json())
        # The namespace-prefixed route (the CLI's templating) decodes the same.
        decoded = await http.post(
            f"{codec_url}/default/decode", json=encoded.json(), headers=headers
        )
    assert decoded.status_code == 200, decoded.text
    assert DATA_CONVERTER.payload_converter.from_payloads(from_json(decoded.json()), [str]) == [
        REASON
    ]
    # What the codec server sealed, the workers' codec opens.
    [opened] = await EncryptionCodec(parse_payload_keys(KEYS)).decode([sealed])
    assert DATA_CONVERTER.payload_converter.from_payloads([opened], [str]) == [REASON]


async def test_plain_payloads_pass_and_an_unknown_key_is_named(codec_url: str) -> None:
    retired = EncryptionCodec({"retired": os.urandom(32)})
    async with httpx.AsyncClient() as http:
        passed = await http.post(f"{codec_url}/decode", json=as_json(plain(REASON)))
        unknown = await http.post(
            f"{codec_url}/decode", json=as_json(await retired.encode(plain(REASON)))
        )
        malformed = await http.post(f"{codec_url}/decode", content=b"not json")
    assert from_json(passed.json()) == plain(REASON)
    assert unknown.status_code == 422
    assert "key id 'retired'" in unknown.json()["detail"]
    assert malformed.status_code == 400


async def test_operators_only_when_asked(tmp_path: Path) -> None:
    server = CodecServerProcess(
        payload_keys=KEYS, port=free_port(), ui_origin=UI_ORIGIN, log_path=tmp_path / "codec.log"
    )
    assert server.env is not None
    server.env.update(
        UNBIND_CODEC_REQUIRE_OPERATOR="1",
        UNBIND_API_DEV_TOKENS="1",
        UNBIND_DEV_KEY_DIR=str(tmp_path / "keys"),
    )
    keys = dev_key_pair(tmp_path / "keys")
    body = as_json(plain(REASON))
    await server.start_serving()
    try:
        async with httpx.AsyncClient() as http:
            url = f"{server.url}/decode"
            anonymous = await http.post(url, json=body)
            account = await http.post(
                url,
                json=body,
                headers={
                    "Authorization": f"Bearer {issue_dev_token(account='20000000001', keys=keys)}"
                },
            )
            operator = await http.post(
                url,
                json=body,
                headers={"Authorization": f"Bearer {issue_dev_token(operator='ana', keys=keys)}"},
            )
    finally:
        server.stop()
    assert anonymous.status_code == 401
    assert account.status_code == 403
    assert operator.status_code == 200


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "UNBIND_PAYLOAD_KEYS"),
        ({"UNBIND_PAYLOAD_KEYS": "k1:c2hvcnQ="}, "UNBIND_PAYLOAD_KEYS"),
        ({"UNBIND_PAYLOAD_KEYS": KEYS, "UNBIND_CODEC_ADDRESS": "nowhere"}, "UNBIND_CODEC_ADDRESS"),
        (
            {"UNBIND_PAYLOAD_KEYS": KEYS, "UNBIND_CODEC_CORS_ORIGINS": "127.0.0.1:8233"},
            "UNBIND_CODEC_CORS_ORIGINS",
        ),
    ],
)
def test_a_configuration_mistake_exits_2_naming_the_variable(
    env: dict[str, str], variable: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("UNBIND_")}
    done = subprocess.run(
        [sys.executable, "-m", "starter.codec_server"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"codec server: {variable}: "), done.stderr


def test_the_demo_key_is_made_once_and_kept(tmp_path: Path) -> None:
    first = demo_payload_keys(tmp_path)
    assert demo_payload_keys(tmp_path) == first
    assert list(parse_payload_keys(first)) == ["demo-1"]
