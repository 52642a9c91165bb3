"""Signed actions: proof that an action came through the API, not a raw client.

Anyone with write access to the namespace (a raw client, the Web UI) can send
an update, so the API signs each action it sends: who acted (the token's
``principal``), what (workflow id, application id, kind, actor, ``action_id``
and the fields' fingerprint) and until when. The signature travels in the Temporal header
:data:`SIGNATURE_HEADER` as one JSON object (``/work/api-spec/API.md``, "Signed
actions"), HMAC-SHA256 over the canonical JSON of every other field, under a
key named by ``kid``.

Pure: no Temporal, no environment, no clock. Keys are parsed from
``UNBIND_ACTION_SIGNING_KEYS`` by the processes (``starter.signing``) and handed
to the client's signer and the worker's interceptor; workflow code never reads
them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from workflows.contract import action_fingerprint
from workflows.model import Action
from workflows.settings import SETTINGS

SIGNATURE_HEADER: Final = "unbind-action-signature"
VERSION: Final = 2
"""Version 2 names the application: the workflow id is the customer's, and the
customer's next application has the same one, so a version-1 signature could
be sent again to it while unexpired. Version 1 is still verified, so that a
worker upgraded first takes what an older API signed; the API signs only
version 2, and a version-1 signature expires within ``signature_lifetime``."""
MIN_KEY_BYTES: Final = 32
"""HMAC-SHA256 keys shorter than its output add no strength and suggest a typo."""

_V1_FIELDS: Final = (
    "v",
    "kid",
    "workflow_id",
    "kind",
    "actor",
    "action_id",
    "fingerprint",
    "principal",
    "expires_at",
)
_SIGNED_FIELDS: Final = {1: _V1_FIELDS, 2: (*_V1_FIELDS, "application_id")}
"""The fields each version signs (the MAC is over their canonical JSON)."""


class BadSigningKeys(ValueError):
    """``UNBIND_ACTION_SIGNING_KEYS`` cannot be used; the message says why."""


class SignatureRefused(Exception):
    """The reason an action's signature is not accepted (its message)."""


@dataclass(frozen=True)
class SigningKeys:
    """Keys by id, in the configured order: the first signs, every one verifies.
    Rotating: add the new key first, keep the old one until nothing signed
    with it can still arrive (``SETTINGS.signature_lifetime``), then remove it."""

    by_id: Mapping[str, bytes]

    @property
    def signing_kid(self) -> str:
        return next(iter(self.by_id))

    def __repr__(self) -> str:  # never the secrets, in a log or a traceback
        return f"SigningKeys(kids={list(self.by_id)})"


