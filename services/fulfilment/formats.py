"""The extract in every format it is delivered in, from the one `Extract` model. Pure.

JSON for machines, HTML (the request's language) for the screen, PDF for post, and for
portability (Art. 20) a zip with the JSON and one CSV per table.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from typing import Any

from fpdf.enums import XPos, YPos

from schemas.extract import Extract, ExtractRecord, RecordPurpose
from services.documents.pdf import _FONT, PdfDocument
from services.documents.templates import environment, long_date
from services.fulfilment.texts import Texts, texts

PACKAGE = "services.fulfilment"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_PT_TO_MM = 25.4 / 72


def to_json(extract: Extract) -> bytes:
    return extract.model_dump_json(indent=2).encode()


def _title(extract: Extract) -> str:
    words = texts(extract.language)
    return words.portability_title if extract.kind == "portability" else words.title


def redaction_lines(record: ExtractRecord, words: Texts) -> list[tuple[str, str]]:
    """What was left out of the record about other people, as (label, text) lines: the fields
    left out, what was withheld inside each free text (kind and count), the texts withheld whole."""
    labels = words.labels
    fields = [r.field for r in record.redacted if r.reason == "another_person"]
    in_text: dict[str, list[str]] = {}
    for r in record.redacted:
        if r.reason == "another_persons_identifier" and r.withheld:
            in_text.setdefault(r.field, []).append(f"{words.withheld_kinds[r.withheld]} ({r.count or 1})")
    whole = [r.field for r in record.redacted if r.reason == "mentions_another_person"]
    lines = [(labels["redacted"], ", ".join(fields))] if fields else []
    lines += [
        (labels["redacted_in_text"], f"{field}: {', '.join(kinds)}") for field, kinds in in_text.items()
    ]
    lines += [(labels["redacted_text"], ", ".join(whole))] if whole else []
    return lines


def purpose_status(purpose: RecordPurpose, language: str) -> str:
    """Whether a purpose goes on for the record or stopped: when, why and, where known, on which
    request."""
    words = texts(language)
    stopped = purpose.stopped
    if stopped is None:
        return words.labels["continues"]
    line = words.stopped_on.format(
        date=long_date(stopped.on, "en" if language == "en" else "nb"), because=stopped.because_text
    )
    if stopped.request_reference:
        line += f" ({words.labels['request']} {stopped.request_reference})"
    return line


def purpose_basis(purpose: RecordPurpose) -> str:
    """'GDPR Art. 6(1)(f): our legitimate interest'."""
    return f"{purpose.legal_basis}: {purpose.basis}"


def to_html(extract: Extract) -> str:
    words = texts(extract.language)
    template = environment(PACKAGE).get_template("extract.html.j2")
    return template.render(
        extract=extract,
        texts=words,
        labels=words.labels,
        title=_title(extract),
        redactions=lambda record: redaction_lines(record, words),
        purpose_status=lambda purpose: purpose_status(purpose, extract.language),
        purpose_basis=purpose_basis,
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class _ExtractPdf(PdfDocument):
    """Adds a fast `lines` block: a record's fields as one line each (wrapped only when too long).

    fpdf2's tables and multi-cells lay out every cell with line breaking, about 1 ms a cell; an
    extract of 200 records has thousands of fields, so a line that fits is placed as plain text
    (measured ~30x cheaper than a table cell).
    """

    def lines(self, pairs: Iterable[tuple[str, str]], size: float = 8.5, indent: float = 0) -> None:
        pdf = self._pdf
        pdf.set_font(_FONT, "", size)
        height = size * 0.45
        width = pdf.epw - indent
        for label, value in pairs:
            text = f"{label}: {value}" if label else value
            pdf.set_x(pdf.l_margin + indent)
            surely_fits = len(text) * size * _PT_TO_MM <= width  # no glyph is wider than 1 em
            if "\n" not in text and (surely_fits or pdf.get_string_width(text) <= width):
                if pdf.y + height > pdf.page_break_trigger:
                    pdf.add_page()
                pdf.text(pdf.l_margin + indent, pdf.y + 0.75 * height, text)
                pdf.set_y(pdf.y + height)
            else:
                pdf.multi_cell(width, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)


def to_pdf(extract: Extract) -> bytes:
    """The same content as the HTML, laid out for print: what is said per table (purpose, legal
    basis, recipients, retention rule, source) once per table, then each record's fields."""
    words = texts(extract.language)
    labels, language = words.labels, extract.language
    pdf = _ExtractPdf(_title(extract), language=language, author=extract.controller)
    pdf.paragraph(words.intro)
    pdf.key_values(
        [
            (labels["reference"], extract.reference),
            (labels["controller"], extract.controller),
            (labels["received"], long_date(extract.received_at, language)),
            (labels["generated"], long_date(extract.generated_at, language)),
        ]
    )
    pdf.paragraph(extract.summary, size=11)
    if extract.records:
        pdf.heading(labels["records"])
    groups: dict[tuple[str, str], list[ExtractRecord]] = {}
    for record in extract.records:
        groups.setdefault((record.system, record.table), []).append(record)
    for group in groups.values():
        first = group[0]
        pdf.heading(f"{first.system_title}: {first.table} ({len(group)})", level=3)
        if first.description:
            pdf.lines([("", first.description)], size=9)
        sources = ([labels["from_you"]] if first.collected_from_subject else []) + first.source
        purposes = dict.fromkeys((p.purpose, purpose_basis(p)) for r in group for p in r.purposes)
        said = (
            [(labels["purpose"], f"{purpose} ({basis})") for purpose, basis in purposes]
            if purposes
            else [
                (labels["purpose"], first.purpose),
                (labels["legal_basis"], ", ".join(first.legal_basis)),
            ]
        )
        about = [
            *said,
            (labels["recipients"], "; ".join(first.recipients) or labels["none"]),
            (labels["retention"], first.retention.rule),
            (labels["source"], "; ".join(sources)),
        ]
        if first.automated_decision:
            about.append((labels["automated"], ""))
            about.append((labels["logic"], first.automated_decision.logic))
            about.append((labels["significance"], first.automated_decision.significance))
        pdf.lines(about, size=9)
        for number, record in enumerate(group, start=1):
            retention = (
                f"{labels['kept_until']}: {long_date(record.retention.date, language)}"
                if record.retention.date
                else f"{labels['kept_while']}: {record.retention.until}"
            )
            rows = [("", f"{number}.")]
            rows += [(field, _text(value)) for field, value in record.data.items()]
            rows.append((labels["categories"], ", ".join(record.category_names or record.categories)))
            rows.append(("", retention))
            if any(p.stopped for p in record.purposes):  # what goes on for this record, what stopped
                rows += [
                    (purpose_status(p, language), f"{p.purpose} ({purpose_basis(p)})")
                    for p in record.purposes
                ]
            if record.special_category:
                rows.append((labels["special"], ", ".join(record.special_category)))
            if record.withheld_special_category:
                rows.append((labels["withheld"], ", ".join(record.withheld_special_category)))
            rows += redaction_lines(record, words)
            pdf.lines(rows, indent=4)
    if extract.referred_to_controllers:
        pdf.heading(labels["referred"])
        for referral in extract.referred_to_controllers:
            pdf.heading(referral.system_title, level=3)
            pdf.paragraph(referral.why)
            pdf.key_values(
                [
                    (labels["controllers"], "; ".join(referral.controllers)),
                    (labels["count"], str(referral.record_count)),
                ]
            )
    if extract.recipients_notified:
        pdf.heading(labels["notified"])
        pdf.paragraph(words.notified_intro)
        for notice in extract.recipients_notified:
            pdf.lines(
                [
                    ("", notice.recipient),
                    (labels["change"], notice.change_text),
                    (labels["table"], "; ".join(f"{t.system_title}: {t.table}" for t in notice.tables)),
                    (labels["count"], str(notice.record_count)),
                    (labels["notified_at"], long_date(notice.notified_at, language)),
                    (labels["earlier_request"], notice.request_reference),
                ],
                indent=4,
            )
    pdf.heading(labels["rights"])
    for right in extract.rights:
        pdf.paragraph(f"{right.article}: {right.text}")
    pdf.heading(labels["complaint"])
    pdf.paragraph(f"{extract.complaint.text} {extract.complaint.authority}: {extract.complaint.url}")
    pdf.heading(labels["dpo"])
    dpo = extract.data_protection_officer
    pdf.key_values(
        [
            (labels["dpo"], dpo.name),
            (labels["email"], dpo.email),
            *([(labels["phone"], dpo.phone)] if dpo.phone else []),
            *([(labels["address"], dpo.address)] if dpo.address else []),
        ]
    )
    return pdf.to_bytes()


def _csv(rows: list[dict[str, Any]]) -> bytes:
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: _text(row.get(c)) for c in columns})
    return out.getvalue().encode("utf-8-sig")  # the BOM makes spreadsheet programs read UTF-8


def to_portability_zip(extract: Extract) -> bytes:
    """`extract.json` plus `<system>.<table>.csv` per table (the subject's own fields)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for record in extract.records:
        tables.setdefault(f"{record.system}.{record.table}", []).append(record.data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in [("extract.json", to_json(extract))] + [
            (f"{table}.csv", _csv(rows)) for table, rows in sorted(tables.items())
        ]:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()
