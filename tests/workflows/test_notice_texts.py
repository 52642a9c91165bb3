"""The texts people agree to (issue 13, item 2): a published version never
changes (its hashes are pinned here), the notice is the help page's items
verbatim, and an application or a decision naming a text that is not ours is
refused at the edge, naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from workflows.model import ApplicationInput, ConfirmAction, ReviewAction
from workflows.notice import CURRENT, VERSIONS, Consent, sha256_of, text_with_hash

PINNED = {
    "2025-11-19": {
        Consent.NOTICE: "33b9587b0a836714cd9243d40788ef1738d96b0eb9479c8dce9220d8226a8ac3",
        Consent.REVIEW: "3a1ac56fc4c67e753cae6aa41a734923d0d3f58916e5f0816e4336795a0c1fb8",
        Consent.CONFIRMATION: "04e40f063646fc506fe1519b9eb58af70ecd8584734b6600bdaf2e4c266ebea5",
        Consent.REQUEST: "f0660b18ed1ebe73540494f589447a0ea1eaff56358315430be1612f43298143",
        Consent.RESELLER_REVIEW: "adaf6578c7c4207d78f6c496d9c55da71454f623729f68b28eeac8bfa9e432b6",
    }
}
HELP_PAGE = Path("/work/shared/seed/unbind-a-reseller-sub-customer.txt")


def test_published_versions_never_change() -> None:
    for version, hashes in PINNED.items():
        for consent, sha in hashes.items():
            assert VERSIONS[version].sha256(consent) == sha, (version, consent)
            assert text_with_hash(sha) == (VERSIONS[version], consent)


@pytest.mark.skipif(not HELP_PAGE.exists(), reason="the help page is kept outside the repository")
def test_the_notice_holds_the_help_pages_items_verbatim() -> None:
    page = HELP_PAGE.read_text()
    start = page.index("To ensure your")
    items = page[start : page.index("Unbinding Process Operation Instruction")]
    notice = CURRENT.texts[Consent.NOTICE]
    for line in filter(None, (line.strip() for line in items.splitlines())):
        assert line in notice
    assert "I have read and understood the above notice" in notice


def _application(**notice: str) -> ApplicationInput:
    return ApplicationInput(
        application_id="app-00000001",
        customer_uin="20000000001",
        initiator_uin="10000000002",
        submitter_uin="10000000002",
        notice_acknowledged=True,
        acknowledged_at=datetime.now(UTC),
        **notice,  # type: ignore[arg-type]
    )


def test_an_application_names_a_known_notice_and_its_hash() -> None:
    sha = CURRENT.sha256(Consent.NOTICE)
    assert _application(notice_version=CURRENT.version, notice_sha256=sha).notice_sha256 == sha
    # Before versions existed: neither is given, and the JSON is as it was.
    assert "notice_version" not in _application().model_dump(mode="json")
    with pytest.raises(ValidationError, match="notice_version must be one of"):
        _application(notice_version="1999-01-01", notice_sha256=sha)
    with pytest.raises(ValidationError, match="notice_sha256 must be the SHA-256"):
        _application(notice_version=CURRENT.version, notice_sha256=sha256_of("other"))
    with pytest.raises(ValidationError, match="notice_version must be one of"):
        _application(notice_sha256=sha)


def test_a_decision_names_a_text_of_its_own_kind() -> None:
    review = CURRENT.sha256(Consent.REVIEW)
    assert ReviewAction(action_id="a1", actor="10000000001", approve=True, text_sha256=review)
    with pytest.raises(ValidationError, match="text_sha256"):
        ConfirmAction(action_id="a2", actor="20000000001", text_sha256=review)
    with pytest.raises(ValidationError, match="text_sha256"):
        ConfirmAction(action_id="a3", actor="20000000001", text_sha256="ab" * 32)
    unset = ConfirmAction(action_id="a4", actor="20000000001")
    assert "text_sha256" not in unset.model_dump(mode="json")
