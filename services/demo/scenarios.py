"""The showcase subjects' rows: a fixed story per subject, written before any random person.

Every row is tagged with its subject, so the emitter's `owners` is the exact record of where the
generator put each showcase subject's data (the locator tests assert it is found there and nowhere
else). A row belongs to the person it is about: a guarantor's case-party row is the guarantor's,
not the debtor's, although it hangs off the debtor's case; and the guarantor's AML check carries
the debtor's case number but names the guarantor, so it is the guarantor's. In catalogue terms: a
row is a person's when its person identifiers (national id, email, phone) are theirs, when it
`belongs_to` a row of theirs, or when it carries the number of a `unique` column of a row of theirs
(a case number) and names nobody else (`tests/demo/oracle.py` derives exactly this).
"""

from __future__ import annotations

from datetime import date

from services.demo import builders as b
from services.demo.reference import Organisation, clients
from services.demo.rows import Emitter
from services.demo.showcase import CALL_NOTE_SPOUSE, showcase_subject
from services.demo.values import CONSENT_TEXT, at


def emit_showcase(em: Emitter, organisations: list[Organisation]) -> None:
    creditors = clients(organisations)
    _open_case_debtor_and_guarantor(em, creditors)
    _closed_case_debtor(em, creditors)
    _newsletter_only(em)
    _client_contact_aml(em, creditors[2])
    _invoice_recipient_only(em, creditors)
    _health_note_debtor(em, creditors)
    _shared_phone_pair(em, creditors)
    # unknown_person: nothing, anywhere.
    _spouse_in_call_note(em, creditors)


def _open_case_debtor_and_guarantor(em: Emitter, creditors: list[Organisation]) -> None:
    key = "open_case_debtor"
    ola = showcase_subject(key).person
    per = showcase_subject("guarantor").person
    account = "15030012345"
    case = b.add_case(
        em, ola, creditor=creditors[0].name, opened_on=date(2025, 11, 4), closed_on=None, owner=key
    )
    b.add_party(em, case, per, "guarantor", owner="guarantor")
    b.add_aml_check(
        em,
        per,
        role="guarantor",
        org_number=None,
        case=case,
        checked_on=date(2025, 12, 1),
        id_document="bank_id",
        owner="guarantor",
    )
    for description, principal, due in (
        ("Strømregning", 423_050, date(2025, 8, 20)),
        ("Strømregning", 389_900, date(2025, 9, 20)),
    ):
        b.add_claim(
            em,
            case,
            invoice=b.new_invoice_number(em, due),
            description=description,
            principal=principal,
            interest=4_120,
            fees=7_000,
            due_on=due,
            owner=key,
        )
    b.add_letter(em, case, sent_on=date(2025, 11, 4), kind="notice", channel="post", owner=key)
    b.add_letter(em, case, sent_on=date(2025, 11, 25), kind="payment_demand", channel="digital", owner=key)
    b.add_instalment_plan(
        em, case, agreed_on=date(2026, 1, 10), instalments=12, monthly=70_000, status="active", owner=key
    )
    b.add_letter(
        em, case, sent_on=date(2026, 1, 10), kind="instalment_confirmation", channel="digital", owner=key
    )
    for paid_on in (date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)):
        b.add_payment(em, case, paid_on=paid_on, amount=70_000, account=account, owner=key)
    b.add_note(
        em,
        case,
        written_at=at(date(2026, 1, 10), 9, 12),
        author="agent-kari",
        note="Avtalt nedbetalingsplan over telefon.",
        owner=key,
    )
    b.add_address_update(
        em,
        ola,
        previous_address="Storgata 1, 0155 Oslo",
        moved_on=date(2025, 6, 1),
        received_at=at(date(2025, 11, 5), 3, 0),
        case=case,
        owner=key,
    )
    b.add_credit_report(
        em,
        ola,
        case=case,
        requested_at=at(date(2025, 12, 2), 8, 30),
        score=64,
        remarks=0,
        income=54_000_000,
        debt=21_000_000,
        owner=key,
    )
    b.add_call(
        em,
        ola,
        started_at=at(date(2026, 1, 10), 9, 0),
        direction="inbound",
        seconds=412,
        agent="agent-kari",
        case=case,
        summary="Avtalt nedbetalingsplan.",
        owner=key,
    )
    b.add_email(
        em,
        ola,
        received_at=at(date(2026, 1, 8), 19, 44),
        direction="inbound",
        subject="Betalingsavtale",
        body="Kan jeg betale kravet i avdrag?",
        case=case,
        owner=key,
    )


