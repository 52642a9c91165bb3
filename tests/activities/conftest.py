"""A small, fixed ledger in the real partner center of each test (the
``partner_center`` fixture of tests/conftest.py).

``UNBIND_TEST_DATABASE=postgresql`` runs them on a throwaway PostgreSQL cluster
(tests/conftest.py); ``UNBIND_TEST_POSTGRES_URL`` (a ``postgresql+psycopg://``
URL of a scratch database) on an existing server instead, its tables dropped
before each test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine

from activities.sql import SqlPartnerCenter, metadata
from workflows.model import CutoverRequest, Notification, PartnerKind, UnbindingRecord, UnbindStatus


@dataclass(frozen=True)
class SeededLedger:
    """Who is who in the test ledger, and builders for what the workflow writes."""

    center: SqlPartnerCenter
    distributor: str = "10000000001"
    reseller: str = "10000000002"
    second_level_reseller: str = "10000000003"
    """Belongs to ``distributor``."""
    reseller_subuser: str = "10000000004"
    other_reseller: str = "10000000005"
    customer: str = "20000000001"
    """A healthy customer of ``reseller``, card bound."""
    second_level_customer: str = "20000000011"
    """A healthy customer of ``second_level_reseller``, no card."""
    submitted_at: datetime = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def record(
        self,
        application_id: str = "app-00000001",
        *,
        revision: int = 1,
        status: UnbindStatus = UnbindStatus.PENDING_CUSTOMER_CONFIRMATION,
        **changes: Any,
    ) -> UnbindingRecord:
        fields: dict[str, Any] = {
            "application_id": application_id,
            "workflow_id": f"unbind-{self.customer}",
            "revision": revision,
            "customer_uin": self.customer,
            "initiator_uin": self.reseller,
            "reseller_uin": self.reseller,
            "distributor_uin": None,
            "status": status,
            "submitted_at": self.submitted_at,
            "notice_acknowledged_by": self.reseller,
            "notice_acknowledged_at": self.submitted_at,
            "updated_at": self.submitted_at,
        }
        return UnbindingRecord(**{**fields, **changes})

    def notification(
        self,
        event: str = "customer_confirmation_requested",
        *,
        application_id: str = "app-00000001",
        recipients: tuple[str, ...] | None = None,
        at: datetime | None = None,
    ) -> Notification:
        return Notification(
            application_id=application_id,
            workflow_id=f"unbind-{self.customer}",
            event=event,
            recipients=recipients or (self.customer, self.reseller),
            subject=f"Unbinding: {event}",
            body="Your reseller asked to end the reselling relationship.",
            at=at or self.submitted_at,
        )

    def cutover(
        self, application_id: str = "app-00000001", *, reseller: str | None = None
    ) -> CutoverRequest:
        return CutoverRequest(
            application_id=application_id,
            customer_uin=self.customer,
            reseller_uin=reseller or self.reseller,
        )


@pytest.fixture
def database_url(database_url: str) -> str:
    """tests/conftest.py's fresh database, or the scratch database named by
    ``UNBIND_TEST_POSTGRES_URL`` with its tables dropped."""
    postgres = os.environ.get("UNBIND_TEST_POSTGRES_URL")
    if not postgres:
        return database_url
    engine = create_engine(postgres)
    metadata.drop_all(engine)
    engine.dispose()
    return postgres


@pytest.fixture
def seeded(partner_center: SqlPartnerCenter) -> SeededLedger:
    """Two resellers, a distributor with its second-level reseller, a sub-user
    of the reseller, and one customer under each level."""
    seeded = SeededLedger(partner_center)
    center = partner_center
    center.add_partner(seeded.distributor, kind=PartnerKind.DISTRIBUTOR, name="Distributor")
    center.add_partner(seeded.reseller, kind=PartnerKind.RESELLER, name="Reseller")
    center.add_partner(seeded.other_reseller, kind=PartnerKind.RESELLER, name="Other reseller")
    center.add_partner(
        seeded.second_level_reseller,
        kind=PartnerKind.SECOND_LEVEL_RESELLER,
        distributor_uin=seeded.distributor,
    )
    center.add_subuser(seeded.reseller_subuser, owner_uin=seeded.reseller)
    center.add_customer(seeded.customer, partner_uin=seeded.reseller, card=True)
    center.add_customer(seeded.second_level_customer, partner_uin=seeded.second_level_reseller)
    return seeded
