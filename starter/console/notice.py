"""The unbinding notice as the help page words it (shared/seed, "Unbinding
Notice"), verbatim: the reseller reads it and ticks the box before submitting."""

from __future__ import annotations

NOTICE_INTRO = (
    "To ensure your and your sub-customer's account and property safety, please read the "
    "following information carefully before proceeding with the operation:"
)

NOTICE_ITEMS = (
    "The current process for unbinding a reseller is applicable only to Tencent Cloud "
    "resellers, second-level resellers, and distributors.",
    "Confirm that the person submitting the unbinding application is yourself or a legally "
    "authorized agent/representative of the account holder. In the latter scenario, the "
    "agent/representative must inform the account holder of this Note and all steps in the "
    "process, ensuring the holder understands the entire content.",
    "The unbinding process is designed to remove the relationship between you and your "
    "sub-customers. Ensure you agree upon the initiation with them before submitting a request.",
    "After executing the reselling relationship removal, the action is uncancelable and "
    "irreversible. Ensure you have fully considered and confirmed the necessity of removing "
    "the reselling relationship.",
    "During the period from initiating the application to operation completion for reselling "
    "relationship removal, all resource consumption will continue to generate bills as per "
    "the existing method, i.e., the original reseller will still bear the spending.",
    "The billing process for Cloud Products may have delays. After terminating the reselling "
    "relationship, there will still be partial delayed billing costs charged under the "
    "pre-termination identity.",
    "You have confirmed settling ALL overdue payments with this sub-customer.",
    "You have confirmed deactivating ALL sub-customer discounts for this sub-customer.",
    "Make sure you have understood the operation instruction for unbinding and possible "
    "issues as well as precautions.",
)

ACKNOWLEDGEMENT = (
    "I have read and understood the above notice, and confirm acceptance of the impact and "
    "possible risks caused by unbinding the reseller"
)
