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
        "manual": "Utført manuelt",
        "manual_text": "Disse systemene har ikke grensesnitt; en saksbehandler har gjort endringene for hånd.",
        "manual_erase": "{system}: {who} bekreftet {when} at slettingen er utført manuelt.",
        "manual_restrict": "{system}: {who} bekreftet {when} at begrensningen er utført manuelt.",
        "manual_erased": "Slettet",
        "manual_kept": "Beholdt",
        "purposes": "Formål som er stanset, og formål som fortsetter",
        "purposes_text": (
            "Du trakk tilbake samtykket ditt. Behandlingen som bygde på samtykket, er stanset; "
            "behandling med et annet rettslig grunnlag fortsetter."
        ),
        "stopped": "Stanset",
        "continuing": "Fortsetter",
        "on_basis": "grunnlag: {basis}",
        "stops_checked": "Vi leste {count} poster på nytt etter endringen: det som bare var gitt for de stansede formålene, er fjernet.",
        "stops_failed": "{count} poster viser fortsatt det som skulle vært stanset; en saksbehandler følger opp.",
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
        "manual": "Carried out by hand",
        "manual_text": "These systems have no interface; an agent made the changes by hand.",
        "manual_erase": "{system}: {who} confirmed on {when} that the erasure was carried out by hand.",
        "manual_restrict": "{system}: {who} confirmed on {when} that the restriction was carried out by hand.",
        "manual_erased": "Erased",
        "manual_kept": "Kept",
        "purposes": "Purposes stopped, and purposes that continue",
        "purposes_text": (
            "You withdrew your consent. The processing that rested on it has stopped; processing on "
            "another legal basis goes on."
        ),
        "stopped": "Stopped",
        "continuing": "Continues",
        "on_basis": "basis: {basis}",
        "stops_checked": "We read {count} records again after the change: what was given only for the stopped purposes is gone from them.",
        "stops_failed": "{count} records still show what should have stopped; a person follows up.",
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
        manual_lines=manual_lines,
        purpose_lines=purpose_lines,
        stops_sentence=stops_sentence,
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
    if content.get("manual"):
        doc.heading(t["manual"])
        doc.paragraph(t["manual_text"])
        for line in manual_lines(content["manual"], language):
            doc.paragraph(f"- {line}")
    if content.get("purposes"):
        doc.heading(t["purposes"])
        doc.paragraph(t["purposes_text"])
        for line in purpose_lines(content["purposes"], language):
            doc.paragraph(f"- {line}")
    doc.heading(t["rescan"])
    rescan = content["rescan"]
    doc.paragraph(
        t["rescan_clean"].format(found=rescan["found"])
        if rescan["clean"]
        else t["rescan_unclean"].format(count=len(rescan["unexpected"]))
    )
    if rescan.get("stops_checked"):
        doc.paragraph(stops_sentence(rescan, language))
    expected = rescan.get("expected", [])
    if expected:
        doc.paragraph(t["rescan_expected"].format(count=len(expected)))
        for why in expected_reasons(expected, language):
            doc.paragraph(f"- {why}")
    if content["recipients_notified"]:  # as the HTML: whom we told (Art. 19), by the catalogue's names
        doc.heading(t["recipients"])
        for name in content["recipients_notified"]:
            doc.paragraph(f"- {name}")
    return doc.to_bytes()


def expected_reasons(expected: list[dict[str, Any]], language: Language) -> list[str]:
    """The distinct reasons anonymised rows were found again, in the order first given."""
    return list(dict.fromkeys(e["reason"][language] for e in expected))


def manual_lines(confirmations: list[dict[str, Any]], language: Language) -> list[str]:
    """One sentence per system an agent changed by hand: which, who confirmed it, when, counts."""
    t = TEXTS[language]
    lines = []
    for m in confirmations:
        text = t["manual_restrict" if m["action"] == "restrict" else "manual_erase"].format(
            system=m["system_title"],
            who=m["confirmed_by"],
            when=long_date(datetime.fromisoformat(m["confirmed_at"]), language),
        )
        counts = [f"{t['manual_' + k]}: {m['counts'][k]}" for k in ("erased", "kept") if k in m["counts"]]
        lines.append(f"{text} {'. '.join(counts)}." if counts else text)
    return lines


def purpose_lines(purposes: list[dict[str, Any]], language: Language) -> list[str]:
    """One sentence per table where a withdrawn consent stopped purposes: which stopped, which
    continue, each with its basis in words."""
    t = TEXTS[language]

    def listed(items: list[dict[str, Any]]) -> str:
        return "; ".join(
            f"{p['purpose'].rstrip('.')} ({t['on_basis'].format(basis=p['basis'][language])})" for p in items
        )

    lines = []
    for line in purposes:
        text = (
            f"{line['system_title']}, {line['description'].rstrip('.')} ({line['records']}): "
            f"{t['stopped']}: {listed(line['stopped'])}."
        )
        if line["continuing"]:
            text += f" {t['continuing']}: {listed(line['continuing'])}."
        lines.append(text)
    return lines


def stops_sentence(rescan: dict[str, Any], language: Language) -> str:
    t = TEXTS[language]
    failed = rescan.get("unstopped", [])
    if failed:
        return t["stops_failed"].format(count=len(failed))
    return t["stops_checked"].format(count=rescan["stops_checked"])
