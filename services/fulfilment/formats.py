"""The extract in every format it is delivered in, from the one `Extract` model. Pure.

JSON for machines, HTML (the request's language) for the screen, PDF for post, and for
portability (Art. 20) a zip with the JSON and one CSV per table.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

from schemas.extract import Extract
from services.documents.pdf import PdfDocument
from services.documents.templates import environment, long_date
from services.fulfilment.texts import texts

PACKAGE = "services.fulfilment"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def to_json(extract: Extract) -> bytes:
    return json.dumps(extract.model_dump(mode="json"), ensure_ascii=False, indent=2).encode()


def _title(extract: Extract) -> str:
    words = texts(extract.language)
    return words.portability_title if extract.kind == "portability" else words.title


def to_html(extract: Extract) -> str:
    words = texts(extract.language)
    template = environment(PACKAGE).get_template("extract.html.j2")
    return template.render(extract=extract, texts=words, labels=words.labels, title=_title(extract))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def to_pdf(extract: Extract) -> bytes:
    """The same content as the HTML, laid out for print."""
    words = texts(extract.language)
    labels, language = words.labels, extract.language
    pdf = PdfDocument(_title(extract), language=language, author=extract.controller)
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
    for record in extract.records:
        pdf.heading(f"{record.system_title}: {record.table}", level=3)
        if record.data:
            pdf.table(
                (labels["field"], labels["value"]),
                [(field, _text(value)) for field, value in record.data.items()],
                widths=(1, 2),
            )
        retention = (
            f"{labels['kept_until']}: {long_date(record.retention.date, language)}"
            if record.retention.date
            else f"{labels['kept_while']}: {record.retention.until}"
        )
        sources = ([labels["from_you"]] if record.collected_from_subject else []) + record.source
        rows = [
            (labels["purpose"], record.purpose),
            (labels["legal_basis"], ", ".join(record.legal_basis)),
            (labels["categories"], ", ".join(record.categories)),
            (labels["recipients"], "; ".join(record.recipients) or labels["none"]),
            (labels["retention"], f"{record.retention.rule}\n{retention}"),
            (labels["source"], "; ".join(sources)),
        ]
        if record.automated_decision:
            decision = record.automated_decision
            rows.append(
                (
                    labels["automated"],
                    f"{labels['logic']}: {decision.logic}\n{labels['significance']}: {decision.significance}",
                )
            )
        if record.special_category:
            rows.append((labels["special"], ", ".join(record.special_category)))
        if record.withheld_special_category:
            rows.append((labels["withheld"], ", ".join(record.withheld_special_category)))
        if record.redacted:
            rows.append((labels["redacted"], ", ".join(r.field for r in record.redacted)))
        pdf.key_values(rows)
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
