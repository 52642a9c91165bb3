"""Who is calling: the bearer token, checked (PyJWT) against the configured
key, issuer and audience, turned into a :class:`Principal`.

The actor of every action comes from here, never from a request body:
``sub`` (an account UIN), or ``operator:<name>`` when the token carries an
``operator`` claim. ``owner`` names the root account of a sub-user.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from starlette.concurrency import run_in_threadpool

from starter.api.devkeys import DEV_ALGORITHM, DEV_AUDIENCE, DEV_ISSUER, dev_key_pair
from starter.api.settings import ApiSettings
from starter.errors import BadConfiguration
from workflows.fields import OPERATOR_PATTERN, UIN_PATTERN

log = logging.getLogger("starter.api")

_UIN = re.compile(UIN_PATTERN)
_OPERATOR = re.compile(OPERATOR_PATTERN)
JWKS_ALGORITHMS = ["RS256", "ES256", "EdDSA"]
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]


class Unauthenticated(Exception):
    """No token, or one that does not prove who is calling (401)."""


@dataclass(frozen=True)
class Principal:
    """The caller, as its token says."""

    sub: str
    owner: str | None = None
    operator: str | None = None

    @property
    def actor(self) -> str:
        """Who acts in the workflow: the account, or ``operator:<name>``."""
        return f"operator:{self.operator}" if self.operator else self.sub

    @property
    def is_operator(self) -> bool:
        return self.operator is not None

    @property
    def name(self) -> str:
        """For the audit log."""
        return self.actor

    @property
    def root(self) -> str:
        """The partner account this caller acts for: its owner, or itself."""
        return self.owner or self.sub


class TokenVerifier:
    """Checks bearer tokens against one key (PEM), a JWKS endpoint, or the
    development key."""

    def __init__(self, settings: ApiSettings) -> None:
        self._leeway = settings.clock_skew.total_seconds()
        self._jwks: jwt.PyJWKClient | None = None
        self._key: Any = None
        if settings.jwks_url:
            self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_keys=True)
            self._algorithms = JWKS_ALGORITHMS
            self._issuer, self._audience = settings.issuer, settings.audience
            self.source = f"JWKS {settings.jwks_url}"
        elif settings.public_key_pem:
            self._key, algorithm = _load_key(settings.public_key_pem)
            self._algorithms = [algorithm]
            self._issuer, self._audience = settings.issuer, settings.audience
            self.source = f"UNBIND_API_PUBLIC_KEY ({algorithm})"
        elif settings.dev_tokens:
            keys = dev_key_pair()
            self._key = keys.public_key
            self._algorithms = [DEV_ALGORITHM]
            self._issuer, self._audience = DEV_ISSUER, DEV_AUDIENCE
            self.source = f"the DEVELOPMENT key in {keys.directory}"
        else:  # ApiSettings.check refuses this before
            raise BadConfiguration("UNBIND_API_PUBLIC_KEY", "no key to check tokens with")

    async def principal(self, authorization: str | None) -> Principal:
        """The caller of a request with this ``Authorization`` header."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("a bearer token is required (Authorization: Bearer <JWT>)")
        key = self._key
        if self._jwks is not None:
            try:
                signing_key = await run_in_threadpool(
                    self._jwks.get_signing_key_from_jwt, token.strip()
                )
            except jwt.PyJWTError as error:
                raise Unauthenticated(f"invalid token: {error}") from None
            key = signing_key.key
        return self.verify(token.strip(), key)

    def verify(self, token: str, key: Any = None) -> Principal:
        try:
            claims = jwt.decode(
                token,
                key if key is not None else self._key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("the token is from another issuer") from None
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"invalid token: {error}") from None
        return principal_from(claims)


def principal_from(claims: dict[str, Any]) -> Principal:
    sub, owner, operator = claims.get("sub"), claims.get("owner"), claims.get("operator")
    if operator is not None:
        if not isinstance(operator, str) or not _OPERATOR.match(f"operator:{operator}"):
            raise Unauthenticated("the operator claim must be a name ([A-Za-z0-9._@-], <= 64)")
        return Principal(sub=str(sub), operator=operator)
    if not isinstance(sub, str) or not _UIN.match(sub):
        raise Unauthenticated("the sub claim must be an account UIN")
    if owner is not None and (not isinstance(owner, str) or not _UIN.match(owner)):
        raise Unauthenticated("the owner claim must be an account UIN")
    if owner == sub:
        owner = None
    return Principal(sub=sub, owner=owner)


def _load_key(pem: str) -> tuple[Any, str]:
    """The public key and the one algorithm it may verify (no algorithm
    confusion: an RSA key never checks an HMAC or an EdDSA signature)."""
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as error:
        raise BadConfiguration("UNBIND_API_PUBLIC_KEY", f"not a PEM public key: {error}") from None
    if isinstance(key, RSAPublicKey):
        return key, "RS256"
    if isinstance(key, EllipticCurvePublicKey):
        return key, "ES256"
    if isinstance(key, Ed25519PublicKey):
        return key, "EdDSA"
    raise BadConfiguration(
        "UNBIND_API_PUBLIC_KEY", f"unsupported key type {type(key).__name__}: RSA, EC or Ed25519"
    )
