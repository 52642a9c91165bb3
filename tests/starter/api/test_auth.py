"""Token validation: who the API believes is calling, and whom it refuses."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from starter.api.app import create_app
from starter.api.auth import Principal, TokenVerifier, Unauthenticated
from starter.api.devkeys import issue_dev_token
from starter.api.settings import ApiSettings
from starter.errors import BadConfiguration

ISSUER = "https://login.example"
AUDIENCE = "unbinding"


@pytest.fixture(autouse=True)
def _own_dev_keys(dev_key_dir: Path) -> None:
    """Every test here signs dev tokens with a key pair of its own."""


@pytest.fixture
def production_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _production(key: ec.EllipticCurvePrivateKey, **overrides: Any) -> TokenVerifier:
    settings = ApiSettings(public_key_pem=_pem(key), issuer=ISSUER, audience=AUDIENCE)
    return TokenVerifier(ApiSettings(**{**settings.__dict__, **overrides}))


def _claims(**claims: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "10000000002",
        "exp": now + timedelta(minutes=5),
        **claims,
    }


def _token(key: Any, algorithm: str = "ES256", **claims: Any) -> str:
    return jwt.encode(_claims(**claims), key, algorithm=algorithm)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _dev_verifier() -> TokenVerifier:
    return TokenVerifier(ApiSettings(dev_tokens_requested=True))


def test_a_reseller_with_a_valid_token_is_its_account(production_key: Any) -> None:
    principal = _production(production_key).verify(_token(production_key))
    assert principal == Principal(sub="10000000002")
    assert principal.actor == "10000000002"


def test_a_sub_user_acts_as_itself_for_its_root_account(production_key: Any) -> None:
    token = _token(production_key, sub="10000000004", owner="10000000002")
    principal = _production(production_key).verify(token)
    assert (principal.actor, principal.root) == ("10000000004", "10000000002")


def test_an_operator_acts_as_operator_name(production_key: Any) -> None:
    token = _token(production_key, sub="alice@corp", operator="alice")
    assert _production(production_key).verify(token).actor == "operator:alice"


def test_an_expired_token_is_refused_past_the_clock_skew(production_key: Any) -> None:
    verifier = _production(production_key, clock_skew=timedelta(seconds=30))
    now = datetime.now(UTC)
    within_skew = _token(production_key, exp=now - timedelta(seconds=10))
    assert verifier.verify(within_skew).sub == "10000000002"
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(_token(production_key, exp=now - timedelta(seconds=60)))


def test_a_forged_token_is_refused(production_key: Any) -> None:
    forger = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(Unauthenticated, match="invalid token"):
        _production(production_key).verify(_token(forger))


def test_a_token_signed_with_the_public_key_as_an_hmac_secret_is_refused(
    production_key: Any,
) -> None:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = jwt.decode(_token(production_key), options={"verify_signature": False})
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(_pem(production_key).encode(), signing_input.encode(), hashlib.sha256)
    forged = f"{signing_input}.{_b64(mac.digest())}"
    with pytest.raises(Unauthenticated):
        _production(production_key).verify(forged)


def test_a_token_from_another_issuer_is_refused(production_key: Any) -> None:
    with pytest.raises(Unauthenticated, match="issuer"):
        _production(production_key).verify(_token(production_key, iss="https://elsewhere"))


def test_a_token_for_another_audience_is_refused(production_key: Any) -> None:
    with pytest.raises(Unauthenticated, match="audience"):
        _production(production_key).verify(_token(production_key, aud="billing"))


@pytest.mark.parametrize(
    "claims",
    [{"sub": "0123"}, {"sub": "10000000002", "owner": "x"}, {"sub": "1", "operator": "a b"}],
)
def test_claims_that_name_no_account_are_refused(production_key: Any, claims: dict) -> None:
    with pytest.raises(Unauthenticated):
        _production(production_key).verify(_token(production_key, **claims))


def test_a_dev_token_is_accepted_only_in_development(production_key: Any) -> None:
    dev_token = issue_dev_token(account="10000000001")
    assert _dev_verifier().verify(dev_token).sub == "10000000001"
    # A production key configured: the development key is not trusted, even when asked for.
    verifier = _production(production_key, dev_tokens_requested=True)
    with pytest.raises(Unauthenticated):
        verifier.verify(dev_token)


def test_a_dev_token_signed_by_another_machine_is_refused() -> None:
    other = issue_dev_token(account="10000000001")
    elsewhere = jwt.encode(
        jwt.decode(other, options={"verify_signature": False}),
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
    )
    with pytest.raises(Unauthenticated):
        _dev_verifier().verify(elsewhere)


def test_no_key_and_no_dev_tokens_is_a_configuration_mistake() -> None:
    with pytest.raises(BadConfiguration) as raised:
        ApiSettings.from_env({})
    assert raised.value.field == "UNBIND_API_PUBLIC_KEY"
    with pytest.raises(BadConfiguration, match="UNBIND_API_AUDIENCE"):
        ApiSettings.from_env({"UNBIND_API_JWKS_URL": "https://x/jwks", "UNBIND_API_ISSUER": "i"})


async def test_a_request_without_a_valid_token_gets_401_problem() -> None:
    app = create_app(ApiSettings(dev_tokens_requested=True))
    # No lifespan: the token check needs neither Temporal nor a database.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        answers = [
            await http.get("/applications/20000000001", headers=headers)
            for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic x"})
        ]
        # Even a body that is no JSON: the token is checked first.
        answers.append(
            await http.post(
                "/applications", content=b"{", headers={"Content-Type": "application/json"}
            )
        )
    for answer in answers:
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json()["status"] == 401


def test_a_token_is_checked_against_the_identity_providers_jwks() -> None:
    key = Ed25519PrivateKey.generate()
    jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
    document = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "EdDSA"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/jwks.json"
        verifier = TokenVerifier(ApiSettings(jwks_url=url, issuer=ISSUER, audience=AUDIENCE))
        token = jwt.encode(_claims(), key, algorithm="EdDSA", headers={"kid": "k1"})
        principal = asyncio.run(verifier.principal(f"Bearer {token}"))
        assert principal.sub == "10000000002"
        unknown = jwt.encode({"sub": "1"}, key, algorithm="EdDSA", headers={"kid": "other"})
        with pytest.raises(Unauthenticated):
            asyncio.run(verifier.principal(f"Bearer {unknown}"))
    finally:
        server.shutdown()
