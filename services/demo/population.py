"""Random people and what they left in the systems, a chunk at a time, from one seeded generator.

Roles are drawn per person (debtor, invoice recipient, subscriber, contact person, ...); each
person gets at least one. Co-debtors, guarantors and representatives are other people of the same
chunk, so every row still belongs to exactly one generated person.
"""

from __future__ import annotations

import random
from datetime import timedelta

from services.demo import builders as b
from services.demo import vocabulary as v
from services.demo.identities import IdentityFactory
from services.demo.mod11 import bank_account
from services.demo.people import Person
from services.demo.reference import Organisation
from services.demo.rows import Emitter
from services.demo.values import AS_OF, CONSENT_TEXT, days_before, moment

_CUSTOMER_SERIAL_BASE = 1_000
"""Customer serials of random people start here (the showcase uses lower ones)."""


class Population:
    def __init__(
        self, seed: int, emitter: Emitter, organisations: list[Organisation], reserved_ids: set[str]
    ):
        self._rng = random.Random(seed)
        self._em = emitter
        self._identities = IdentityFactory(self._rng, reserved_ids)
        self._clients = [org for org in organisations if org.client_id is not None]
        self._organisations = organisations
        self._cases: list[b.Case] = []
        self._own_cases: list[b.Case] = []
        self._customer = 0

    def emit_chunk(self, first_index: int, count: int) -> None:
        """People `first_index` .. `first_index + count - 1` and all their rows."""
        people = [self._identities.person(index) for index in range(first_index, first_index + count)]
        self._cases = []
        for offset, person in enumerate(people):
            self._person(first_index + offset, person)
        rng = self._rng
        for case in self._cases:
            if rng.random() < 0.08:
                party = rng.choice(people)
                if party is not case.debtor:
                    self._party(case, party)

    def _person(self, index: int, person: Person) -> None:
        r = self._rng.random
        self._own_cases = []
        self._customer = _CUSTOMER_SERIAL_BASE + index
        roles = 0
        if r() < 0.35:
            roles += 1
            self._debtor(person)
        if r() < 0.30:
            roles += 1
            self._invoices(person)
        if r() < 0.12:
            roles += 1
            self._newsletter(person)
        if r() < 0.04:
            roles += 1
            self._event(person)
        if r() < 0.05:
            roles += 1
            self._downloads(person)
        if r() < 0.03:
            roles += 1
            self._survey(person)
        if r() < 0.02:
            roles += 1
            self._contact(person)
        if r() < 0.04:
            roles += 1
            self._form(person)
        if r() < 0.05:
            roles += 1
            self._emails(person)
        if r() < 0.06:
            roles += 1
            self._calls(person)
        if roles == 0:
            if r() < 0.5:
                self._newsletter(person)
            else:
                self._invoices(person)

    # ---------------------------------------------------------------------------- debt collection

    def _debtor(self, person: Person) -> None:
        rng = self._rng
        em = self._em
        account = None
        while account is None:
            account = bank_account(rng.choice(v.BANK_CODES), rng.randrange(1_000_000))
        cases = 1 if rng.random() < 0.8 else rng.choice((2, 2, 2, 3))
        with_phone, with_email = rng.random() < 0.85, rng.random() < 0.7
        for _ in range(cases):
            if rng.random() < 0.45:
                opened_on, closed_on = days_before(rng.randint(10, 1800)), None
            else:
                closed_on = days_before(rng.randint(1, 1094))
                opened_on = closed_on - timedelta(days=rng.randint(30, 1500))
            creditor = rng.choice(self._clients)
            case = b.add_case(
                em,
                person,
                creditor=creditor.name,
                opened_on=opened_on,
                closed_on=closed_on,
                legal_claim=closed_on is None and rng.random() < 0.05,
                with_phone=with_phone,
                with_email=with_email,
            )
            self._cases.append(case)
            self._own_cases.append(case)
            self._case_contents(case, creditor, account)

    def _case_contents(self, case: b.Case, creditor: Organisation, account: str) -> None:
        rng = self._rng
        em = self._em
        person = case.debtor
        end = case.closed_on or AS_OF
        span = max((end - case.opened_on).days, 1)
        for _ in range(rng.randint(1, 3)):
            due_on = case.opened_on - timedelta(days=rng.randint(30, 120))
            principal = rng.randint(20_000, 5_000_000)
            if rng.random() < 0.3:
                assert creditor.client_id is not None
                invoice = b.add_invoice(
                    em,
                    person,
                    client_id=creditor.client_id,
                    customer=self._customer,
                    issued_on=due_on - timedelta(days=14),
                    due_on=due_on,
                    lines=[(rng.choice(v.CLAIM_DESCRIPTIONS), 1, principal)],
                    status="sent_to_collection",
                    with_national_id=rng.random() < 0.6,
                )
            else:
                invoice = b.new_invoice_number(em, due_on)
            b.add_claim(
                em,
                case,
                invoice=invoice,
                description=rng.choice(v.CLAIM_DESCRIPTIONS),
                principal=principal,
                interest=rng.randint(0, principal // 10),
                fees=rng.choice((7_000, 14_000, 35_000)),
                due_on=due_on,
            )
        for _ in range(rng.choice((0, 0, 1, 2, 3, 4, 6))):
            paid_on = case.opened_on + timedelta(days=rng.randrange(span))
            b.add_payment(em, case, paid_on=paid_on, amount=rng.randint(10_000, 500_000), account=account)
        if rng.random() < 0.25:
            b.add_instalment_plan(
                em,
                case,
                agreed_on=case.opened_on + timedelta(days=rng.randrange(span)),
                instalments=rng.choice((3, 6, 12, 24)),
                monthly=rng.randint(20_000, 300_000),
                status="active" if case.closed_on is None else rng.choice(("completed", "broken")),
            )
        for kind in v.LETTER_KINDS[: rng.randint(1, 3)]:
            b.add_letter(
                em,
                case,
                sent_on=case.opened_on + timedelta(days=rng.randrange(span)),
                kind=kind,
                channel=rng.choice(("post", "digital", "digital")),
            )
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            health = rng.choice(v.HEALTH_NOTES) if rng.random() < 0.01 else None
            b.add_note(
                em,
                case,
                written_at=moment(rng, case.opened_on + timedelta(days=rng.randrange(span))),
                author=rng.choice(v.AGENTS),
                note=rng.choice(v.CASE_NOTES),
                health_note=health,
            )
        if rng.random() < 0.3:
            moved_on = case.opened_on - timedelta(days=rng.randint(1, 400))
            b.add_address_update(
                em,
                person,
                previous_address=self._identities.address(),
                moved_on=moved_on,
                received_at=moment(rng, case.opened_on),
                case=case,
            )
        if rng.random() < 0.4:
            b.add_credit_report(
                em,
                person,
                case=case,
                requested_at=moment(rng, case.opened_on + timedelta(days=rng.randint(0, 30))),
                score=rng.randint(1, 100),
                remarks=rng.choice((0, 0, 0, 1, 2, 4)),
                income=rng.randint(0, 120_000_000),
                debt=rng.randint(0, 400_000_000),
            )
        if rng.random() < 0.2:
            b.add_call(
                em,
                person,
                started_at=moment(rng, case.opened_on + timedelta(days=rng.randrange(span))),
                direction=rng.choice(("inbound", "outbound")),
                seconds=rng.randint(20, 1200),
                agent=rng.choice(v.AGENTS),
                case=case,
                summary=rng.choice(v.CALL_SUMMARIES),
            )
        if rng.random() < 0.15:
            b.add_email(
                em,
                person,
                received_at=moment(rng, case.opened_on + timedelta(days=rng.randrange(span))),
                direction="inbound",
                subject=rng.choice(v.EMAIL_SUBJECTS),
                body=rng.choice(v.FORM_MESSAGES),
                case=case,
            )

    def _party(self, case: b.Case, party: Person) -> None:
        rng = self._rng
        role = rng.choice(("co_debtor", "co_debtor", "guarantor", "guarantor", "representative"))
        b.add_party(self._em, case, party, role)
        if role == "guarantor" and rng.random() < 0.5:
            b.add_aml_check(
                self._em,
                party,
                role="guarantor",
                org_number=None,
                case=case,
                checked_on=min(case.opened_on + timedelta(days=rng.randint(0, 60)), AS_OF),
                id_document=rng.choice(("bank_id", "passport")),
            )

    # ------------------------------------------------------------------------ everything else

    def _invoices(self, person: Person) -> None:
        rng = self._rng
        client = rng.choice(self._clients)
        assert client.client_id is not None
        with_id, with_email, with_phone = rng.random() < 0.6, rng.random() < 0.8, rng.random() < 0.5
        for _ in range(rng.randint(1, 4)):
            issued_on = days_before(rng.randint(1, 720))
            b.add_invoice(
                self._em,
                person,
                client_id=client.client_id,
                customer=self._customer,
                issued_on=issued_on,
                due_on=issued_on + timedelta(days=14),
                lines=[
                    (rng.choice(v.CLAIM_DESCRIPTIONS), rng.randint(1, 3), rng.randint(5_000, 200_000))
                    for _ in range(rng.randint(1, 3))
                ],
                status=rng.choice(("paid", "paid", "paid", "unpaid")),
                with_national_id=with_id,
                with_email=with_email,
                with_phone=with_phone,
            )

    def _newsletter(self, person: Person) -> None:
        rng = self._rng
        b.add_newsletter(
            self._em,
            person,
            newsletter=rng.choice(v.NEWSLETTERS),
            subscribed_at=moment(rng, days_before(rng.randint(1, 1090))),
            consent=CONSENT_TEXT,
            with_name=rng.random() < 0.7,
        )

    def _event(self, person: Person) -> None:
        rng = self._rng
        b.add_event_signup(
            self._em,
            person,
            event=rng.choice(v.EVENTS),
            signed_up_at=moment(rng, days_before(rng.randint(1, 1090))),
            attended=rng.random() < 0.7,
            organisation=rng.choice(self._organisations).name if rng.random() < 0.4 else None,
            with_phone=rng.random() < 0.6,
        )

    def _downloads(self, person: Person) -> None:
        rng = self._rng
        for _ in range(rng.randint(1, 2)):
            b.add_download(
                self._em,
                person,
                asset=rng.choice(v.ASSETS),
                downloaded_at=moment(rng, days_before(rng.randint(1, 1090))),
            )

    def _survey(self, person: Person) -> None:
        rng = self._rng
        b.add_survey_response(
            self._em,
            person,
            survey=rng.choice(v.SURVEYS),
            answers=rng.choice(v.SURVEY_ANSWERS),
            responded_at=moment(rng, days_before(rng.randint(1, 1090))),
        )

    def _contact(self, person: Person) -> None:
        rng = self._rng
        organisation = rng.choice(self._organisations)
        last_contact = days_before(rng.randint(1, 1500))
        ended_on = last_contact + timedelta(days=rng.randint(0, 60)) if rng.random() < 0.3 else None
        activities = [
            (
                moment(rng, last_contact - timedelta(days=rng.randint(0, 700))),
                rng.choice(("meeting", "call", "email")),
                rng.choice(v.EMAIL_SUBJECTS),
            )
            for _ in range(rng.randint(0, 3))
        ]
        b.add_contact(
            self._em,
            person,
            organisation_id=organisation.crm_id,
            title=rng.choice(v.CONTACT_TITLES),
            last_contact_on=last_contact,
            ended_on=min(ended_on, AS_OF) if ended_on else None,
            activities=activities,
        )
        if organisation.kind == "client" and rng.random() < 0.4:
            b.add_aml_check(
                self._em,
                person,
                role=rng.choice(("client_contact", "client_contact", "beneficial_owner")),
                org_number=organisation.org_number,
                case=None,
                checked_on=days_before(rng.randint(1, 1800)),
                id_document=rng.choice(("bank_id", "passport", "driving_licence")),
                politically_exposed=rng.random() < 0.03,
            )

    def _form(self, person: Person) -> None:
        rng = self._rng
        case = self._own_cases[-1] if self._own_cases else None
        b.add_form_submission(
            self._em,
            person,
            submitted_at=moment(rng, days_before(rng.randint(1, 700))),
            form=rng.choice(("contact", "contact", "complaint", "privacy")),
            message=rng.choice(v.FORM_MESSAGES),
            case=case if rng.random() < 0.5 else None,
            with_phone=rng.random() < 0.5,
        )

    def _emails(self, person: Person) -> None:
        rng = self._rng
        for _ in range(rng.randint(1, 2)):
            b.add_email(
                self._em,
                person,
                received_at=moment(rng, days_before(rng.randint(1, 700))),
                direction=rng.choice(("inbound", "inbound", "outbound")),
                subject=rng.choice(v.EMAIL_SUBJECTS),
                body=rng.choice(v.FORM_MESSAGES),
                case=None,
            )

    def _calls(self, person: Person) -> None:
        rng = self._rng
        for _ in range(rng.randint(1, 2)):
            b.add_call(
                self._em,
                person,
                started_at=moment(rng, days_before(rng.randint(1, 700))),
                direction=rng.choice(("inbound", "outbound")),
                seconds=rng.randint(15, 900),
                agent=rng.choice(v.AGENTS),
                case=None,
                summary=rng.choice(v.CALL_SUMMARIES),
            )
