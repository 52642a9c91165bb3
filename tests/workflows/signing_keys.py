"""Signing keys for the tests and the recorded signed histories (not secrets:
they sign nothing outside this suite). ``old`` was the only key; ``new`` is
added first (it signs, both verify); then ``old`` is removed."""

from __future__ import annotations

import base64

from workflows.signing import SigningKeys, SigningPolicy, parse_keys


def _secret(fill: bytes) -> str:
    return base64.b64encode(fill * 32).decode()


OLD_ENTRY = f"old:{_secret(b'o')}"
NEW_ENTRY = f"new:{_secret(b'n')}"

OLD: SigningKeys = parse_keys(OLD_ENTRY)
ROTATING: SigningKeys = parse_keys(f"{NEW_ENTRY},{OLD_ENTRY}")
"""During a rotation: ``new`` signs, ``old`` still verifies."""
NEW_ONLY: SigningKeys = parse_keys(NEW_ENTRY)
"""After it: ``old`` removed."""
FORGED: SigningKeys = parse_keys(f"new:{_secret(b'f')}")
"""Somebody's guess at the ``new`` key."""

REQUIRED = SigningPolicy(required=True, keys=ROTATING)
"""The worker with ``UNBIND_REQUIRE_SIGNED_ACTIONS=1`` during the rotation."""
