"""The API's configuration, read once from the environment and checked:
a mistake is a :class:`~starter.errors.BadConfiguration` naming the variable,
raised before anything listens.

- ``UNBIND_API_ADDRESS`` (``127.0.0.1:8000``)
- ``UNBIND_API_PUBLIC_KEY`` (PEM text or a path to a PEM file) or
  ``UNBIND_API_JWKS_URL``; with either, ``UNBIND_API_ISSUER`` and
  ``UNBIND_API_AUDIENCE`` are required
- ``UNBIND_API_CLOCK_SKEW_SECONDS`` (30)
- ``UNBIND_API_DEV_TOKENS=1``: accept development tokens (:mod:`.devkeys`),
  only when no production key is configured
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from starter.errors import BadConfiguration

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_CLOCK_SKEW = timedelta(seconds=30)
MAX_CLOCK_SKEW = timedelta(minutes=10)
"""More skew than this hides a broken clock or a replayed token."""

_TRUE = frozenset({"1", "true", "yes"})


@dataclass(frozen=True)
class ApiSettings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    public_key_pem: str | None = None
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW
    dev_tokens_requested: bool = False

    @property
    def production_key(self) -> bool:
        return self.public_key_pem is not None or self.jwks_url is not None

    @property
    def dev_tokens(self) -> bool:
        """Development tokens are accepted: asked for, and no production key."""
        return self.dev_tokens_requested and not self.production_key

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiSettings:
        env = os.environ if env is None else env
        host, port = _address(env.get("UNBIND_API_ADDRESS") or f"{DEFAULT_HOST}:{DEFAULT_PORT}")
        settings = cls(
            host=host,
            port=port,
            public_key_pem=_public_key(env.get("UNBIND_API_PUBLIC_KEY")),
            jwks_url=env.get("UNBIND_API_JWKS_URL") or None,
            issuer=env.get("UNBIND_API_ISSUER") or None,
            audience=env.get("UNBIND_API_AUDIENCE") or None,
            clock_skew=_clock_skew(env.get("UNBIND_API_CLOCK_SKEW_SECONDS")),
            dev_tokens_requested=(env.get("UNBIND_API_DEV_TOKENS") or "").lower() in _TRUE,
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.public_key_pem is not None and self.jwks_url is not None:
            raise BadConfiguration(
                "UNBIND_API_JWKS_URL", "set UNBIND_API_PUBLIC_KEY or UNBIND_API_JWKS_URL, not both"
            )
        if self.production_key:
            for variable, value in (
                ("UNBIND_API_ISSUER", self.issuer),
                ("UNBIND_API_AUDIENCE", self.audience),
            ):
                if not value:
                    raise BadConfiguration(
                        variable, "required with a production key: tokens are checked against it"
                    )
        elif not self.dev_tokens:
            raise BadConfiguration(
                "UNBIND_API_PUBLIC_KEY",
                "no way to check tokens: set UNBIND_API_PUBLIC_KEY or UNBIND_API_JWKS_URL "
                "(with UNBIND_API_ISSUER and UNBIND_API_AUDIENCE), or UNBIND_API_DEV_TOKENS=1 "
                "on a development machine",
            )


def _address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadConfiguration("UNBIND_API_ADDRESS", f"expected HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


def _public_key(value: str | None) -> str | None:
    if not value:
        return None
    if "-----BEGIN" in value:
        return value
    path = Path(value)
    try:
        text = path.read_text()
    except OSError as error:
        raise BadConfiguration(
            "UNBIND_API_PUBLIC_KEY",
            f"neither PEM text nor a readable file ({path}: {error.strerror or error})",
        ) from None
    if "-----BEGIN" not in text:
        raise BadConfiguration("UNBIND_API_PUBLIC_KEY", f"{path} holds no PEM public key")
    return text


def _clock_skew(value: str | None) -> timedelta:
    if not value:
        return DEFAULT_CLOCK_SKEW
    try:
        skew = timedelta(seconds=float(value))
    except ValueError:
        skew = timedelta(-1)
    if not timedelta(0) <= skew <= MAX_CLOCK_SKEW:
        raise BadConfiguration(
            "UNBIND_API_CLOCK_SKEW_SECONDS",
            f"expected 0 to {MAX_CLOCK_SKEW.total_seconds():g} seconds, got {value!r}",
        )
    return skew
