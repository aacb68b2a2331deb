"""The certificate for people: HTML from a Jinja2 template, and PDF, through `services.documents`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.documents.pdf import PdfDocument
from services.documents.templates import Language, long_date, render

TEXTS: dict[str, dict[str, str]] = {
    "nb": {
        "title": "Sletteattest",
        "reference": "Referanse",
        "executed": "Utført",
        "summary": "Slettet: {erased}. Anonymisert: {anonymised}. Beholdt: {kept}. Sendt videre: {referred}.",
        "erased": "Slettet",
        "anonymised": "Anonymisert",
        "kept": "Beholdt, og hvorfor",
        "referred": "Sendt videre til den behandlingsansvarlige",
        "referred_text": "Vi behandler disse opplysningene på vegne av kunden, som avgjør kravet ditt:",
        "system": "System",
        "record": "Opplysning",
        "why": "Begrunnelse",
        "until": "Til",
        "basis": "Rettslig grunnlag",
        "restricted": "(sperret)",
        "rescan": "Kontrollsøk etter sletting",
        "rescan_clean": "Et nytt søk i alle systemer fant bare det vi har beholdt ({found} poster).",
        "rescan_unclean": "Et nytt søk fant {count} poster som skulle vært slettet; en saksbehandler følger opp.",
        "rescan_expected": (
            "{count} av postene som ble funnet, er poster vi har anonymisert, nådd igjen bare gjennom "
            "en annen post; de inneholder ikke lenger egne personopplysninger."
        ),
        "recipients": "Mottakere som er varslet",
    },
    "en": {
        "title": "Erasure certificate",
        "reference": "Reference",
        "executed": "Carried out",
        "summary": "Erased: {erased}. Anonymised: {anonymised}. Kept: {kept}. Referred: {referred}.",
        "erased": "Erased",
        "anonymised": "Anonymised",
        "kept": "Kept, and why",
        "referred": "Referred to the controller",
        "referred_text": "We hold this data on behalf of a client, who decides on your request:",
        "system": "System",
        "record": "Record",
        "why": "Reason",
        "until": "Until",
        "basis": "Legal basis",
        "restricted": "(restricted)",
        "rescan": "Check after erasure",
        "rescan_clean": "A new search of every system found only what we kept ({found} records).",
        "rescan_unclean": "A new search found {count} records that should have gone; a person follows up.",
        "rescan_expected": (
            "{count} of the records found are ones we anonymised, reached again only through another "
            "record; they hold no personal data of their own any more."
        ),
        "recipients": "Recipients told",
    },
}


def certificate_html(content: dict[str, Any], language: Language) -> str:
    executed_at = datetime.fromisoformat(content["executed_at"])
    return render(
        "services.erasure",
        "certificate.html.j2",
        c=content,
        language=language,
        texts=TEXTS,
        executed_at=executed_at,
        expected_reasons=expected_reasons,
    )


def certificate_pdf(content: dict[str, Any], language: Language) -> bytes:
    t = TEXTS[language]
    doc = PdfDocument(f"{t['title']} {content['reference']}", language=language)
    executed = long_date(datetime.fromisoformat(content["executed_at"]), language)
    doc.key_values([(t["reference"], content["reference"]), (t["executed"], executed)])
    doc.paragraph(t["summary"].format(**content["summary"]))
    for group in ("erased", "anonymised"):
        if content[group]:
            doc.heading(t[group])
            doc.table(
                [t["system"], t["record"], t["why"]],
                [(e["system_title"], e["description"], e["reason"][language]) for e in content[group]],
                widths=(1, 2, 2),
            )
    if content["kept"]:
        doc.heading(t["kept"])
        doc.table(
            [t["system"], t["record"], t["why"], t["until"]],
            [
                (
                    e["system_title"],
                    e["description"],
                    e["reason"][language],
                    e["until"] or e["while"][language],
                )
                for e in content["kept"]
            ],
            widths=(1, 2, 3, 1),
        )
    if content["referred"]:
        doc.heading(t["referred"])
        names = [n for names in content["controllers"].values() for n in names]
        doc.paragraph(t["referred_text"] + " " + ", ".join(names))
    doc.heading(t["rescan"])
    rescan = content["rescan"]
    doc.paragraph(
        t["rescan_clean"].format(found=rescan["found"])
        if rescan["clean"]
        else t["rescan_unclean"].format(count=len(rescan["unexpected"]))
    )
    expected = rescan.get("expected", [])
    if expected:
        doc.paragraph(t["rescan_expected"].format(count=len(expected)))
        for why in expected_reasons(expected, language):
            doc.paragraph(f"- {why}")
    return doc.to_bytes()


def expected_reasons(expected: list[dict[str, Any]], language: Language) -> list[str]:
    """The distinct reasons anonymised rows were found again, in the order first given."""
    return list(dict.fromkeys(e["reason"][language] for e in expected))