def parse_keys(text: str) -> SigningKeys:
    """``"kid1:base64secret,kid2:base64secret"`` → :class:`SigningKeys`."""
    by_id: dict[str, bytes] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        kid, sep, secret = item.partition(":")
        kid = kid.strip()
        if not sep or not kid:
            raise BadSigningKeys(f"expected kid:base64secret, got an entry without a kid ({kid!r})")
        if kid in by_id:
            raise BadSigningKeys(f"key id {kid!r} is given twice")
        try:
            key = base64.b64decode(secret.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise BadSigningKeys(f"the secret of key {kid!r} is not base64") from None
        if len(key) < MIN_KEY_BYTES:
            raise BadSigningKeys(
                f"the secret of key {kid!r} has {len(key)} bytes; use at least {MIN_KEY_BYTES}"
            )
        by_id[kid] = key
    if not by_id:
        raise BadSigningKeys("no key given: kid1:base64secret[,kid2:base64secret…]")
    return SigningKeys(by_id)


@dataclass(frozen=True)
class Claims:
    """What a signature vouches for."""

    workflow_id: str
    application_id: str
    kind: str
    actor: str
    action_id: str
    fingerprint: str
    principal: str
    expires_at: datetime

    @classmethod
    def of(
        cls,
        workflow_id: str,
        action: Action,
        *,
        application_id: str,
        principal: str,
        expires_at: datetime,
    ) -> Claims:
        return cls(
            workflow_id=workflow_id,
            application_id=application_id,
            kind=action.kind.value,
            actor=action.actor,
            action_id=action.action_id,
            fingerprint=action_fingerprint(action),
            principal=principal,
            expires_at=expires_at,
        )


def _canonical(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(
        {name: fields[name] for name in _SIGNED_FIELDS[fields["v"]]},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def _mac(key: bytes, fields: Mapping[str, Any]) -> bytes:
    return hmac.new(key, _canonical(fields), hashlib.sha256).digest()


def sign(claims: Claims, keys: SigningKeys) -> dict[str, Any]:
    """The header's JSON object for ``claims``, signed with the first key."""
    if claims.expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    kid = keys.signing_kid
    fields: dict[str, Any] = {
        "v": VERSION,
        "kid": kid,
        "workflow_id": claims.workflow_id,
        "application_id": claims.application_id,
        "kind": claims.kind,
        "actor": claims.actor,
        "action_id": claims.action_id,
        "fingerprint": claims.fingerprint,
        "principal": claims.principal,
        "expires_at": claims.expires_at.isoformat(),
    }
    return {**fields, "sig": base64.b64encode(_mac(keys.by_id[kid], fields)).decode()}


def principal_of(signed: Any) -> str | None:
    """The principal a header names, unverified: for the update handler,
    whose validator already verified it (handlers are replayed, validators are
    not, so the handler must not verify against today's keys)."""
    if isinstance(signed, Mapping) and isinstance(signed.get("principal"), str):
        return signed["principal"]
    return None


def verify(
    signed: Any,
    keys: SigningKeys,
    *,
    workflow_id: str,
    application_id: str,
    action: Action,
    now: datetime,
) -> str:
    """The verified principal of ``signed`` for ``action`` sent to
    application ``application_id`` (workflow ``workflow_id``), or
    :class:`SignatureRefused` naming why not."""
    if not isinstance(signed, Mapping):
        raise SignatureRefused("bad signature: the signature header is malformed")
    version = signed.get("v")
    if version not in _SIGNED_FIELDS or isinstance(version, bool):
        raise SignatureRefused(f"bad signature: unknown version {version!r}")
    if not all(isinstance(signed.get(name), str) for name in (*_SIGNED_FIELDS[version][1:], "sig")):
        raise SignatureRefused("bad signature: the signature header is malformed")
    key = keys.by_id.get(signed["kid"])
    if key is None:
        raise SignatureRefused(f"bad signature: unknown key id {signed['kid']!r}")
    try:
        given = base64.b64decode(signed["sig"], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureRefused("bad signature: not base64") from None
    if not hmac.compare_digest(given, _mac(key, signed)):
        raise SignatureRefused("bad signature: it does not match the signed fields")
    # Authentic from here on: now the claims may be read.
    try:
        expires_at = datetime.fromisoformat(signed["expires_at"])
    except ValueError:
        raise SignatureRefused("bad signature: expires_at is not a timestamp") from None
    if expires_at.tzinfo is None:
        raise SignatureRefused("bad signature: expires_at has no time zone")
    if now >= expires_at:
        raise SignatureRefused(f"signature expired at {expires_at.isoformat()}")
    if signed["workflow_id"] != workflow_id:
        raise SignatureRefused(f"signed for another application ({signed['workflow_id']})")
    if version >= 2 and signed["application_id"] != application_id:
        raise SignatureRefused(
            f"signed for another application of this customer ({signed['application_id']})"
        )
    expected = Claims.of(
        workflow_id,
        action,
        application_id=application_id,
        principal=signed["principal"],
        expires_at=expires_at,
    )
    for name in ("kind", "actor", "action_id", "fingerprint"):
        if signed[name] != getattr(expected, name):
            raise SignatureRefused(f"signed for another action (its {name} differs)")
    return str(signed["principal"])


@dataclass(frozen=True)
class Signer:
    """What the API's client signs each action with."""

    keys: SigningKeys
    lifetime: timedelta = SETTINGS.signature_lifetime

    def signature(
        self,
        workflow_id: str,
        action: Action,
        *,
        application_id: str,
        principal: str,
        now: datetime,
    ) -> dict[str, Any]:
        claims = Claims.of(
            workflow_id,
            action,
            application_id=application_id,
            principal=principal,
            expires_at=now + self.lifetime,
        )
        return sign(claims, self.keys)


@dataclass(frozen=True)
class SigningPolicy:
    """What the worker enforces: whether a party's action must be signed, and
    the keys signatures are verified with (none: every signature is refused)."""

    required: bool = False
    keys: SigningKeys | None = None
