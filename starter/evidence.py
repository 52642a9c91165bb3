"""One application's consent evidence, for an auditor without access to
Temporal: who acknowledged or decided what, when, through which principal,
on which text (its version and SHA-256, and the text itself so the hash can be
checked), from the database alone (``activities.sql.evidence``). As JSON, and
as a readable page in Markdown or HTML (``unbind evidence``,
``GET /applications/{customer}/evidence``)."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from activities.sql.evidence import EvidenceStore
from starter.errors import Refused
from workflows.model import UnbindingRecord
from workflows.notice import VERSIONS, sha256_of, text_with_hash
from workflows.texts import markdown_text, one_line

WHAT = {
    "notice": "acknowledged the unbinding notice",
    "review": "reviewed",
    "confirm": "confirmed the unbinding",
    "reject": "rejected the unbinding",
}
UNSIGNED = "none (unsigned: the actor as stated)"
HOW_TO_CHECK = (
    "Each text's SHA-256 is that of its UTF-8 bytes exactly as given here: "
    "recompute it (e.g. sha256sum) and compare with the hash each event recorded."
)


class EvidenceFormat(StrEnum):
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _role(actor: str, record: UnbindingRecord) -> str:
    if actor.startswith("operator:"):
        return "operator"
    if actor == record.customer_uin:
        return "customer"
    if actor == record.distributor_uin:
        return "distributor"
    if actor == record.initiator_uin:
        return "initiator"
    if actor == record.reseller_uin:
        return "reseller"
    return "submitter (sub-user of the initiator)"


def _what(row: dict[str, Any]) -> str:
    if row["action"] == "review":
        return "approved the application" if row["approve"] else "rejected the application"
    if row["action"] == "reseller_review":
        verdict = "approved" if row["approve"] else "rejected"
        return f"{verdict} the customer's request"
    return WHAT.get(row["action"], row["action"])


def evidence(
    store: EvidenceStore, customer_uin: str, application_id: str | None = None
) -> dict[str, Any]:
    """The evidence as JSON-ready data; :class:`Refused` when there is no such application."""
    found = store.evidence_of(customer_uin, application_id)
    if found is None:
        which = f"application {application_id}" if application_id else "application"
        raise Refused(f"no {which} for customer {customer_uin} in the records")
    record: UnbindingRecord = found["record"]
    texts: dict[str, dict[str, Any]] = {}
    events = []
    for row in found["consents"]:
        sha = row["text_sha256"]
        known = text_with_hash(sha) if sha else None
        if known is not None:
            version, consent = known
            text = version.texts[consent]
            texts[sha] = {
                "version": version.version,
                "consent": consent.value,
                "text": text,
                "sha256_matches": sha256_of(text) == sha,
            }
        events.append(
            {
                "at": _iso(row["at"]),
                "actor": row["actor"],
                "role": _role(row["actor"], record),
                "did": _what(row),
                "principal": row["principal"],
                "action_id": row["action_id"],
                "text_version": row["text_version"],
                "text_sha256": sha,
                "text_known": known is not None,
                "reason": row["reason"],
            }
        )
    return {
        "application": {
            "application_id": record.application_id,
            "workflow_id": record.workflow_id,
            "customer_uin": record.customer_uin,
            "initiator_uin": record.initiator_uin,
            "reseller_uin": record.reseller_uin,
            "distributor_uin": record.distributor_uin,
            "status": record.status.value,
            "submitted_at": _iso(record.submitted_at),
            "effective_at": _iso(record.effective_at),
            "reason": record.reason,
        },
        "events": events,
        "texts": texts,
        "messages": [
            {
                "at": _iso(m["at"]),
                "recipient": m["recipient_uin"],
                "event": m["event"],
                "subject": m["subject"],
                "body_sha256": sha256_of(m["body"]),
            }
            for m in found["messages"]
        ],
        "refused_attempts": [
            {
                "at": _iso(r["at"]),
                "principal": r["principal"],
                "action": r["action"],
                "status_code": r["status_code"],
                "reason": r["reason"],
            }
            for r in found["refusals"]
        ],
        "how_to_check": HOW_TO_CHECK,
        "versions_known": sorted(VERSIONS),
    }


# ---- the readable page ----------------------------------------------------------

Table = tuple[list[str], list[list[str]]]
EVENT_COLUMNS = [
    "when (UTC)",
    "who",
    "role",
    "did",
    "principal",
    "action id",
    "text version",
    "text SHA-256",
    "reason",
]


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def tables(data: dict[str, Any]) -> dict[str, Table]:
    """The page's tables (head, rows), the same in Markdown and HTML."""
    app = data["application"]
    facts = ["customer", "initiator", "distributor", "workflow", "status", "submitted", "effective"]
    keys = ["customer_uin", "initiator_uin", "distributor_uin", "workflow_id", "status"]
    events = []
    for e in data["events"]:
        unknown = "" if e["text_known"] or not e["text_sha256"] else " (not a known text)"
        events.append(
            [
                _cell(e["at"]),
                e["actor"],
                e["role"],
                e["did"],
                e["principal"] or UNSIGNED,
                _cell(e["action_id"]),
                _cell(e["text_version"]),
                (e["text_sha256"] or "none recorded") + unknown,
                _cell(e["reason"]),
            ]
        )
    message_keys = ("at", "recipient", "event", "subject", "body_sha256")
    refusal_keys = ("at", "principal", "action", "status_code", "reason")
    return {
        "The application": (
            facts,
            [[_cell(app[k]) for k in (*keys, "submitted_at", "effective_at")]],
        ),
        "Who acknowledged or decided what": (
            EVENT_COLUMNS,
            events,
        ),
        "Messages sent": (
            ["when (UTC)", "to", "event", "subject", "body SHA-256"],
            [[_cell(m[k]) for k in message_keys] for m in data["messages"]],
        ),
        "Refused attempts (HTTP API)": (
            ["when (UTC)", "principal", "action", "status", "reason"],
            [[_cell(r[k]) for k in refusal_keys] for r in data["refused_attempts"]],
        ),
    }


