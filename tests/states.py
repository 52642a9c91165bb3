"""An application's state built by hand, for the tests that show one (the
``unbind status`` text, the Web UI's details) without running a workflow."""

from __future__ import annotations

from datetime import UTC, datetime

from workflows.model import Deadlines, UnbindingState

NOW = datetime(2026, 11, 29, tzinfo=UTC)
CUSTOMER, RESELLER = "20000000001", "10000000002"


def submitted_state(**fields: object) -> UnbindingState:
    """A direct reseller's application for ``CUSTOMER``, submitted with the
    notice acknowledged at ``NOW``; ``fields`` set anything else (status,
    reasons, failed checks, the timeline)."""
    return UnbindingState.model_validate(
        {
            "application_id": "app-12345678",
            "workflow_id": f"unbind-{CUSTOMER}",
            "customer_uin": CUSTOMER,
            "initiator_uin": RESELLER,
            "submitter_uin": RESELLER,
            "submitted_at": NOW,
            "notice_acknowledged_by": RESELLER,
            "notice_acknowledged_at": NOW,
            "deadlines": Deadlines(),
            **fields,
        }
    )
