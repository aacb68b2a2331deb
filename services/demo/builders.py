"""One function per kind of record a person leaves in the systems; each emits its row(s).

Shared by the showcase stories and the random population, so both produce the same shapes.
`owner` tags the rows of a showcase subject; random people's rows are not tagged.
"""

from __future__ import annotations

from datetime import date, datetime

from services.demo import tables as t
from services.demo.people import Person
from services.demo.rows import Emitter
from services.demo.values import case_number, customer_number, invoice_number, money, voucher_number


class Case:
    """A case just written: what its child rows need."""

    __slots__ = ("closed_on", "debtor", "id", "number", "opened_on")

    def __init__(self, case_id: int, number: str, debtor: Person, opened_on: date, closed_on: date | None):
        self.id = case_id
        self.number = number
        self.debtor = debtor
        self.opened_on = opened_on
        self.closed_on = closed_on


def add_case(
    em: Emitter,
    debtor: Person,
    *,
    creditor: str,
    opened_on: date,
    closed_on: date | None,
    legal_claim: bool = False,
    with_phone: bool = True,
    with_email: bool = True,
    owner: str | None = None,
) -> Case:
    case_id = em.new_id(t.CASES)
    number = case_number(opened_on, case_id)
    em.add(
        t.CASES,
        (
            case_id,
            number,
            creditor,
            "open" if closed_on is None else "closed",
            opened_on,
            closed_on,
            legal_claim,
            debtor.national_id,
            debtor.name,
            debtor.address,
            debtor.phone if with_phone else None,
            debtor.email if with_email else None,
            False,
        ),
        owner,
    )
    return Case(case_id, number, debtor, opened_on, closed_on)


def add_party(em: Emitter, case: Case, party: Person, role: str, *, owner: str | None = None) -> int:
    return em.add(
        t.CASE_PARTIES,
        (
            em.new_id(t.CASE_PARTIES),
            case.id,
            role,
            party.national_id,
            party.name,
            party.address,
            party.phone,
            party.email,
            False,
        ),
        owner,
    )


def new_invoice_number(em: Emitter, issued_on: date) -> str:
    return invoice_number(issued_on, em.sequence("invoice_number"))


def add_claim(
    em: Emitter,
    case: Case,
    *,
    invoice: str,
    description: str,
    principal: int,
    interest: int,
    fees: int,
    due_on: date,
    owner: str | None = None,
) -> int:
    return em.add(
        t.CLAIMS,
        (
            em.new_id(t.CLAIMS),
            case.id,
            invoice,
            description,
            money(principal),
            money(interest),
            money(fees),
            due_on,
            False,
        ),
        owner,
    )


def add_payment(
    em: Emitter, case: Case, *, paid_on: date, amount: int, account: str, owner: str | None = None
) -> int:
    """A payment on the case, and its ledger entry in the company's books."""
    payment = em.add(
        t.PAYMENTS, (em.new_id(t.PAYMENTS), case.id, paid_on, money(amount), account, False), owner
    )
    entry_id = em.new_id(t.LEDGER_ENTRIES)
    em.add(
        t.LEDGER_ENTRIES,
        (
            entry_id,
            voucher_number(entry_id),
            paid_on,
            "1920",
            money(amount),
            f"Innbetaling sak {case.number}",
            case.debtor.name,
            account,
            case.number,
            None,
            False,
        ),
        owner,
    )
    return payment


def add_instalment_plan(
    em: Emitter,
    case: Case,
    *,
    agreed_on: date,
    instalments: int,
    monthly: int,
    status: str,
    owner: str | None = None,
) -> int:
    return em.add(
        t.INSTALMENT_PLANS,
        (em.new_id(t.INSTALMENT_PLANS), case.id, agreed_on, instalments, money(monthly), status, False),
        owner,
    )


def add_letter(
    em: Emitter, case: Case, *, sent_on: date, kind: str, channel: str, owner: str | None = None
) -> int:
    return em.add(
        t.LETTERS, (em.new_id(t.LETTERS), case.id, sent_on, kind, channel, case.debtor.address, False), owner
    )


def add_note(
    em: Emitter,
    case: Case,
    *,
    written_at: datetime,
    author: str,
    note: str,
    health_note: str | None = None,
    owner: str | None = None,
) -> int:
    return em.add(
        t.CASE_NOTES, (em.new_id(t.CASE_NOTES), case.id, written_at, author, note, health_note, False), owner
    )


def add_address_update(
    em: Emitter,
    person: Person,
    *,
    previous_address: str | None,
    moved_on: date,
    received_at: datetime,
    case: Case | None,
    owner: str | None = None,
) -> int:
    return em.add(
        t.ADDRESS_UPDATES,
        (
            em.new_id(t.ADDRESS_UPDATES),
            person.national_id,
            person.name,
            person.address,
            previous_address,
            moved_on,
            received_at,
            case.number if case else None,
            False,
        ),
        owner,
    )


def credit_decision(score: int, remarks: int) -> str:
    """The automated rule the catalogue explains (Art. 22)."""
    if score >= 60 and remarks == 0:
        return "instalment_offered"
    if score < 20 and remarks > 0:
        return "legal_action_recommended"
    return "manual_follow_up"


def add_credit_report(
    em: Emitter,
    person: Person,
    *,
    case: Case | None,
    requested_at: datetime,
    score: int,
    remarks: int,
    income: int,
    debt: int,
    owner: str | None = None,
) -> int:
    return em.add(
        t.CREDIT_REPORTS,
        (
            em.new_id(t.CREDIT_REPORTS),
            person.national_id,
            person.name,
            case.number if case else None,
            requested_at,
            score,
            remarks,
            money(income),
            money(debt),
            credit_decision(score, remarks),
            False,
        ),
        owner,
    )


