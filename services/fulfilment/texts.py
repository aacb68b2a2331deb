"""What the extract says in words, in Norwegian bokmål and English (the request's language).

The catalogue's own texts (purposes, retention rules, recipients) are written once, in English, and
appear as written; everything the extract adds around them is here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Language = Literal["nb", "en"]


@dataclass(frozen=True)
class Texts:
    title: str
    portability_title: str
    intro: str
    summary_none: str
    summary_some: str
    referral_why: str
    kept_while_purpose: str
    until_case_closed: str
    until_relationship_ends: str
    until_unsubscribed: str
    until_controller: str
    until_purpose: str
    until_unknown: str
    rights: dict[str, str]
    complaint: str
    notified_intro: str
    changes: dict[str, str]
    labels: dict[str, str]
    withheld_marker: str
    """What stands in a free text where another person's identifier was (`{what}`: the kind)."""
    withheld_kinds: dict[str, str]
    """`free_text.Withheld` kinds, as the marker and the extract's list name them."""
    withheld_text: str
    """What stands for a whole free text a reviewer withheld because it is about someone else."""
    stop_reasons: dict[str, str]
    """Why a purpose stopped for a record (`PurposeStopped.because`), in words."""
    stopped_on: str
    """A stopped purpose's status: `{date}`, `{because}`; `{reference}` is added after it when known."""

    def summary(self, count: int) -> str:
        return self.summary_none if count == 0 else self.summary_some.format(count=count)


RIGHT_ARTICLES = {
    "access": "GDPR Art. 15",
    "rectification": "GDPR Art. 16",
    "erasure": "GDPR Art. 17",
    "restriction": "GDPR Art. 18",
    "portability": "GDPR Art. 20",
    "objection": "GDPR Art. 21",
}

DATATILSYNET = "Datatilsynet"
DATATILSYNET_URL = "https://www.datatilsynet.no"

