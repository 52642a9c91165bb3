"""Development tokens: an Ed25519 key pair generated once on this machine
(``var/dev-keys/``, or ``UNBIND_DEV_KEY_DIR``), and tokens signed with it.

The API accepts these only when ``UNBIND_API_DEV_TOKENS=1`` and no production
key (``UNBIND_API_PUBLIC_KEY`` / ``UNBIND_API_JWKS_URL``) is configured
(:mod:`starter.api.settings`). Anyone who can read the private key file can
act as anyone: it is for a laptop and the demo, never for a deployment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from starter.secret_files import write_once

DEV_KEY_DIR_VARIABLE = "UNBIND_DEV_KEY_DIR"
DEFAULT_DEV_KEY_DIR = Path("var") / "dev-keys"
DEV_ISSUER = "unbind-dev"
DEV_AUDIENCE = "unbind-api"
DEV_ALGORITHM = "EdDSA"
DEV_TOKEN_LIFETIME = timedelta(hours=12)
"""Long enough for a working day or a demo session; short enough to go stale."""

_PRIVATE = "dev-ed25519.pem"
_PUBLIC = "dev-ed25519.pub.pem"


def dev_key_dir() -> Path:
    return Path(os.environ.get(DEV_KEY_DIR_VARIABLE) or DEFAULT_DEV_KEY_DIR)


@dataclass(frozen=True)
class DevKeyPair:
    private_key: Ed25519PrivateKey
    public_key: Ed25519PublicKey
    directory: Path


def dev_key_pair(directory: Path | None = None) -> DevKeyPair:
    """The development key pair, generated on first use. Two processes
    generating at once agree: the first file written wins (O_EXCL)."""
    directory = directory or dev_key_dir()
    private_path = directory / _PRIVATE
    if not private_path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_once(private_path, pem)
    loaded = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{private_path} is not an Ed25519 private key")
    public_key = loaded.public_key()
    public_path = directory / _PUBLIC
    if not public_path.exists():
        public_path.write_bytes(
            public_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return DevKeyPair(private_key=loaded, public_key=public_key, directory=directory)


def issue_dev_token(
    *,
    account: str | None = None,
    owner: str | None = None,
    operator: str | None = None,
    lifetime: timedelta = DEV_TOKEN_LIFETIME,
    keys: DevKeyPair | None = None,
) -> str:
    """A development token for an account (``sub``, optional ``owner`` when it
    is a sub-user) or for an operator (``operator``; ``sub`` is then
    ``operator:<name>``)."""
    if (account is None) == (operator is None):
        raise ValueError("a token is for an account or for an operator")
    keys = keys or dev_key_pair()
    issued = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": account if account is not None else f"operator:{operator}",
        "iat": issued,
        "exp": issued + lifetime,
    }
    if owner is not None:
        claims["owner"] = owner
    if operator is not None:
        claims["operator"] = operator
    return jwt.encode(claims, keys.private_key, algorithm=DEV_ALGORITHM)
