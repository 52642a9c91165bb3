"""Signed actions, the pure part (``workflows.signing``) and the environment
the processes read it from (``starter.signing``)."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from starter.errors import BadConfiguration
from starter.signing import signer_from_env, signing_policy_from_env
from tests.workflows.signing_keys import FORGED, NEW_ENTRY, NEW_ONLY, OLD, OLD_ENTRY, ROTATING
from workflows.model import ConfirmAction, RejectAction
from workflows.signing import (
    BadSigningKeys,
    Claims,
    SignatureRefused,
    Signer,
    _mac,
    parse_keys,
    sign,
    verify,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
WORKFLOW = "unbind-20000000001"
APPLICATION = "application-1"
CONFIRM = ConfirmAction(action_id="a-1", actor="20000000001")


def signed(signer: Signer, action: ConfirmAction = CONFIRM, *, at: datetime = NOW) -> dict:
    return signer.signature(
        WORKFLOW, action, application_id=APPLICATION, principal="20000000001", now=at
    )


MATCHING = {"workflow_id": WORKFLOW, "application_id": APPLICATION, "action": CONFIRM, "now": NOW}


def refusal(header: object, keys=ROTATING, **expected: object) -> str:
    with pytest.raises(SignatureRefused) as refused:
        verify(header, keys, **{**MATCHING, **expected})
    return str(refused.value)


def test_a_signed_action_verifies_and_names_who_acted() -> None:
    header = Signer(ROTATING).signature(
        WORKFLOW, CONFIRM, application_id=APPLICATION, principal="sub-user-7", now=NOW
    )
    assert (header["kid"], header["v"]) == ("new", 2)
    assert verify(header, ROTATING, **MATCHING) == "sub-user-7"


def test_during_a_rotation_the_old_key_still_verifies_and_once_removed_it_does_not() -> None:
    header = signed(Signer(OLD))
    assert verify(header, ROTATING, **MATCHING)
    assert refusal(header, NEW_ONLY) == "bad signature: unknown key id 'old'"


def test_a_forged_or_altered_signature_is_refused() -> None:
    assert "does not match" in refusal(signed(Signer(FORGED)))
    altered = {**signed(Signer(ROTATING)), "principal": "somebody-else"}
    assert "does not match" in refusal(altered)
    assert "malformed" in refusal({"v": 1})
    assert "malformed" in refusal("not an object")


def test_an_expired_signature_is_refused() -> None:
    header = signed(Signer(ROTATING), at=NOW - timedelta(minutes=6))
    assert refusal(header).startswith("signature expired at")


def test_a_signature_for_another_application_or_action_is_refused() -> None:
    header = signed(Signer(ROTATING))
    assert "another application" in refusal(header, workflow_id="unbind-20000000002")
    # The customer's next application has the same workflow id.
    assert "another application of this customer" in refusal(header, application_id="application-2")
    other_id = CONFIRM.model_copy(update={"action_id": "a-2"})
    assert "action_id differs" in refusal(header, action=other_id)
    rejection = RejectAction(action_id="a-1", actor="20000000001")
    assert "kind differs" in refusal(header, action=rejection)
    other_actor = CONFIRM.model_copy(update={"actor": "20000000009"})
    assert "actor differs" in refusal(header, action=other_actor)
    with_reason = RejectAction(action_id="a-1", actor="20000000001", reason="no")
    header = signed(Signer(ROTATING), rejection)  # type: ignore[arg-type]
    assert "fingerprint differs" in refusal(header, action=with_reason)


def test_the_signed_fields_are_exactly_the_claims() -> None:
    claims = Claims.of(
        WORKFLOW,
        CONFIRM,
        application_id=APPLICATION,
        principal="p",
        expires_at=NOW + timedelta(minutes=1),
    )
    assert sign(claims, ROTATING) == sign(replace(claims), ROTATING)
    for changed in ({"principal": "q"}, {"application_id": "application-2"}):
        assert sign(claims, ROTATING)["sig"] != sign(replace(claims, **changed), ROTATING)["sig"]


def test_a_version_1_signature_from_an_older_api_still_verifies() -> None:
    """Workers are upgraded before the API: what the older API signed (no
    application in it) is taken until it expires, minutes later."""
    current = signed(Signer(ROTATING))
    older = {name: value for name, value in current.items() if name != "application_id"}
    older["v"] = 1
    older["sig"] = base64.b64encode(_mac(ROTATING.by_id["new"], older)).decode()
    assert verify(older, ROTATING, **MATCHING) == "20000000001"
    assert verify(older, ROTATING, **{**MATCHING, "application_id": "application-2"})
    assert "unknown version 3" in refusal({**current, "v": 3})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no key given"),
        ("nokid", "without a kid"),
        ("k:not base64!", "not base64"),
        ("k:c2hvcnQ=", "at least 32"),
        (f"{OLD_ENTRY},{OLD_ENTRY}", "given twice"),
    ],
)
def test_bad_keys_are_named(text: str, problem: str) -> None:
    with pytest.raises(BadSigningKeys, match=problem):
        parse_keys(text)


def test_keys_never_show_their_secrets() -> None:
    assert repr(ROTATING) == "SigningKeys(kids=['new', 'old'])"


def test_the_environment_gives_the_signer_and_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNBIND_ACTION_SIGNING_KEYS", raising=False)
    monkeypatch.delenv("UNBIND_REQUIRE_SIGNED_ACTIONS", raising=False)
    assert signer_from_env() is None
    assert not signing_policy_from_env().required
    monkeypatch.setenv("UNBIND_REQUIRE_SIGNED_ACTIONS", "1")
    with pytest.raises(BadConfiguration, match="UNBIND_ACTION_SIGNING_KEYS"):
        signing_policy_from_env()
    monkeypatch.setenv("UNBIND_ACTION_SIGNING_KEYS", f"{NEW_ENTRY},{OLD_ENTRY}")
    policy = signing_policy_from_env()
    assert policy.required and policy.keys == ROTATING
    signer = signer_from_env()
    assert signer is not None and signer.keys.signing_kid == "new"
    monkeypatch.setenv("UNBIND_REQUIRE_SIGNED_ACTIONS", "maybe")
    with pytest.raises(BadConfiguration, match="UNBIND_REQUIRE_SIGNED_ACTIONS"):
        signing_policy_from_env()
    monkeypatch.setenv("UNBIND_ACTION_SIGNING_KEYS", "k:c2hvcnQ=")
    with pytest.raises(BadConfiguration, match="at least 32"):
        signer_from_env()
