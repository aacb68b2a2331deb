"""What the subject is told, and how: the notice templates, the medium, the rendered text. Pure.

Templates are plain text (`templates/<name>.<language>.txt`): the first line is the subject line,
the rest the body. The same text goes into an email or, laid out as a PDF, into a letter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from schemas.requests import Channel, RequestStatus, RequestType
from services.documents.templates import environment


class Template(StrEnum):
    receipt = "receipt"
    verification_request = "verification_request"
    extension = "extension"
    completion = "completion"
    refusal = "refusal"
    referral = "referral"
    erasure_done = "erasure_done"


class Medium(StrEnum):
    email = "email"
    letter = "letter"


LANGUAGES = ("nb", "en")

TYPE_LABELS: dict[str, dict[RequestType, str]] = {
    "nb": {
        RequestType.access: "innsyn",
        RequestType.portability: "dataportabilitet",
        RequestType.rectification: "retting",
        RequestType.erasure: "sletting",
        RequestType.restriction: "begrensning av behandling",
        RequestType.objection: "protest",
        RequestType.marketing_opt_out: "reservasjon mot markedsføring",
        RequestType.consent_withdrawal: "tilbaketrekking av samtykke",
        RequestType.newsletter_unsubscribe: "avmelding fra nyhetsbrev",
    },
    "en": {
        RequestType.access: "access",
        RequestType.portability: "data portability",
        RequestType.rectification: "rectification",
        RequestType.erasure: "erasure",
        RequestType.restriction: "restriction of processing",
        RequestType.objection: "objection",
        RequestType.marketing_opt_out: "marketing opt-out",
        RequestType.consent_withdrawal: "consent withdrawal",
        RequestType.newsletter_unsubscribe: "newsletter unsubscribe",
    },
}

REFUSAL_REASONS: dict[str, dict[str, str]] = {
    "identity_not_confirmed": {
        "nb": "Vi fikk ikke bekreftet identiteten din i tide: lenken vi sendte, ble ikke brukt.",
        "en": "We could not confirm your identity in time: the link we sent was not used.",
    },
    "manifestly_unfounded": {
        "nb": "Kravet er åpenbart ugrunnet eller overdrevent (personvernforordningen artikkel 12 nr. 5).",
        "en": "The request is manifestly unfounded or excessive (GDPR Article 12(5)).",
    },
}


def refusal_reason(code: str, language: str) -> str:
    """A plain-language reason for a refusal code; an unknown code gets a general sentence."""
    general = {
        "nb": "Kravet ble avslått. Kontakt oss om du vil vite mer.",
        "en": "The request was refused. Contact us to learn more.",
    }
    return REFUSAL_REASONS.get(code, general)[language]


def completion_template(request_type: RequestType, status: RequestStatus) -> Template:
    """The notice a final status calls for."""
    if status is RequestStatus.refused:
        return Template.refusal
    if status is RequestStatus.referred:
        return Template.referral
    if request_type is RequestType.erasure:
        return Template.erasure_done
    return Template.completion


def media(
    channel: Channel, reply_by: str | None, *, email: str | None, postal_address: str | None
) -> list[tuple[Medium, str]]:
    """Where a notice goes: the subject's preference first, then the channel the request came by.

    Returns (medium, recipient) pairs: the email address, or `post` for the letter queue.
    """
    by_email = [(Medium.email, email)] if email else []
    by_post = [(Medium.letter, "post")] if postal_address else []
    if reply_by == "post" and by_post:
        return by_post
    if reply_by == "email" and by_email:
        return by_email
    if channel is Channel.letter and by_post:
        return by_post
    return by_email or by_post


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


# Eleven digits, with or without a space after the birth date: a national identity number.
_NATIONAL_ID = re.compile(r"(?<!\d)\d{6}\s?\d{5}(?!\d)")


class CarriesNationalId(ValueError):
    """A notice must never carry a national id; refusing to send is safer than sending one."""


def render(template: Template, language: str, context: dict[str, Any]) -> Rendered:
    """Render a notice; a missing variable raises (StrictUndefined), as does a national id in it."""
    text = (
        environment("services.notifier")
        .get_template(f"{template.value}.{language}.txt")
        .render(language=language, **context)
    )
    subject, _, body = text.partition("\n")
    rendered = Rendered(subject.removeprefix("Subject:").strip(), body.strip() + "\n")
    if _NATIONAL_ID.search(rendered.subject) or _NATIONAL_ID.search(rendered.body):
        raise CarriesNationalId(template.value)
    return rendered


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