def _matches(text: dict[str, Any]) -> str:
    return "matches" if text["sha256_matches"] else "DOES NOT match"


def as_markdown(data: dict[str, Any]) -> str:
    """The evidence as a Markdown page; every recorded value is escaped
    (``markdown_text``), the texts are shown verbatim in indented blocks."""
    esc = markdown_text
    lines = [f"# Consent evidence: application {esc(data['application']['application_id'])}"]
    for title, (head, rows) in tables(data).items():
        lines += ["", f"## {title}", ""]
        if not rows:
            lines.append("none")
            continue
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(esc(cell) for cell in row) + " |" for row in rows]
    lines += ["", "## The texts", "", esc(data["how_to_check"])]
    for sha, text in data["texts"].items():
        lines += [
            "",
            f"### {esc(text['consent'])}, version {esc(text['version'])}",
            "",
            f"SHA-256 `{sha}` ({_matches(text)} the text)",
            "",
            *(f"    {line}" for line in text["text"].splitlines()),
        ]
    return "\n".join(lines) + "\n"


def as_html(data: dict[str, Any]) -> str:
    """The evidence as a self-contained HTML page; every value escaped."""

    def esc(value: object) -> str:
        return html.escape(one_line(str(value)))

    parts = []
    for title, (head, rows) in tables(data).items():
        header = "".join(f"<th>{esc(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
        parts.append(f"<h2>{esc(title)}</h2><table><tr>{header}</tr>{body}</table>")
    parts.append(f"<h2>The texts</h2><p>{esc(data['how_to_check'])}</p>")
    for sha, text in data["texts"].items():
        parts.append(
            f"<h3>{esc(text['consent'])}, version {esc(text['version'])}</h3>"
            f"<p>SHA-256 <code>{esc(sha)}</code> ({_matches(text)} the text)</p>"
            f"<pre>{html.escape(text['text'])}</pre>"
        )
    title = f"Consent evidence: application {esc(data['application']['application_id'])}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        "<style>table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}"
        f"pre{{white-space:pre-wrap}}</style></head><body><h1>{title}</h1>"
        + "".join(parts)
        + "</body></html>\n"
    )


def rendered(data: dict[str, Any], form: EvidenceFormat) -> str:
    if form is EvidenceFormat.MARKDOWN:
        return as_markdown(data)
    if form is EvidenceFormat.HTML:
        return as_html(data)
    raise ValueError(f"{form} is not a page")
