"""SQL is built only from SQLAlchemy Core constructs with bound parameters.

Statically: no module that talks to the database builds SQL text by f-string,
``%``, ``.format`` or ``+``, and the only raw SQL it runs is a fixed string
literal (SQLite's PRAGMAs and BEGIN). Behaviourally: hostile text (SQL
comments, quotes, statement separators, NULs, placeholders of every
paramstyle) stored through the real partner center comes back verbatim, and
every table is still there with the rows it should have.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.exc import StatementError

from activities.sql import SqlPartnerCenter
from activities.sql.schema import metadata
from starter.client import UnbindingClient
from starter.errors import BadInput
from tests.conftest import fresh_uin
from workflows.model import Notification, PartnerKind, UnbindingRecord, UnbindStatus

ROOT = Path(__file__).resolve().parents[2]
# Every module that opens a database connection.
DATABASE_MODULES = sorted((ROOT / "activities" / "sql").glob("*.py"))
SQL_WORDS = (
    "select ",
    "insert ",
    "update ",
    "delete ",
    "drop ",
    "create ",
    "alter ",
    "pragma ",
    "begin",
    " where ",
    " from ",
    " values",
)
RAW_SQL_CALLS = {"text", "exec_driver_sql", "executescript", "literal_column", "literal"}
ALLOWED_RAW_SQL = {
    "PRAGMA busy_timeout=30000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "BEGIN IMMEDIATE",
    # The readiness ping (SqlPartnerCenter.ping).
    "SELECT 1",
    "BEGIN",  # the readiness check's ping (SqlPartnerCenter.ping)
}


def _looks_like_sql(text: str) -> bool:
    lowered = f" {text.lower()} "
    return any(word in lowered for word in SQL_WORDS)


def _constant_text(node: ast.AST) -> str:
    """The literal text inside a string expression (f-string parts included)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_constant_text(part) for part in node.values)
    if isinstance(node, ast.BinOp):
        return _constant_text(node.left) + _constant_text(node.right)
    return ""


def sql_built_from_text(source: str) -> list[str]:
    """Every place SQL text is assembled from pieces, or raw SQL is run."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.JoinedStr) and _looks_like_sql(_constant_text(node)):
            problems.append(f"{where}: f-string SQL")
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Mod | ast.Add)
            and _looks_like_sql(_constant_text(node))
        ):
            problems.append(f"{where}: SQL built with % or +")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func
            if target.attr == "format" and _looks_like_sql(_constant_text(target.value)):
                problems.append(f"{where}: SQL built with .format")
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in RAW_SQL_CALLS | {"execute"} and node.args:
                first = node.args[0]
                literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
                if name in RAW_SQL_CALLS and not (literal or isinstance(first, ast.IfExp)):
                    problems.append(f"{where}: raw SQL call {name}() on a computed string")
                if literal and first.value not in ALLOWED_RAW_SQL:
                    problems.append(f"{where}: raw SQL {first.value!r}")
                if isinstance(first, ast.IfExp):
                    branches = [first.body, first.orelse]
                    if not all(
                        isinstance(b, ast.Constant) and b.value in ALLOWED_RAW_SQL for b in branches
                    ):
                        problems.append(f"{where}: raw SQL chosen at run time")
    return problems


@pytest.mark.parametrize("module", DATABASE_MODULES, ids=lambda p: p.name)
def test_database_code_never_builds_sql_from_text(module: Path) -> None:
    assert sql_built_from_text(module.read_text()) == []


def test_the_checker_catches_text_built_sql() -> None:
    bad = """
def a(conn, uin):
    conn.execute(text(f"SELECT * FROM accounts WHERE uin = '{uin}'"))
def b(conn, uin):
    conn.exec_driver_sql("DELETE FROM inbox WHERE recipient_uin = '%s'" % uin)
def c(conn, uin):
    conn.execute(text("UPDATE accounts SET frozen = 1 WHERE uin = {}".format(uin)))
def d(conn, uin):
    conn.exec_driver_sql("DROP TABLE " + uin)
def e(cursor):
    cursor.execute("DELETE FROM accounts")
