"""The payload codec on its own: sealing, rotation, plain payloads passing
through, and the key configuration's errors (exit 2, naming the variable)."""

from __future__ import annotations

import base64
import os

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from starter.errors import BadConfiguration
from starter.inputs import build_application
from starter.payload_codec import (
    KEY_ID,
    KEYS_VARIABLE,
    EncryptionCodec,
    SealedFailureConverter,
    UndecryptablePayload,
    data_converter_from_env,
    data_converter_with,
    parse_payload_keys,
    payload_codec_from_env,
    sealed,
)
from workflows.contract import DATA_CONVERTER, RELATIONSHIP_CONFLICT
from workflows.model import ApplicationInput

OLD, NEW = os.urandom(32), os.urandom(32)
REASON = "contract ends: Zebra-Canary-5521"


def keys_text(**keys: bytes) -> str:
    return ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in keys.items())


def application() -> ApplicationInput:
    return build_application(
        customer_uin="30012345001",
        initiator_uin="20000000001",
        notice_acknowledged=True,
        reason=REASON,
    )


async def seal(codec: EncryptionCodec, value: object) -> list[Payload]:
    plain = DATA_CONVERTER.payload_converter.to_payloads([value])
    return await codec.encode(plain)


async def test_a_sealed_payload_carries_no_plain_text_and_opens_again() -> None:
    codec = EncryptionCodec({"k1": NEW})
    value = application()
    [payload] = await seal(codec, value)
    assert sealed(payload)
    assert payload.metadata[KEY_ID] == b"k1"
    raw = payload.SerializeToString()
    for plain in (REASON.encode(), b"30012345001", b"20000000001", b"json/plain"):
        assert plain not in raw
    [opened] = await codec.decode([payload])
    assert DATA_CONVERTER.payload_converter.from_payloads([opened], [ApplicationInput]) == [value]


async def test_the_same_value_seals_differently_each_time() -> None:
    codec = EncryptionCodec({"k1": NEW})
    [first], [second] = await seal(codec, REASON), await seal(codec, REASON)
    assert first.data != second.data


async def test_rotation_new_key_seals_old_key_still_opens() -> None:
    before = EncryptionCodec({"old": OLD})
    after = EncryptionCodec(parse_payload_keys(keys_text(new=NEW, old=OLD)))
    [sealed_before] = await seal(before, REASON)
    [sealed_after] = await seal(after, REASON)
    assert sealed_after.metadata[KEY_ID] == b"new"
    [opened] = await after.decode([sealed_before])
    assert DATA_CONVERTER.payload_converter.from_payloads([opened], [str]) == [REASON]
    # Retiring the old key too early is an error that names the key id.
    with pytest.raises(
        UndecryptablePayload, match=r"^UNBIND_PAYLOAD_KEYS: .*key id 'old'.*configured keys \(new\)"
    ):
        await EncryptionCodec({"new": NEW}).decode([sealed_before])


async def test_plain_payloads_pass_through_undecoded() -> None:
    [plain] = DATA_CONVERTER.payload_converter.to_payloads([application()])
    assert await EncryptionCodec({"k1": NEW}).decode([plain]) == [plain]


async def test_an_altered_payload_or_a_changed_key_is_refused() -> None:
    [payload] = await seal(EncryptionCodec({"k1": NEW}), REASON)
    altered = Payload(metadata=payload.metadata, data=payload.data[:-1] + b"\x00")
    with pytest.raises(UndecryptablePayload, match="does not decrypt"):
        await EncryptionCodec({"k1": NEW}).decode([altered])
    with pytest.raises(UndecryptablePayload, match="does not decrypt"):
        await EncryptionCodec({"k1": OLD}).decode([payload])


def test_the_codec_never_shows_its_keys() -> None:
    codec = EncryptionCodec({"k1": NEW})
    assert repr(codec) == "EncryptionCodec(kids=['k1'])"


async def test_no_keys_means_plain_payloads_and_a_sealed_one_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEYS_VARIABLE, raising=False)
    codec = data_converter_from_env().payload_codec
    assert isinstance(codec, EncryptionCodec) and codec.encrypting_kid is None
    plain = DATA_CONVERTER.payload_converter.to_payloads([application()])
    assert await codec.encode(plain) == plain
    assert await codec.decode(plain) == plain
    [sealed_payload] = await seal(EncryptionCodec({"k1": NEW}), REASON)
    with pytest.raises(UndecryptablePayload) as raised:
        await codec.decode([sealed_payload])
    assert raised.value.exit_code == 2
    assert raised.value.message == (
        "UNBIND_PAYLOAD_KEYS: payloads are encrypted (key id 'k1') and this process has no "
        "keys; set it to the workers' keys"
    )


def test_keys_from_the_environment_seal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEYS_VARIABLE, keys_text(k2=NEW, k1=OLD))
    converter = data_converter_from_env()
    assert isinstance(converter.payload_codec, EncryptionCodec)
    assert converter.payload_codec.encrypting_kid == "k2"
    # The contract's payloads; its business failures, with messages sealed.
    assert converter.payload_converter_class is DATA_CONVERTER.payload_converter_class
    assert converter.failure_converter_class is SealedFailureConverter
    assert issubclass(SealedFailureConverter, DATA_CONVERTER.failure_converter_class)


@pytest.mark.parametrize(
    ("given", "rule"),
    [
        ("k1", "kid:base64secret"),
        (":" + base64.b64encode(NEW).decode(), "without a kid"),
        ("k1:not base64!", "not base64"),
        (keys_text(k1=os.urandom(16)), "16 bytes"),
        (keys_text(k1=os.urandom(48)), "AES-256-GCM needs exactly 32"),
        (f"{keys_text(k1=NEW)},{keys_text(k1=OLD)}", "given twice"),
        (",", "no key given"),
    ],
)
def test_a_malformed_key_configuration_names_the_variable_and_the_rule(
    monkeypatch: pytest.MonkeyPatch, given: str, rule: str
) -> None:
    monkeypatch.setenv(KEYS_VARIABLE, given)
    with pytest.raises(BadConfiguration) as raised:
        payload_codec_from_env()
    assert raised.value.exit_code == 2
    assert raised.value.message.startswith(f"{KEYS_VARIABLE}: ")
    assert rule in raised.value.message
    # The key material is never echoed.
    secret = given.partition(":")[2].split(",")[0]
    if len(secret) > 8:
        assert secret not in raised.value.message


async def test_failure_messages_are_sealed_at_every_level_and_read_back() -> None:
    converter = data_converter_with(EncryptionCodec({"k1": NEW}))
    try:
        try:
            raise ApplicationError("customer 30012345001 is bound to 20000000009")
        except ApplicationError as cause:
            raise ApplicationError(
                "relationship check failed at cutover", type=RELATIONSHIP_CONFLICT
            ) from cause
    except ApplicationError as error:
        failure = Failure()
        await converter.encode_failure(error, failure)
    assert failure.message == failure.cause.message == "Encoded failure"
    assert failure.stack_trace == failure.cause.stack_trace == ""  # a refusal has none
    raw = failure.SerializeToString()
    assert b"30012345001" not in raw and b"relationship check" not in raw
    assert sealed(failure.encoded_attributes) and sealed(failure.cause.encoded_attributes)

    decoded = await converter.decode_failure(failure)
    assert isinstance(decoded, ApplicationError) and decoded.type == RELATIONSHIP_CONFLICT
    assert decoded.message == "relationship check failed at cutover"
    assert str(decoded.__cause__) == "customer 30012345001 is bound to 20000000009"
