"""The demo systems' tables and their column order (the order the generator builds rows in).

The DDL in `sql/` and the catalogue describe the same tables; the tests keep the three equal.
"""

from __future__ import annotations

from typing import NamedTuple


class TableSpec(NamedTuple):
    system: str
    name: str
    columns: tuple[str, ...]


CASES = TableSpec(
    "debt_collection",
    "cases",
    (
        "id",
        "case_number",
        "creditor",
        "status",
        "opened_on",
        "closed_on",
        "legal_claim",
        "debtor_national_id",
        "debtor_name",
        "debtor_address",
        "debtor_phone",
        "debtor_email",
        "restricted",
    ),
)
CASE_PARTIES = TableSpec(
    "debt_collection",
    "case_parties",
    ("id", "case_id", "role", "national_id", "name", "address", "phone", "email", "restricted"),
)
CLAIMS = TableSpec(
    "debt_collection",
    "claims",
    (
        "id",
        "case_id",
        "invoice_number",
        "description",
        "principal",
        "interest",
        "fees",
        "due_on",
        "restricted",
    ),
)
PAYMENTS = TableSpec(
    "debt_collection", "payments", ("id", "case_id", "paid_on", "amount", "payer_account", "restricted")
)
INSTALMENT_PLANS = TableSpec(
    "debt_collection",
    "instalment_plans",
    ("id", "case_id", "agreed_on", "instalments", "monthly_amount", "status", "restricted"),
)
LETTERS = TableSpec(
    "debt_collection", "letters", ("id", "case_id", "sent_on", "kind", "channel", "address", "restricted")
)
CASE_NOTES = TableSpec(
    "debt_collection",
    "case_notes",
    ("id", "case_id", "written_at", "author", "note", "health_note", "restricted"),
)

CLIENTS = TableSpec("invoicing", "clients", ("id", "name", "org_number"))
INVOICES = TableSpec(
    "invoicing",
    "invoices",
    (
        "id",
        "invoice_number",
        "client_id",
        "customer_number",
        "recipient_national_id",
        "recipient_name",
        "recipient_address",
        "recipient_email",
        "recipient_phone",
        "issued_on",
        "due_on",
        "amount",
        "status",
        "restricted",
    ),
)
INVOICE_LINES = TableSpec(
    "invoicing", "invoice_lines", ("id", "invoice_id", "description", "quantity", "unit_price")
)

ADDRESS_UPDATES = TableSpec(
    "population_register",
    "address_updates",
    (
        "id",
        "national_id",
        "name",
        "address",
        "previous_address",
        "moved_on",
        "received_at",
        "case_number",
        "restricted",
    ),
)

CREDIT_REPORTS = TableSpec(
    "credit_bureau",
    "credit_reports",
    (
        "id",
        "national_id",
        "name",
        "case_number",
        "requested_at",
        "score",
        "payment_remarks",
        "declared_income",
        "total_debt",
        "decision",
        "restricted",
    ),
)

ORGANISATIONS = TableSpec("crm", "organisations", ("id", "org_number", "name", "kind"))
CONTACTS = TableSpec(
    "crm",
    "contacts",
    (
        "id",
        "organisation_id",
        "name",
        "title",
        "email",
        "phone",
        "last_contact_on",
        "relationship_ended_on",
        "restricted",
    ),
)
CONTACT_ACTIVITIES = TableSpec(
    "crm", "contact_activities", ("id", "contact_id", "occurred_at", "kind", "summary", "restricted")
)

AML_CHECKS = TableSpec(
    "aml",
    "aml_checks",
    (
        "id",
        "national_id",
        "name",
        "role",
        "org_number",
        "case_number",
        "checked_on",
        "id_document",
        "politically_exposed",
        "sanctions_hit",
        "result",
        "restricted",
    ),
)

LEDGER_ENTRIES = TableSpec(
    "accounting",
    "ledger_entries",
    (
        "id",
        "voucher_number",
        "booked_on",
        "account",
        "amount",
        "description",
        "counterparty_name",
        "counterparty_account",
        "case_number",
        "invoice_number",
        "restricted",
    ),
)

NEWSLETTER_SUBSCRIPTIONS = TableSpec(
    "marketing",
    "newsletter_subscriptions",
    ("id", "email", "name", "newsletter", "subscribed_at", "consent_text", "unsubscribed_at", "restricted"),
)
EVENT_SIGNUPS = TableSpec(
    "marketing",
    "event_signups",
    ("id", "event", "email", "name", "phone", "organisation", "signed_up_at", "attended", "restricted"),
)
DOWNLOADS = TableSpec("marketing", "downloads", ("id", "email", "asset", "downloaded_at", "restricted"))
SURVEY_RESPONSES = TableSpec(
    "marketing", "survey_responses", ("id", "email", "survey", "answers", "responded_at", "restricted")
)

FORM_SUBMISSIONS = TableSpec(
    "correspondence",
    "form_submissions",
    ("id", "submitted_at", "form", "name", "email", "phone", "case_number", "message", "restricted"),
)
EMAILS = TableSpec(
    "correspondence",
    "emails",
    ("id", "received_at", "direction", "address", "name", "subject", "body", "case_number", "restricted"),
)

CALL_LOGS = TableSpec(
    "telephony",
    "call_logs",
    (
        "id",
        "started_at",
        "phone",
        "direction",
        "duration_seconds",
        "agent",
        "case_number",
        "summary",
        "restricted",
    ),
)

TABLES: tuple[TableSpec, ...] = (
    CASES,
    CASE_PARTIES,
    CLAIMS,
    PAYMENTS,
    INSTALMENT_PLANS,
    LETTERS,
    CASE_NOTES,
    CLIENTS,
    INVOICES,
    INVOICE_LINES,
    ADDRESS_UPDATES,
    CREDIT_REPORTS,
    ORGANISATIONS,
    CONTACTS,
    CONTACT_ACTIVITIES,
    AML_CHECKS,
    LEDGER_ENTRIES,
    NEWSLETTER_SUBSCRIPTIONS,
    EVENT_SIGNUPS,
    DOWNLOADS,
    SURVEY_RESPONSES,
    FORM_SUBMISSIONS,
    EMAILS,
    CALL_LOGS,
)
"""Every table, parents before the tables that reference them."""

SYSTEMS: tuple[str, ...] = tuple(dict.fromkeys(table.system for table in TABLES))
"""Every demo system; each is a database `demo_<system>`."""