_NB = Texts(
    title="Innsyn i personopplysninger",
    portability_title="Dataportabilitet: opplysninger du har gitt oss",
    intro=(
        "Her er alle opplysningene vi har registrert om deg, med formålet, det rettslige grunnlaget, "
        "hvem opplysningene deles med, hvor lenge de lagres og hvor de kommer fra."
    ),
    summary_none="Vi har ingen personopplysninger om deg registrert.",
    summary_some="Vi har {count} registreringer om deg.",
    referral_why=(
        "Vi behandler disse opplysningene kun som databehandler for oppdragsgiveren, som er "
        "behandlingsansvarlig. Forespørselen din er sendt videre til dem."
    ),
    kept_while_purpose="Lagres så lenge formålet varer.",
    until_case_closed="så lenge saken er åpen; datoen fastsettes når saken avsluttes",
    until_relationship_ends="så lenge forholdet til virksomheten varer",
    until_unsubscribed="til du melder deg av",
    until_controller="så lenge den behandlingsansvarlige bestemmer",
    until_purpose="så lenge formålet varer",
    until_unknown="datoen kan ikke beregnes ennå",
    rights={
        "access": "Du kan be om innsyn i hva vi har registrert om deg, slik du har gjort nå.",
        "rectification": "Du kan be oss rette uriktige opplysninger og fullføre ufullstendige opplysninger.",
        "erasure": (
            "Du kan be oss slette opplysninger vi ikke lenger trenger eller ikke har grunnlag for å "
            "beholde; der loven krever at vi beholder dem, forteller vi deg hvorfor og hvor lenge."
        ),
        "restriction": "Du kan be oss begrense behandlingen, slik at opplysningene bare lagres og ikke brukes.",
        "objection": (
            "Du kan protestere mot behandling som bygger på vår berettigede interesse, og når som "
            "helst mot direkte markedsføring."
        ),
        "portability": (
            "Du kan få utlevert opplysningene du selv har gitt oss, og som behandles på grunnlag av "
            "samtykke eller avtale, i et maskinlesbart format, eller få dem overført til en annen "
            "behandlingsansvarlig."
        ),
    },
    complaint=(
        "Du kan klage til Datatilsynet hvis du mener at vi behandler personopplysningene dine i strid "
        "med regelverket."
    ),
    notified_intro=(
        "Når vi har rettet, slettet eller begrenset opplysninger om deg, har vi varslet mottakerne "
        "vi har utlevert dem til (personvernforordningen art. 19). Disse er varslet:"
    ),
    changes={
        "rectified": "retting",
        "erased": "sletting",
        "anonymised": "anonymisering",
        "restricted": "begrensning",
    },
    labels={
        "notified": "Mottakere vi har varslet om endringer",
        "recipient": "Mottaker",
        "change": "Endring",
        "notified_at": "Varslet",
        "earlier_request": "Forespørsel",
        "reference": "Saksnummer",
        "received": "Mottatt",
        "generated": "Laget",
        "controller": "Behandlingsansvarlig",
        "records": "Registrerte opplysninger",
        "system": "System",
        "table": "Register",
        "data": "Opplysninger",
        "field": "Felt",
        "value": "Verdi",
        "categories": "Kategorier",
        "purpose": "Formål",
        "legal_basis": "Rettslig grunnlag",
        "recipients": "Mottakere",
        "retention": "Lagringstid",
        "kept_until": "Slettes eller anonymiseres senest",
        "kept_while": "Lagres",
        "source": "Kilde",
        "from_you": "Fra deg",
        "automated": "Automatiserte avgjørelser (art. 22)",
        "logic": "Logikken",
        "significance": "Betydning for deg",
        "special": "Særlige kategorier (art. 9), frigitt etter manuell vurdering",
        "withheld": "Særlige kategorier holdt tilbake etter manuell vurdering",
        "redacted": "Utelatt fordi det gjelder en annen person (art. 15 nr. 4)",
        "redacted_in_text": "Holdt tilbake i teksten fordi det gjelder en annen person (art. 15 nr. 4)",
        "redacted_text": "Teksten holdt tilbake etter manuell vurdering fordi den omtaler en annen person (art. 15 nr. 4)",
        "referred": "Opplysninger vi behandler for andre",
        "controllers": "Behandlingsansvarlig",
        "count": "Antall",
        "rights": "Dine rettigheter",
        "complaint": "Klage",
        "dpo": "Personvernombud",
        "email": "E-post",
        "phone": "Telefon",
        "address": "Adresse",
        "none": "ingen",
        "redacted_value": "[utelatt]",
        "purposes": "Formål og rettslig grunnlag",
        "status": "Status",
        "continues": "Fortsetter",
        "request": "forespørsel",
    },
    withheld_marker="[holdt tilbake: {what} — art. 15 nr. 4]",
    withheld_kinds={
        "national_id": "en annen persons fødselsnummer",
        "d_number": "en annen persons D-nummer",
        "phone": "en annen persons telefonnummer",
        "email": "en annen persons e-postadresse",
        "bank_account": "en annen persons kontonummer",
        "case_number": "en annen persons saksnummer",
        "customer_number": "en annen persons kundenummer",
        "invoice_number": "en annen persons fakturanummer",
    },
    withheld_text="[holdt tilbake: teksten omtaler en annen person — art. 15 nr. 4]",
    stop_reasons={"consent_withdrawn": "du trakk tilbake samtykket"},
    stopped_on="Stanset {date}: {because}",
)

