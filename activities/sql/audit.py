"""The refused attempts of the HTTP API (``audit_refusals``): written by the API
on every refusal, read by ``GET /audit`` and ``unbind audit``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text

from activities.sql.database import SqlDatabase
from activities.sql.schema import audit_refusals, now

MAX_REASON_LENGTH = 1000
"""A refusal's reason is ours, but may quote what the caller sent: keep it short."""


@dataclass(frozen=True)
class Refusal:
    """One refused attempt."""

    at: datetime
    principal: str | None
    method: str
    path: str
    action: str | None
    customer_uin: str | None
    status_code: int
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat()}


class AuditLog(SqlDatabase):
    """Append and read the API's refused attempts."""

    def record_refusal(
        self,
        *,
        principal: str | None,
        method: str,
        path: str,
        status_code: int,
        reason: str,
        action: str | None = None,
        customer_uin: str | None = None,
        at: datetime | None = None,
    ) -> None:
        with self._write() as conn:
            conn.execute(
                audit_refusals.insert().values(
                    at=at or now(),
                    principal=principal,
                    method=method,
                    path=path[:MAX_REASON_LENGTH],
                    action=action,
                    customer_uin=customer_uin,
                    status_code=status_code,
                    reason=reason[:MAX_REASON_LENGTH].replace("\x00", ""),
                )
            )

    def refusals(self, *, since: datetime | None = None, limit: int = 100) -> list[Refusal]:
        """Refused attempts, newest first, at or after ``since``."""
        query = select(audit_refusals).order_by(
            audit_refusals.c.at.desc(), audit_refusals.c.id.desc()
        )
        if since is not None:
            query = query.where(audit_refusals.c.at >= since)
        with self._read() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [
            Refusal(
                at=row.at,
                principal=row.principal,
                method=row.method,
                path=row.path,
                action=row.action,
                customer_uin=row.customer_uin,
                status_code=row.status_code,
                reason=row.reason,
            )
            for row in rows
        ]

    def ping(self) -> None:
        """Raises unless the database answers."""
        with self._read() as conn:
            conn.execute(text("SELECT 1"))