def _closed_case_debtor(em: Emitter, creditors: list[Organisation]) -> None:
    key = "closed_case_debtor"
    kari = showcase_subject(key).person
    case = b.add_case(
        em,
        kari,
        creditor=creditors[1].name,
        opened_on=date(2018, 9, 3),
        closed_on=date(2020, 5, 15),
        owner=key,
    )
    b.add_claim(
        em,
        case,
        invoice=b.new_invoice_number(em, date(2018, 6, 1)),
        description="Mobilabonnement",
        principal=129_900,
        interest=9_870,
        fees=7_000,
        due_on=date(2018, 6, 1),
        owner=key,
    )
    b.add_letter(em, case, sent_on=date(2018, 9, 3), kind="notice", channel="post", owner=key)
    b.add_letter(em, case, sent_on=date(2018, 10, 1), kind="reminder", channel="post", owner=key)
    for paid_on, amount in ((date(2019, 11, 29), 70_000), (date(2020, 5, 14), 76_770)):
        b.add_payment(em, case, paid_on=paid_on, amount=amount, account="12540098768", owner=key)
    b.add_address_update(
        em,
        kari,
        previous_address="Nygårdsgaten 40, 5015 Bergen",
        moved_on=date(2018, 7, 1),
        received_at=at(date(2018, 9, 4), 3, 0),
        case=case,
        owner=key,
    )


def _newsletter_only(em: Emitter) -> None:
    key = "newsletter_only"
    siri = showcase_subject(key).person
    b.add_newsletter(
        em,
        siri,
        newsletter="Kundeavisen",
        subscribed_at=at(date(2025, 3, 3), 20, 15),
        consent=CONSENT_TEXT,
        owner=key,
    )


def _client_contact_aml(em: Emitter, client: Organisation) -> None:
    key = "client_contact_aml"
    henrik = showcase_subject(key).person
    b.add_contact(
        em,
        henrik,
        organisation_id=client.crm_id,
        title="Økonomisjef",
        last_contact_on=date(2026, 5, 20),
        ended_on=None,
        activities=[
            (at(date(2026, 2, 11), 10, 0), "meeting", "Årsmøte om inkassoavtalen."),
            (at(date(2026, 5, 20), 13, 30), "call", "Spørsmål om rapportering."),
        ],
        owner=key,
    )
    b.add_aml_check(
        em,
        henrik,
        role="client_contact",
        org_number=client.org_number,
        case=None,
        checked_on=date(2024, 4, 2),
        id_document="passport",
        owner=key,
    )


def _invoice_recipient_only(em: Emitter, creditors: list[Organisation]) -> None:
    key = "invoice_recipient_only"
    marte = showcase_subject(key).person
    for client, issued_on, lines in (
        (creditors[3], date(2026, 4, 1), [("Bredbånd april", 1, 59_900), ("Ruterleie", 1, 4_900)]),
        (creditors[4], date(2026, 5, 1), [("Treningsavgift mai", 1, 44_900)]),
    ):
        assert client.client_id is not None
        b.add_invoice(
            em,
            marte,
            client_id=client.client_id,
            customer=1,
            issued_on=issued_on,
            due_on=date(issued_on.year, issued_on.month, 20),
            lines=lines,
            status="unpaid",
            owner=key,
        )