_EN = Texts(
    title="Your personal data: access extract",
    portability_title="Data portability: the data you gave us",
    intro=(
        "These are all the data we hold about you, each with its purpose, legal basis, who it is "
        "shared with, how long it is kept and where it came from."
    ),
    summary_none="We hold no personal data about you.",
    summary_some="We hold {count} records about you.",
    referral_why=(
        "We hold this data only as the controller's processor; your request has been passed to them."
    ),
    kept_while_purpose="Kept while the purpose lasts.",
    until_case_closed="while the case is open; the date is set when the case is closed",
    until_relationship_ends="while the relationship with the organisation lasts",
    until_unsubscribed="until you unsubscribe",
    until_controller="as long as the controller instructs us",
    until_purpose="while the purpose lasts",
    until_unknown="the date cannot be computed yet",
    rights={
        "access": "You may ask what we hold about you, as you have done now.",
        "rectification": "You may ask us to correct inaccurate data and complete incomplete data.",
        "erasure": (
            "You may ask us to erase data we no longer need or may not keep; where the law requires "
            "us to keep it, we tell you why and until when."
        ),
        "restriction": "You may ask us to restrict processing, so that the data is only stored, not used.",
        "objection": (
            "You may object to processing based on our legitimate interest, and at any time to "
            "direct marketing."
        ),
        "portability": (
            "You may receive the data you gave us, processed on your consent or a contract, in a "
            "machine-readable format, or have it sent to another controller."
        ),
    },
    complaint=(
        "You may complain to the Norwegian Data Protection Authority (Datatilsynet) if you think we "
        "process your personal data unlawfully."
    ),
    notified_intro=(
        "When we rectified, erased or restricted data about you, we told the recipients we had "
        "disclosed it to (GDPR Art. 19). These were told:"
    ),
    changes={
        "rectified": "rectification",
        "erased": "erasure",
        "anonymised": "anonymisation",
        "restricted": "restriction",
    },
    labels={
        "notified": "Recipients we told of changes",
        "recipient": "Recipient",
        "change": "Change",
        "notified_at": "Told",
        "earlier_request": "Request",
        "reference": "Reference",
        "received": "Received",
        "generated": "Generated",
        "controller": "Controller",
        "records": "Records held",
        "system": "System",
        "table": "Register",
        "data": "Data",
        "field": "Field",
        "value": "Value",
        "categories": "Categories",
        "purpose": "Purpose",
        "legal_basis": "Legal basis",
        "recipients": "Recipients",
        "retention": "Retention",
        "kept_until": "Erased or anonymised at the latest",
        "kept_while": "Kept",
        "source": "Source",
        "from_you": "From you",
        "automated": "Automated decisions (Art. 22)",
        "logic": "The logic",
        "significance": "What it means for you",
        "special": "Special categories (Art. 9), released after a person's review",
        "withheld": "Special categories withheld after a person's review",
        "redacted": "Left out because it is about another person (Art. 15(4))",
        "redacted_in_text": "Withheld inside the text because it is about another person (Art. 15(4))",
        "redacted_text": "Text withheld after a person's review because it is about another person (Art. 15(4))",
        "referred": "Data we hold for others",
        "controllers": "Controller",
        "count": "Records",
        "rights": "Your rights",
        "complaint": "Complaints",
        "dpo": "Data protection officer",
        "email": "Email",
        "phone": "Phone",
        "address": "Address",
        "none": "none",
        "redacted_value": "[left out]",
        "purposes": "Purposes and legal bases",
        "status": "Status",
        "continues": "Continues",
        "request": "request",
    },
    withheld_marker="[withheld: {what} — Art. 15(4)]",
    withheld_kinds={
        "national_id": "another person's national identity number",
        "d_number": "another person's D-number",
        "phone": "another person's phone number",
        "email": "another person's email address",
        "bank_account": "another person's bank account number",
        "case_number": "another person's case number",
        "customer_number": "another person's customer number",
        "invoice_number": "another person's invoice number",
    },
    withheld_text="[withheld: the text is about another person — Art. 15(4)]",
    stop_reasons={"consent_withdrawn": "you withdrew your consent"},
    stopped_on="Stopped on {date}: {because}",
)

TEXTS: dict[Language, Texts] = {"nb": _NB, "en": _EN}


def texts(language: str) -> Texts:
    """The request's language; anything else falls back to Norwegian, the company's language."""
    return TEXTS["en"] if language == "en" else TEXTS["nb"]


MARKER_PATTERN = re.compile(
    "|".join(
        re.escape(prefix) + r"[^\[\]\n]*\]"
        for prefix in sorted({t.withheld_marker.split(":")[0] + ":" for t in TEXTS.values()})
    )
)
"""A withheld-marker in any language: a scan leaves it as it is (scanning twice changes nothing)."""