"""
    assert len(sql_built_from_text(bad)) >= 5


def test_every_pragma_the_code_runs_is_on_the_allowed_list() -> None:
    source = "".join(module.read_text() for module in DATABASE_MODULES)
    for statement in ALLOWED_RAW_SQL:
        assert f'"{statement}"' in source


# ---- hostile text through the real partner center ---------------------------------------

HOSTILE = [
    "'; DROP TABLE accounts; --",
    'Robert"); DROP TABLE inbox;--',
    "' OR '1'='1",
    "1; DELETE FROM agreements WHERE 1=1",
    "/* comment */ SELECT * FROM accounts",
    "%s %(name)s {0} ? :uin $1 @p1",
    "back\\slash \\' \\\" quotes \u2019 \u201csmart\u201d",
    "🙂 emoji, עברית, العربية, 中文",
    "x" * 200,
]


def _table_counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= set(metadata.tables)
            return {
                name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in metadata.tables.items()
            }
    finally:
        engine.dispose()


def _record(application_id: str, customer: str, reseller: str, reason: str) -> UnbindingRecord:
    now = datetime.now(UTC)
    return UnbindingRecord(
        application_id=application_id,
        workflow_id=f"unbind-{customer}",
        revision=1,
        customer_uin=customer,
        initiator_uin=reseller,
        reseller_uin=reseller,
        distributor_uin=None,
        status=UnbindStatus.PENDING_CUSTOMER_CONFIRMATION,
        failed_checks=[],
        submitted_at=now,
        notice_acknowledged_by=reseller,
        notice_acknowledged_at=now,
        reason=reason,
        updated_at=now,
    )


def test_hostile_text_is_stored_verbatim_and_every_table_survives(
    partner_center: SqlPartnerCenter, database_url: str
) -> None:
    stored: list[tuple[str, str, str]] = []
    for number, hostile in enumerate(HOSTILE):
        reseller, customer = fresh_uin(), fresh_uin()
        partner_center.add_partner(reseller, kind=PartnerKind.RESELLER, name=hostile)
        partner_center.add_customer(customer, partner_uin=reseller, name=hostile[::-1])
        partner_center.set_account(customer, savings_unit=hostile[:64])
        partner_center.add_discount(customer, hostile)
        application_id = f"app-{number:04d}-hostile"
        partner_center.save_record(_record(application_id, customer, reseller, hostile))
        partner_center.deliver(
            Notification(
                application_id=application_id,
                workflow_id=f"unbind-{customer}",
                event=hostile[:64],
                recipients=(reseller,),
                subject=hostile,
                body=hostile * 3,
                at=datetime.now(UTC),
            )
        )
        partner_center.record_refusal(
            principal=customer,
            method="POST",
            path=f"/applications/{customer}/{hostile}",
            action=hostile[:32],
            customer_uin=customer,
            status_code=422,
            reason=hostile,
        )
        stored.append((reseller, customer, hostile))

    for reseller, customer, hostile in stored:
        assert partner_center.show(reseller)["name"] == hostile
        shown = partner_center.show(customer)
        assert shown["name"] == hostile[::-1]
        assert shown["savings_unit"] == hostile[:64]
        assert shown["discounts"] == [hostile]
        assert partner_center.discounts(customer) == (hostile,)
        assert shown["partner"]["uin"] == reseller
        [record] = partner_center.records(customer)
        assert record.reason == hostile
        [message] = partner_center.inbox(reseller)
        assert (message["event"], message["subject"], message["body"]) == (
            hostile[:64],
            hostile,
            hostile * 3,
        )
    refusals = {refusal.principal: refusal for refusal in partner_center.refusals(limit=1000)}
    for _reseller, customer, hostile in stored:
        refusal = refusals[customer]
        assert (refusal.path, refusal.action, refusal.reason) == (
            f"/applications/{customer}/{hostile}"[:1000],
            hostile[:32],
            hostile[:1000],
        )
    count = len(HOSTILE)
    assert _table_counts(database_url) == {
        "accounts": 2 * count,
        "partners": count,
        "agreements": count,
        "unbinding_records": count,
        "cutovers": 0,
        "discounts": count,
        "inbox": count,
        "audit_refusals": count,
        "account_standing": 0,
        # Each record's acknowledged notice.
        "consent_evidence": count,
    }


# U+0000 is refused by the ledger (see the NUL test below), everything else stored.
_storable_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=200
) | st.sampled_from(HOSTILE)


@pytest.fixture(scope="module")
def shared_partner_center(module_database_url: str) -> Iterator[SqlPartnerCenter]:
    """One database for every generated example: the examples only add rows."""
    with SqlPartnerCenter(module_database_url) as pc:
        yield pc


@settings(max_examples=150, deadline=None)
@given(name=_storable_text, reason=_storable_text)
def test_any_text_round_trips(
    name: str, reason: str, shared_partner_center: SqlPartnerCenter
) -> None:
    pc = shared_partner_center
    reseller, customer = fresh_uin(), fresh_uin()
    pc.add_partner(reseller, kind=PartnerKind.RESELLER, name=name)
    pc.add_customer(customer, partner_uin=reseller)
    pc.save_record(_record(f"app-{customer}", customer, reseller, reason))
    assert pc.show(reseller)["name"] == name
    [record] = pc.records(customer)
    assert record.reason == reason


def test_the_visibility_query_takes_only_validated_values() -> None:
    """The list filter is the one query built as text (Temporal's visibility
    language has no bound parameters); hostile values never reach it."""

    class NoTemporal:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"Temporal was used: {name}")

    client = UnbindingClient(NoTemporal())  # type: ignore[arg-type]
    for hostile in ("1' OR '1'='1", "10000000002' OR WorkflowType != 'x", "PENDING' OR 'a'='a"):
        for keyword in ("reseller_uin", "distributor_uin", "status"):
            with pytest.raises(BadInput) as refused:
                asyncio.run(client.list(**{keyword: hostile}))
            assert refused.value.model_field == keyword


def test_a_nul_character_is_refused_on_every_database_and_nothing_is_written(
    partner_center: SqlPartnerCenter, database_url: str
) -> None:
    # PostgreSQL cannot store U+0000, so the ledger refuses it on SQLite too.
    reseller = fresh_uin()
    partner_center.add_partner(reseller, kind=PartnerKind.RESELLER, name="before")
    before = _table_counts(database_url)

    with pytest.raises(StatementError, match="NUL character"):
        partner_center.add_partner(fresh_uin(), kind=PartnerKind.RESELLER, name="NUL\x00inside")
    with pytest.raises(StatementError, match="NUL character"):
        partner_center.save_record(_record("app-nul", fresh_uin(), reseller, "NUL\x00inside"))

    assert _table_counts(database_url) == before
    assert partner_center.show(reseller)["name"] == "before"
