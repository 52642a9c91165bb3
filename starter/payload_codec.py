"""Encrypted payloads: every payload a process hands Temporal (application
inputs, actions, results, queries: names, reasons, UINs) is sealed with
AES-256-GCM before it leaves the process, so the Temporal service, its
database and anyone reading history without the keys see only ciphertext.

Keys come from ``UNBIND_PAYLOAD_KEYS`` (``kid1:base64key,kid2:base64key``, 32
bytes each): the first key encrypts, every key decrypts, and the key id rides
in the payload's metadata. Rotating: put the new key first and keep the old
ones for as long as histories sealed with them may be read (a run's whole
retention). Without the variable payloads are plain, as before, and a sealed
payload that arrives anyway is refused by name rather than misread.

Failure messages and stack traces are not payloads, yet a business refusal
names UINs ("the customer is bound to 20000000007"): with keys, they move into
the failure's encoded attributes (``SealedFailureConverter``) and are sealed
too; history then shows "Encoded failure", which every client and the codec
server's Web UI decode.

Search attributes never pass through a payload codec: operators filter on
them in the clear. Payloads without our marker pass through decoding
unchanged, so histories recorded in plain text still replay.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DataConverter, PayloadCodec, PayloadConverter

from starter.errors import BadConfiguration
from workflows.contract import DATA_CONVERTER, BusinessFailureConverter
from workflows.signing import BadSigningKeys, parse_keys

KEYS_VARIABLE: Final = "UNBIND_PAYLOAD_KEYS"
ENCODING: Final = b"binary/encrypted"
"""The marker: the ``encoding`` of a sealed payload."""
KEY_ID: Final = "encryption-key-id"
"""The metadata entry naming the key a payload was sealed with."""
KEY_BYTES: Final = 32  # AES-256
NONCE_BYTES: Final = 12  # GCM's standard nonce; random per payload
KEYS_FORM: Final = "kid1:base64key[,kid2:base64key…], each key 32 random bytes"


class UndecryptablePayload(BadConfiguration):
    """A sealed payload this process cannot open: its key is not configured
    (exit 2: the operator must give this process the workers' keys), or it
    was altered."""

    def __init__(self, message: str) -> None:
        super().__init__(KEYS_VARIABLE, message)


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole serialized payloads; ``keys`` in the configured
    order, the first encrypts. The key id is authenticated with the
    ciphertext, so a payload cannot be passed off as sealed by another key.
    Without keys it leaves payloads plain and only names sealed ones."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.items()}
        self.encrypting_kid = next(iter(keys), None)

    def __repr__(self) -> str:  # never the keys, in a log or a traceback
        return f"EncryptionCodec(kids={list(self._ciphers)})"

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        kid = self.encrypting_kid
        return list(payloads) if kid is None else [self._seal(p, kid) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._open(payload) if sealed(payload) else payload for payload in payloads]

    def _seal(self, payload: Payload, kid: str) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed_data = self._ciphers[kid].encrypt(nonce, payload.SerializeToString(), kid.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: kid.encode()}, data=nonce + sealed_data
        )

    def _open(self, payload: Payload) -> Payload:
        kid = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(kid)
        if cipher is None and not self._ciphers:
            raise UndecryptablePayload(
                f"payloads are encrypted (key id {kid!r}) and this process has no keys; "
                "set it to the workers' keys"
            )
        if cipher is None:
            raise UndecryptablePayload(
                f"payload sealed with key id {kid!r}, which is not among the configured keys "
                f"({', '.join(self._ciphers)}); add that key (old keys stay configured for as "
                "long as their histories are read)"
            )
        nonce, sealed_data = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed_data, kid.encode())
        except InvalidTag:
            raise UndecryptablePayload(
                f"payload sealed with key id {kid!r} does not decrypt with that key: "
                "the payload was altered, or the key under that id was changed"
            ) from None
        return Payload.FromString(plain)


class SealedFailureConverter(BusinessFailureConverter):
    """Business failures (no stack traces for refusals) whose message and
    stack trace travel as an encoded attribute, which the codec seals. The
    SDK's ``encode_common_attributes``, applied after the refusal's stack
    trace is dropped."""

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        super().to_failure(exception, payload_converter, failure)
        level: Failure | None = failure
        while level is not None:
            if not level.HasField("encoded_attributes"):
                [attributes] = payload_converter.to_payloads(
                    [{"message": level.message, "stack_trace": level.stack_trace}]
                )
                level.encoded_attributes.CopyFrom(attributes)
                level.message, level.stack_trace = "Encoded failure", ""
            level = level.cause if level.HasField("cause") else None


def sealed(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


def parse_payload_keys(text: str) -> dict[str, bytes]:
    """``UNBIND_PAYLOAD_KEYS`` → keys by id, in order; a
    :class:`BadConfiguration` naming the variable and the rule otherwise."""
    try:
        keys = dict(parse_keys(text).by_id)
    except BadSigningKeys as error:
        raise BadConfiguration(KEYS_VARIABLE, f"{error}; expected {KEYS_FORM}") from None
    for kid, key in keys.items():
        if len(key) != KEY_BYTES:
            raise BadConfiguration(
                KEYS_VARIABLE,
                f"key {kid!r} has {len(key)} bytes; AES-256-GCM needs exactly {KEY_BYTES} "
                "(e.g. head -c 32 /dev/urandom | base64)",
            )
    return keys


def payload_codec_from_env() -> EncryptionCodec:
    """The codec ``UNBIND_PAYLOAD_KEYS`` configures; without the variable, one
    that keeps payloads plain."""
    given = os.environ.get(KEYS_VARIABLE, "").strip()
    return EncryptionCodec(parse_payload_keys(given) if given else {})


def data_converter_with(codec: EncryptionCodec | None) -> DataConverter:
    """The one data converter (``workflows.contract``), sealing payloads and
    failure messages with ``codec`` when it has keys."""
    if codec is None:
        return DATA_CONVERTER
    if codec.encrypting_kid is None:
        return dataclasses.replace(DATA_CONVERTER, payload_codec=codec)
    return dataclasses.replace(
        DATA_CONVERTER, payload_codec=codec, failure_converter_class=SealedFailureConverter
    )


def data_converter_from_env() -> DataConverter:
    """What every client and worker connects with: the contract's converter,
    encrypting when ``UNBIND_PAYLOAD_KEYS`` is set."""
    return data_converter_with(payload_codec_from_env())
