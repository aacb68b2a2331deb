"""The log-a-request form: from what the agent typed to the intake contract, with plain-language
messages per field. Pure: the same `RequestSubmission` the API takes, so the same intake path runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from schemas.requests import RequestSubmission, VerificationCheck

OSLO = ZoneInfo("Europe/Oslo")
CONSOLE_CHANNELS = ("phone", "email", "letter")
SUBJECT_FIELDS = ("national_id", "email", "phone", "case_number", "customer_number", "name")
CHECKS = tuple(check.value for check in VerificationCheck)

Form = dict[str, list[str]]


def first(form: Form, name: str) -> str:
    return (form.get(name) or [""])[0].strip()


@dataclass
class Parsed:
    submission: RequestSubmission | None
    errors: dict[str, str] = field(default_factory=dict)  # form field -> message key


# pydantic's locations and intake's field names -> the form's field names
_FIELD = {
    "type": "type",
    "channel": "channel",
    "received_at": "received_at",
    "details.language": "language",
    "details.notes": "notes",
    "details.corrections": "corrections",
    "details.objection_grounds": "objection_grounds",
    "details": "notes",
    "subject": "national_id",
    **{f"subject.{name}": name for name in SUBJECT_FIELDS},
    "verification.method": "checks",
    "verification.checks": "checks",
    "verification.verified_by": "checks",
    "verification": "checks",
}


def form_field(location: str) -> str:
    return _FIELD.get(location, location.split(".")[-1])


def _message(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind == "missing":
        return "err_required"
    if kind in ("string_too_long", "too_long"):
        return "err_too_long"
    if kind in ("string_too_short", "too_short"):
        return "err_too_short"
    if kind in ("enum", "literal_error"):
        return "err_choice"
    if "datetime" in kind:
        return "err_datetime"
    if kind == "value_error" and "identifier" in str(error.get("msg", "")):
        return "err_identifier"
    return "err_invalid"


def parse_request_form(form: Form, *, verified_by: str) -> Parsed:
    """The submission, or the errors to show next to each field."""
    errors: dict[str, str] = {}
    subject = {name: value for name in SUBJECT_FIELDS if (value := first(form, name))}
    channel = first(form, "channel")
    if channel not in CONSOLE_CHANNELS:
        errors["channel"] = "err_choice"
    received_at: datetime | None = None
    if raw := first(form, "received_at"):
        try:
            received_at = datetime.fromisoformat(raw).replace(tzinfo=OSLO)
        except ValueError:
            errors["received_at"] = "err_datetime"
    checks = [c for c in form.get("checks", []) if c in CHECKS]
    verification: dict[str, Any] | None = None
    if first(form, "id_document"):
        verification = {"method": "id_document", "checks": checks, "verified_by": verified_by}
    elif checks:
        verification = {"method": "phone_checks", "checks": checks, "verified_by": verified_by}
    details: dict[str, Any] = {"language": first(form, "language") or "nb"}
    if notes := first(form, "notes"):
        details["notes"] = notes
    if grounds := first(form, "objection_grounds"):
        details["objection_grounds"] = grounds
    if raw_corrections := first(form, "corrections"):
        corrections: dict[str, str] = {}
        for line in raw_corrections.splitlines():
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip() or not value.strip():
                errors["corrections"] = "err_corrections_format"
                break
            corrections[name.strip()] = value.strip()
        details["corrections"] = corrections
    body: dict[str, Any] = {
        "type": first(form, "type"),
        "channel": channel,
        "subject": subject,
        "details": details,
    }
    if received_at is not None:
        body["received_at"] = received_at
    if verification is not None:
        body["verification"] = verification
    if not subject or not (subject.keys() - {"name"}):
        errors.setdefault("national_id", "err_identifier")
    try:
        submission = RequestSubmission.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            location = ".".join(str(p) for p in error.get("loc", ()) if not isinstance(p, int))
            errors.setdefault(form_field(location), _message(dict(error)))
        return Parsed(None, errors)
    return Parsed(None if errors else submission, errors)