def add_invoice(
    em: Emitter,
    recipient: Person,
    *,
    client_id: int,
    customer: int,
    issued_on: date,
    due_on: date,
    lines: list[tuple[str, int, int]],
    status: str,
    number: str | None = None,
    with_national_id: bool = True,
    with_email: bool = True,
    with_phone: bool = True,
    owner: str | None = None,
) -> str:
    """An invoice sent for a client, with its lines (description, quantity, unit price in øre)."""
    invoice_id = em.new_id(t.INVOICES)
    number = number or new_invoice_number(em, issued_on)
    total = sum(quantity * price for _, quantity, price in lines)
    em.add(
        t.INVOICES,
        (
            invoice_id,
            number,
            client_id,
            customer_number(client_id, customer),
            recipient.national_id if with_national_id else None,
            recipient.name,
            recipient.address,
            recipient.email if with_email else None,
            recipient.phone if with_phone else None,
            issued_on,
            due_on,
            money(total),
            status,
            False,
        ),
        owner,
    )
    for description, quantity, price in lines:
        em.add(
            t.INVOICE_LINES,
            (em.new_id(t.INVOICE_LINES), invoice_id, description, quantity, money(price)),
            owner,
        )
    return number


def add_contact(
    em: Emitter,
    person: Person,
    *,
    organisation_id: int,
    title: str,
    last_contact_on: date,
    ended_on: date | None,
    activities: list[tuple[datetime, str, str]],
    owner: str | None = None,
) -> int:
    contact = em.add(
        t.CONTACTS,
        (
            em.new_id(t.CONTACTS),
            organisation_id,
            person.name,
            title,
            person.email,
            person.phone,
            last_contact_on,
            ended_on,
            False,
        ),
        owner,
    )
    for occurred_at, kind, summary in activities:
        em.add(
            t.CONTACT_ACTIVITIES,
            (em.new_id(t.CONTACT_ACTIVITIES), contact, occurred_at, kind, summary, False),
            owner,
        )
    return contact


def add_aml_check(
    em: Emitter,
    person: Person,
    *,
    role: str,
    org_number: str | None,
    case: Case | None,
    checked_on: date,
    id_document: str,
    politically_exposed: bool = False,
    owner: str | None = None,
) -> int:
    return em.add(
        t.AML_CHECKS,
        (
            em.new_id(t.AML_CHECKS),
            person.national_id,
            person.name,
            role,
            org_number,
            case.number if case else None,
            checked_on,
            id_document,
            politically_exposed,
            False,
            "enhanced_due_diligence" if politically_exposed else "cleared",
            False,
        ),
        owner,
    )


def add_newsletter(
    em: Emitter,
    person: Person,
    *,
    newsletter: str,
    subscribed_at: datetime,
    consent: str,
    with_name: bool = True,
    owner: str | None = None,
) -> int:
    return em.add(
        t.NEWSLETTER_SUBSCRIPTIONS,
        (
            em.new_id(t.NEWSLETTER_SUBSCRIPTIONS),
            person.email,
            person.name if with_name else None,
            newsletter,
            subscribed_at,
            consent,
            None,
            False,
        ),
        owner,
    )


def add_event_signup(
    em: Emitter,
    person: Person,
    *,
    event: str,
    signed_up_at: datetime,
    attended: bool,
    organisation: str | None,
    with_phone: bool = True,
    owner: str | None = None,
) -> int:
    return em.add(
        t.EVENT_SIGNUPS,
        (
            em.new_id(t.EVENT_SIGNUPS),
            event,
            person.email,
            person.name,
            person.phone if with_phone else None,
            organisation,
            signed_up_at,
            attended,
            False,
        ),
        owner,
    )


def add_download(
    em: Emitter, person: Person, *, asset: str, downloaded_at: datetime, owner: str | None = None
) -> int:
    return em.add(t.DOWNLOADS, (em.new_id(t.DOWNLOADS), person.email, asset, downloaded_at, False), owner)


def add_survey_response(
    em: Emitter,
    person: Person,
    *,
    survey: str,
    answers: str,
    responded_at: datetime,
    owner: str | None = None,
) -> int:
    return em.add(
        t.SURVEY_RESPONSES,
        (em.new_id(t.SURVEY_RESPONSES), person.email, survey, answers, responded_at, False),
        owner,
    )


def add_form_submission(
    em: Emitter,
    person: Person,
    *,
    submitted_at: datetime,
    form: str,
    message: str,
    case: Case | None,
    with_phone: bool = True,
    owner: str | None = None,
) -> int:
    return em.add(
        t.FORM_SUBMISSIONS,
        (
            em.new_id(t.FORM_SUBMISSIONS),
            submitted_at,
            form,
            person.name,
            person.email,
            person.phone if with_phone else None,
            case.number if case else None,
            message,
            False,
        ),
        owner,
    )


def add_email(
    em: Emitter,
    person: Person,
    *,
    received_at: datetime,
    direction: str,
    subject: str,
    body: str,
    case: Case | None,
    owner: str | None = None,
) -> int:
    return em.add(
        t.EMAILS,
        (
            em.new_id(t.EMAILS),
            received_at,
            direction,
            person.email,
            person.name,
            subject,
            body,
            case.number if case else None,
            False,
        ),
        owner,
    )


def add_call(
    em: Emitter,
    person: Person,
    *,
    started_at: datetime,
    direction: str,
    seconds: int,
    agent: str,
    case: Case | None,
    summary: str | None,
    owner: str | None = None,
) -> int:
    return em.add(
        t.CALL_LOGS,
        (
            em.new_id(t.CALL_LOGS),
            started_at,
            person.phone,
            direction,
            seconds,
            agent,
            case.number if case else None,
            summary,
            False,
        ),
        owner,
    )