def _health_note_debtor(em: Emitter, creditors: list[Organisation]) -> None:
    key = "health_note_debtor"
    arne = showcase_subject(key).person
    case = b.add_case(
        em, arne, creditor=creditors[6].name, opened_on=date(2026, 2, 16), closed_on=None, owner=key
    )
    b.add_claim(
        em,
        case,
        invoice=b.new_invoice_number(em, date(2025, 12, 15)),
        description="Tannbehandling",
        principal=865_000,
        interest=12_300,
        fees=7_000,
        due_on=date(2025, 12, 15),
        owner=key,
    )
    b.add_letter(em, case, sent_on=date(2026, 2, 16), kind="notice", channel="post", owner=key)
    b.add_note(
        em,
        case,
        written_at=at(date(2026, 3, 2), 11, 5),
        author="agent-nils",
        note="Skyldner ringte og ba om betalingsutsettelse.",
        health_note="Skyldner opplyser om langvarig sykemelding etter hjerteoperasjon og ber om betalingspause.",
        owner=key,
    )
    b.add_note(
        em,
        case,
        written_at=at(date(2026, 3, 3), 8, 40),
        author="agent-nils",
        note="Saken satt i bero i 60 dager etter avtale med kreditor.",
        owner=key,
    )
    b.add_call(
        em,
        arne,
        started_at=at(date(2026, 3, 2), 10, 55),
        direction="inbound",
        seconds=640,
        agent="agent-nils",
        case=case,
        summary="Ba om betalingspause.",
        owner=key,
    )


def _shared_phone_pair(em: Emitter, creditors: list[Organisation]) -> None:
    lise = showcase_subject("shared_phone_a").person
    jonas = showcase_subject("shared_phone_b").person
    case = b.add_case(
        em,
        lise,
        creditor=creditors[7].name,
        opened_on=date(2026, 4, 7),
        closed_on=None,
        owner="shared_phone_a",
    )
    b.add_claim(
        em,
        case,
        invoice=b.new_invoice_number(em, date(2026, 2, 28)),
        description="Mobilabonnement",
        principal=99_800,
        interest=1_050,
        fees=7_000,
        due_on=date(2026, 2, 28),
        owner="shared_phone_a",
    )
    b.add_letter(em, case, sent_on=date(2026, 4, 7), kind="notice", channel="digital", owner="shared_phone_a")
    key = "shared_phone_b"
    b.add_newsletter(
        em,
        jonas,
        newsletter="Fakturatips",
        subscribed_at=at(date(2025, 10, 12), 7, 30),
        consent=CONSENT_TEXT,
        owner=key,
    )
    b.add_event_signup(
        em,
        jonas,
        event="Webinar: Ny inkassolov 2026",
        signed_up_at=at(date(2026, 1, 15), 12, 0),
        attended=True,
        organisation=None,
        owner=key,
    )
    b.add_form_submission(
        em,
        jonas,
        submitted_at=at(date(2026, 5, 5), 21, 17),
        form="contact",
        message="Hvordan melder jeg meg på flere webinarer?",
        case=None,
        owner=key,
    )


def _spoken(phone: str) -> str:
    """`+4740000012` -> `400 00 012`: how an agent types a number someone reads out."""
    digits = phone.removeprefix("+47")
    return f"{digits[:3]} {digits[3:5]} {digits[5:]}"


def _spouse_in_call_note(em: Emitter, creditors: list[Organisation]) -> None:
    key = "spouse_in_call_note"
    ragnar = showcase_subject(key).person
    wife = CALL_NOTE_SPOUSE
    case = b.add_case(
        em, ragnar, creditor=creditors[5].name, opened_on=date(2026, 3, 9), closed_on=None, owner=key
    )
    b.add_claim(
        em,
        case,
        invoice=b.new_invoice_number(em, date(2026, 1, 31)),
        description="Forsikringspremie",
        principal=284_400,
        interest=3_310,
        fees=7_000,
        due_on=date(2026, 1, 31),
        owner=key,
    )
    b.add_letter(em, case, sent_on=date(2026, 3, 9), kind="notice", channel="post", owner=key)
    b.add_call(
        em,
        ragnar,
        started_at=at(date(2026, 4, 14), 13, 20),
        direction="inbound",
        seconds=515,
        agent="agent-fatima",
        case=case,
        summary=(
            f"Skyldner ringte fra {_spoken(ragnar.phone)} om sak {case.number}. Kona overtar betalingen "
            f"og vil bli ringt på {_spoken(wife.phone)}; fødselsnummeret hennes er "
            f"{wife.national_id[:6]} {wife.national_id[6:]}. Ny avtale sendes henne."
        ),
        owner=key,
    )
