"""The texts people agree to, versioned and hashed: the unbinding notice the
submitter acknowledges, and what the distributor and the customer are shown
when they decide. Consent is evidence: an application records the version and
the SHA-256 of the text each party acknowledged or decided on, and
``unbind evidence`` checks them against the texts kept here.

A published version is never edited: a change is a new version, added below
and made ``CURRENT``; the hashes of older versions must stay as they were
(tests/workflows/test_notice_texts.py pins them).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class Consent(StrEnum):
    """Which text a party agrees to."""

    NOTICE = "notice"
    """The unbinding notice, acknowledged by the submitter."""
    REVIEW = "review"
    """What the distributor approves or rejects."""
    CONFIRMATION = "confirmation"
    """What the customer confirms or rejects."""
    REQUEST = "request"
    """What a customer acknowledges when it applies to leave its reseller
    (the notice's promises are the reseller's: docs/SAFEGUARDS.md)."""
    RESELLER_REVIEW = "reseller_review"
    """What the reseller approves or rejects on the customer's own request."""


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NoticeVersion:
    version: str
    texts: dict[Consent, str]

    def sha256(self, consent: Consent) -> str:
        return sha256_of(self.texts[consent])


# The help page's "Unbinding Notice" (updated 2025-11-19), item by item,
# verbatim, and the checkbox sentence of its step 3.
_NOTICE_2025_11_19 = """\
Unbinding Notice

To ensure your and your sub-customer's account and property safety, please read the following \
information carefully before proceeding with the operation:

Important Notice

The current process for unbinding a reseller is applicable only to Tencent Cloud resellers, \
second-level resellers, and distributors.
Confirm that the person submitting the unbinding application is yourself or a legally authorized \
agent/representative of the account holder. In the latter scenario, the agent/representative must \
inform the account holder of this Note and all steps in the process, ensuring the holder \
understands the entire content.
The unbinding process is designed to remove the relationship between you and your sub-customers. \
Ensure you agree upon the initiation with them before submitting a request.
After executing the reselling relationship removal, the action is uncancelable and irreversible. \
Ensure you have fully considered and confirmed the necessity of removing the reselling relationship.
During the period from initiating the application to operation completion for reselling \
relationship removal, all resource consumption will continue to generate bills as per the \
existing method, i.e., the original reseller will still bear the spending.
The billing process for Cloud Products may have delays. After terminating the reselling \
relationship, there will still be partial delayed billing costs charged under the \
pre-termination identity.
You have confirmed settling ALL overdue payments with this sub-customer.
You have confirmed deactivating ALL sub-customer discounts for this sub-customer.
Make sure you have understood the operation instruction for unbinding and possible issues as well \
as precautions.

I have read and understood the above notice, and confirm acceptance of the impact and possible \
risks caused by unbinding the reseller.
"""

# The help page says what the sub-customer and the distributor decide, not the
# words they see: these are the project's, built from its steps 4-7 and the notice.
_REVIEW_2025_11_19 = """\
Review of an unbinding application

A second-level reseller of yours has applied to end its reselling relationship with one of its \
sub-customers. If you approve, the sub-customer is asked to confirm the unbinding; if you reject, \
the application ends. After the unbinding is executed it is uncancelable and irreversible.
"""

_CONFIRMATION_2025_11_19 = """\
Confirm or reject the unbinding

Your reseller has applied to end its reselling relationship with you. If you confirm, you bind a \
credit card and complete your account information if you have not yet, and once the conditions \
pass you become a Tencent Cloud official website customer and the signed reseller customer \
agreement is invalidated. The removal is uncancelable and irreversible. Until it is completed, \
your resource consumption is billed as before, to the reseller; delayed bills of the time before \
may still be charged under the pre-termination identity. If you reject, the application ends.
"""

# The customer's own request (issue 13, item 4): the project's words, built
# from the notice's items that concern the customer and the mirror flow.
_REQUEST_2025_11_19 = """\
Apply to leave your reseller

You are applying to end the reselling relationship between your account and your reseller. Your \
reseller reviews the application; if it does not answer in time, what the deadline does is shown \
with the application. Once approved, you bind a credit card and complete your account information \
if you have not yet, and once the conditions pass you become a Tencent Cloud official website \
customer and the signed reseller customer agreement is invalidated. The removal is uncancelable \
and irreversible. The reseller's discounts on your account end with the relationship. Until it is \
completed, your resource consumption is billed as before, to the reseller; delayed bills of the \
time before may still be charged under the pre-termination identity.

I have read and understood the above, and confirm acceptance of the impact and possible risks \
caused by leaving the reseller.
"""

_RESELLER_REVIEW_2025_11_19 = """\
Review of a sub-customer's request to leave

One of your sub-customers has applied to end its reselling relationship with you. If you approve, \
the application continues to the card binding, the final check and the cutover; if you reject, \
the application ends. Your discounts on its account end with the relationship, and delayed bills \
of the time before the cutover stay with you. After the unbinding is executed it is uncancelable \
and irreversible.
"""

VERSIONS: dict[str, NoticeVersion] = {
    "2025-11-19": NoticeVersion(
        "2025-11-19",
        {
            Consent.NOTICE: _NOTICE_2025_11_19,
            Consent.REVIEW: _REVIEW_2025_11_19,
            Consent.CONFIRMATION: _CONFIRMATION_2025_11_19,
            # Added before this version was released (issue 13's merge).
            Consent.REQUEST: _REQUEST_2025_11_19,
            Consent.RESELLER_REVIEW: _RESELLER_REVIEW_2025_11_19,
        },
    ),
}
CURRENT = VERSIONS["2025-11-19"]


def text_with_hash(sha256: str) -> tuple[NoticeVersion, Consent] | None:
    """The version and kind of the text with this hash, if it is one of ours."""
    for version in VERSIONS.values():
        for consent in version.texts:
            if version.sha256(consent) == sha256:
                return version, consent
    return None
