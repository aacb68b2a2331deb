"""The audit export as a PDF for the data protection authority: the same story as the JSON, laid out."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from services.audit.story import AuditEntry, AuditStory
from services.documents.pdf import PdfDocument


def _when(value: datetime | date | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return value.isoformat()


def _detail(detail: dict[str, Any]) -> str:
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str) if detail else ""


def _events(doc: PdfDocument, events: list[AuditEntry], empty: str) -> None:
    if not events:
        doc.paragraph(empty, size=9)
        return
    doc.table(
        ["When", "Who", "What", "Details"],
        [(_when(e.at), e.actor, e.action, _detail(e.detail)) for e in events],
        widths=(3, 2, 3, 6),
    )


def render_pdf(story: AuditStory) -> bytes:
    request = story.request
    doc = PdfDocument(f"Audit export: request {request.reference}", language="en")
    chain = story.chain
    doc.paragraph(
        f"The whole story of data subject request {request.reference}, generated {_when(story.generated_at)} "
        f"from the request ledger and its hash-chained audit trail ({story.format})."
    )
    doc.heading("Audit trail verification")
    verdict = "INTACT" if chain.intact else "BROKEN"
    doc.key_values(
        [
            ("Chain", f"{verdict}: {chain.events} events"),
            ("Anchored days checked", str(chain.anchored_days)),
        ]
    )
    for link in chain.broken:
        doc.paragraph(f"Broken link at event #{link.seq} (audit id {link.event_id}): {link.problem}.")
    for day in chain.day_mismatches:
        doc.paragraph(
            f"The anchored digest of {day.day.isoformat()} no longer matches "
            f"({day.anchored_events} events anchored, {day.events_now} now)."
        )

    doc.heading("Request")
    doc.key_values(
        [
            ("Reference", request.reference),
            ("Request id", request.id),
            ("Right exercised", request.type),
            ("Channel", request.channel),
            ("Current status", request.status),
            ("Identity assurance", request.assurance or "-"),
            ("Identifiers given", ", ".join(request.identifiers_given) or "-"),
            ("Language", request.language or "-"),
            ("Duplicate of", request.duplicate_of or "-"),
        ]
    )

    doc.heading("Received and verified")
    doc.key_values(
        [
            ("Received", _when(story.received.at)),
            ("Recorded by", story.received.recorded_by or "-"),
            ("Verified", _when(story.verification.verified_at)),
        ]
    )
    _events(doc, story.verification.events, "No identity evidence was recorded.")

    deadline = story.deadline
    doc.heading("Deadline")
    on_time = {None: "not answered yet", True: "yes", False: "no"}[deadline.answered_on_time]
    doc.key_values(
        [
            ("One month from receipt", _when(deadline.first_due_date)),
            ("Due date", _when(deadline.due_date)),
            ("Verification pause", f"{deadline.paused_days} day(s)"),
            ("Paused since", _when(deadline.paused_since)),
            ("Extension", f"{deadline.extension_months} month(s)"),
            ("Reason for the extension", deadline.extension_reason or "-"),
            ("Answered", _when(deadline.answered_at)),
            ("Answered on time", on_time),
        ]
    )
    _events(doc, deadline.events, "No deadline events.")

    doc.heading("Findings per system")
    if story.findings:
        doc.table(
            ["System", "Rows", "Tables", "Categories"],
            [
                (
                    f.system,
                    f.rows,
                    ", ".join(f"{t} ({n})" for t, n in f.tables.items()),
                    ", ".join(f.categories),
                )
                for f in story.findings
            ],
            widths=(3, 1, 5, 5),
        )
    else:
        doc.paragraph("No data was found on the subject.", size=9)

    doc.heading("Decisions and their reasons")
    if story.decisions:
        doc.table(
            ["When", "Who", "Decision", "Reason"],
            [(_when(d.at), d.actor, d.what, d.reason or _detail(d.detail)) for d in story.decisions],
            widths=(3, 2, 3, 6),
        )
    else:
        doc.paragraph("No decisions recorded.", size=9)

    doc.heading("Artifacts")
    if story.artifacts:
        doc.table(
            ["Kind", "File", "Size", "Stored", "Purged", "Links", "Downloads"],
            [
                (
                    a.kind,
                    a.filename,
                    f"{a.size} B",
                    _when(a.created_at),
                    _when(a.purged_at),
                    a.links_issued,
                    a.downloads,
                )
                for a in story.artifacts
            ],
            widths=(3, 4, 2, 3, 3, 1, 2),
        )
    else:
        doc.paragraph("No artifacts.", size=9)

    doc.heading("Notifications")
    _events(doc, story.notifications, "No notifications recorded.")

    doc.heading("Status history")
    doc.table(
        ["When", "Status", "Who", "Reason"],
        [(_when(h.at), h.status, h.actor, h.reason or "") for h in story.status_history],
        widths=(3, 3, 2, 6),
    )

    for table, rows in story.records.items():
        doc.heading(f"Records: {table}", level=3)
        doc.table(None, [(_detail(row),) for row in rows], size=7.5)

    doc.heading("Full audit trail")
    broken = {link.seq for link in chain.broken}
    doc.table(
        ["#", "When", "Who", "What", "Details", "Hash"],
        [
            (
                f"{e.seq} BROKEN" if e.seq in broken else e.seq,
                _when(e.at),
                e.actor,
                e.action,
                _detail(e.detail),
                (e.hash or "")[:16],
            )
            for e in story.audit_trail
        ],
        widths=(2, 3, 2, 3, 6, 3),
        size=7.5,
    )
    return doc.to_bytes()
