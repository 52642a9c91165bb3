"""The refused attempts of the HTTP API (``audit_refusals``): written by the API
on every refusal, read by ``GET /audit`` and ``unbind audit``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from activities.sql.database import SqlDatabase
from activities.sql.schema import audit_refusals, now

MAX_TEXT_LENGTH = 1000
"""A refusal's path and reason may quote what the caller sent: kept short."""


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
        # UTC as "Z", as the API's answers write it, so both read the same.
        return {**asdict(self), "at": self.at.isoformat().replace("+00:00", "Z")}


def _clean(value: str | None, limit: int) -> str | None:
    """What a caller sent, storable: no NUL (PostgreSQL cannot hold one), not too long."""
    return value if value is None else value.replace("\x00", "")[:limit]


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
                    principal=_clean(principal, 128),
                    method=_clean(method, 16),
                    path=_clean(path, MAX_TEXT_LENGTH),
                    action=_clean(action, 32),
                    customer_uin=_clean(customer_uin, 64),
                    status_code=status_code,
                    reason=_clean(reason, MAX_TEXT_LENGTH),
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
            conn.execute(select(audit_refusals.c.id).limit(1))
