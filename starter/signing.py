"""The processes' side of signed actions (``workflows.signing``): the keys and
the policy read from the environment, and the client interceptor that signs
every action ``UnbindingClient`` sends as an update.

    signer = signer_from_env()                        # UNBIND_ACTION_SIGNING_KEYS
    client = await UnbindingClient.connect(signer=signer)
    await client.confirm(uin, actor=uin, principal=token_sub)

The worker reads :func:`signing_policy_from_env` (``worker.build_worker``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final

from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    WorkflowUpdateHandle,
)
from temporalio.converter import PayloadConverter

from starter.errors import BadConfiguration
from workflows.model import Action
from workflows.signing import (
    SIGNATURE_HEADER,
    BadSigningKeys,
    Signer,
    SigningKeys,
    SigningPolicy,
    parse_keys,
)

KEYS_VARIABLE: Final = "UNBIND_ACTION_SIGNING_KEYS"
REQUIRED_VARIABLE: Final = "UNBIND_REQUIRE_SIGNED_ACTIONS"
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"", "0", "false", "no", "off"})


def signing_keys_from_env() -> SigningKeys | None:
    """``UNBIND_ACTION_SIGNING_KEYS`` (``kid1:base64secret,kid2:…``), or None if unset."""
    given = os.environ.get(KEYS_VARIABLE, "").strip()
    if not given:
        return None
    try:
        return parse_keys(given)
    except BadSigningKeys as error:
        raise BadConfiguration(KEYS_VARIABLE, str(error)) from None


def signer_from_env() -> Signer | None:
    """The API's signer (the first key signs), or None without keys."""
    keys = signing_keys_from_env()
    return Signer(keys) if keys is not None else None


def signing_policy_from_env() -> SigningPolicy:
    """The worker's policy: ``UNBIND_REQUIRE_SIGNED_ACTIONS`` and the keys it
    verifies with. Requiring signatures without a key would refuse every
    party's action, so that is a configuration mistake."""
    flag = os.environ.get(REQUIRED_VARIABLE, "").strip().lower()
    if flag not in _TRUE | _FALSE:
        raise BadConfiguration(REQUIRED_VARIABLE, f"expected 1 or 0, got {flag!r}")
    keys = signing_keys_from_env()
    required = flag in _TRUE
    if required and keys is None:
        raise BadConfiguration(
            KEYS_VARIABLE, f"{REQUIRED_VARIABLE}=1 needs the keys actions are signed with"
        )
    return SigningPolicy(required=required, keys=keys)


_principal: ContextVar[str | None] = ContextVar("unbind_signing_principal", default=None)
_application: ContextVar[str | None] = ContextVar("unbind_signing_application", default=None)


@contextmanager
def signing_as(principal: str | None, *, application_id: str) -> Iterator[None]:
    """Updates sent inside name ``principal`` (the authenticated caller, e.g.
    the token's ``sub``; without it, the action's actor) and the application
    they are for in their signature."""
    who, which = _principal.set(principal), _application.set(application_id)
    try:
        yield
    finally:
        _principal.reset(who)
        _application.reset(which)


class SigningInterceptor(Interceptor):
    """Signs every action sent as an update; everything else passes as is."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _SigningOutbound(next, self.signer)


class _SigningOutbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, signer: Signer) -> None:
        super().__init__(next)
        self._signer = signer

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        action = input.args[0] if len(input.args) == 1 else None
        application_id = _application.get()
        if isinstance(action, Action) and action.kind.value == input.update:
            if application_id is None:
                raise RuntimeError("an action is signed for its application: use signing_as")
            signature = self._signer.signature(
                input.id,
                action,
                application_id=application_id,
                principal=_principal.get() or action.actor,
                now=datetime.now(UTC),
            )
            input.headers = {
                **input.headers,
                SIGNATURE_HEADER: PayloadConverter.default.to_payload(signature),
            }
        return await super().start_workflow_update(input)


def signing(client: Client, signer: Signer) -> Client:
    """The same connection, signing actions with ``signer``."""
    config = client.config()
    config["interceptors"] = [*config["interceptors"], SigningInterceptor(signer)]
    return Client(**config)
