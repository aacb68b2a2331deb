"""The showcase subjects: eleven fixed people, each showing one situation the pipeline must handle.

They are the same for every seed and every `subjects` count (their rows come first, with fixed
ids), their national ids are synthetic test numbers (month + 80), and no generated person shares
any of their identifiers.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from services.demo.people import Person


class ShowcaseSubject(BaseModel):
    """Who to ask about, and what the pipeline should find and do (`expect`)."""

    model_config = ConfigDict(frozen=True)

    key: str
    national_id: str
    email: str
    phone: str
    name: str
    expect: str

    @property
    def person(self) -> Person:
        return Person(self.national_id, self.name, SHOWCASE_ADDRESSES[self.key], self.phone, self.email)


SHARED_PHONE = "+4740000008"

SHOWCASE_ADDRESSES: dict[str, str] = {
    "open_case_debtor": "Mølleveien 7, 0182 Oslo",
    "closed_case_debtor": "Fjellstien 3, 5009 Bergen",
    "guarantor": "Sjøbodveien 21, 4014 Stavanger",
    "newsletter_only": "Lyngveien 2, 7030 Trondheim",
    "client_contact_aml": "Vardeveien 15, 9010 Tromsø",
    "invoice_recipient_only": "Tyttebærstien 9, 1362 Hosle",
    "health_note_debtor": "Hesteskoen 4, 3050 Mjøndalen",
    "shared_phone_a": "Kvernhusveien 11, 2211 Kongsvinger",
    "shared_phone_b": "Skipperbakken 6, 8300 Svolvær",
    "unknown_person": "Ospeveien 30, 6800 Førde",
    "spouse_in_call_note": "Furutoppen 12, 3616 Kongsberg",
}

CALL_NOTE_SPOUSE = Person(
    national_id="02887410189",
    name="Sigrid Lystad",
    address="Furutoppen 12, 3616 Kongsberg",
    phone="+4740000012",
    email="sigrid.lystad@eksempel.no",
)
"""Ragnar Lystad's wife: no rows of her own, only her phone number and national id inside his call
note (never her name: a name no identifier gives away would send his extract to a person)."""

_SUBJECTS = (
    ShowcaseSubject(
        key="open_case_debtor",
        national_id="14837810060",
        email="ola.nordmann@eksempel.no",
        phone="+4740000001",
        name="Ola Nordmann",
        expect=(
            "Debtor on an open case with claims, payments, an instalment plan, letters and a guarantor; also "
            "an address update, a credit report with an automated decision, ledger entries, a call and an "
            "email about the case. The guarantor's anti-money-laundering check names the case number but is "
            "the guarantor's, not his. Erasure is refused while the case is open (restrict instead)."
        ),
    ),
    ShowcaseSubject(
        key="closed_case_debtor",
        national_id="02916510260",
        email="kari.fjellheim@eksempel.no",
        phone="+4740000002",
        name="Kari Fjellheim",
        expect=(
            "Debtor on a case closed in May 2020, more than 3 years ago: the case's link to her is due for "
            "anonymisation, but the ledger entries of her payments are kept until 10 years after booking."
        ),
    ),
    ShowcaseSubject(
        key="guarantor",
        national_id="23875910027",
        email="per.bakkebo@eksempel.no",
        phone="+4740000003",
        name="Per Bakkebø",
        expect=(
            "Guarantor on Ola Nordmann's open case (a case party row, not the debtor's rows) with an "
            "anti-money-laundering check that is kept 5 years."
        ),
    ),
    ShowcaseSubject(
        key="newsletter_only",
        national_id="30859210097",
        email="siri.solstad@eksempel.no",
        phone="+4740000004",
        name="Siri Solstad",
        expect=(
            "Only a newsletter subscription, found by email: unsubscribing or erasure deletes it at once."
        ),
    ),
    ShowcaseSubject(
        key="client_contact_aml",
        national_id="09898110017",
        email="henrik.vangsnes@eksempel.no",
        phone="+4740000005",
        name="Henrik Vangsnes",
        expect=(
            "Contact person at a client in the CRM (with activities) and an anti-money-laundering check: "
            "the CRM data stays while the relationship lasts, the check is kept 5 years."
        ),
    ),
    ShowcaseSubject(
        key="invoice_recipient_only",
        national_id="17818810016",
        email="marte.kvalheim@eksempel.no",
        phone="+4740000006",
        name="Marte Kvalheim",
        expect=(
            "Only processor data: two invoices sent for two different clients. The request is referred to "
            "both clients (the controllers named on the invoices)."
        ),
    ),
    ShowcaseSubject(
        key="health_note_debtor",
        national_id="05925410057",
        email="arne.tveitan@eksempel.no",
        phone="+4740000007",
        name="Arne Tveitan",
        expect=(
            "Debtor on an open case whose notes include a health note he gave us (a special category): "
            "flagged in the extract and handled by a human."
        ),
    ),
    ShowcaseSubject(
        key="shared_phone_a",
        national_id="21849010023",
        email="lise.hagebakken@eksempel.no",
        phone=SHARED_PHONE,
        name="Lise Hagebakken",
        expect=(
            "Debtor on an open case; shares her phone number, and nothing else, with Jonas Lindvik: a search "
            "by phone alone is ambiguous and must go to a human."
        ),
    ),
    ShowcaseSubject(
        key="shared_phone_b",
        national_id="08887210080",
        email="jonas.lindvik@eksempel.no",
        phone=SHARED_PHONE,
        name="Jonas Lindvik",
        expect=(
            "Newsletter subscriber, event sign-up and a contact form; shares his phone number, and nothing "
            "else, with Lise Hagebakken: a search by phone alone is ambiguous and must go to a human."
        ),
    ),
    ShowcaseSubject(
        key="unknown_person",
        national_id="12868510038",
        email="eva.sorbotten@eksempel.no",
        phone="+4740000010",
        name="Eva Sørbotten",
        expect="A valid national id with no data anywhere: the search finds nothing and says so.",
    ),
    ShowcaseSubject(
        key="spouse_in_call_note",
        national_id="19837110281",
        email="ragnar.lystad@eksempel.no",
        phone="+4740000011",
        name="Ragnar Lystad",
        expect=(
            "Debtor on an open case; the agent's call note gives his own phone number and case number, "
            "and his wife's phone number and national id. His extract keeps his and withholds hers, each "
            "replaced by a marker saying what was withheld and why (Art. 15(4)), in bokmål and English."
        ),
    ),
)


def showcase_subjects() -> list[ShowcaseSubject]:
    """The showcase subjects, in their fixed order."""
    return list(_SUBJECTS)


def showcase_subject(key: str) -> ShowcaseSubject:
    return next(subject for subject in _SUBJECTS if subject.key == key)


def reserved_national_ids() -> set[str]:
    """National ids no random person may get: the showcase subjects' and the people their records
    mention (the phone block `+474000xxxx` is kept out of the random ranges already)."""
    return {subject.national_id for subject in _SUBJECTS} | {CALL_NOTE_SPOUSE.national_id}
