"""The public request form: its fields in, a `RequestSubmission` (channel `web_form`) or the errors
per field out. Pure; the page and intake's own checks do the rest."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from schemas.requests import Channel, RequestSubmission, RequestType

IDENTIFIER_FIELDS = ("national_id", "email", "phone", "case_number", "customer_number", "invoice_number")
TEXT_LIMITS = {
    "name": 200,
    "notes": 4000,
    "objection_grounds": 4000,
    "corrections": 8000,
    "postal_address": 500,
    **{name: 254 for name in IDENTIFIER_FIELDS},
}
HONEYPOT = "website"
MULTILINE = ("notes", "objection_grounds", "corrections", "postal_address")
"""Text areas: line breaks and tabs are typed there; in every other field they are not."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control(name: str, value: str) -> bool:
    """A control character nobody types (NUL, ESC, C1 ...): refused, never stripped, because
    `1483781\x000060` without its NUL is somebody's national id (issue 22)."""
    return bool((_CONTROL_IN_TEXT if name in MULTILINE else _CONTROL).search(value))


@dataclass
class FormInput:
    """What the person typed (kept to fill the form again after an error)."""

    values: dict[str, str] = field(default_factory=dict)
    controls: set[str] = field(default_factory=set)
    """Fields that held a control character (shown again with U+FFFD in its place)."""

    @classmethod
    def from_fields(cls, fields: Mapping[str, list[str]]) -> FormInput:
        values, controls = {}, set()
        for name, given in fields.items():
            value = given[0] if given else ""
            if has_control(name, value):
                controls.add(name)
                value = (_CONTROL_IN_TEXT if name in MULTILINE else _CONTROL).sub("\ufffd", value)
            values[name] = value.strip()
        return cls(values, controls)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    @property
    def honeypot_filled(self) -> bool:
        return bool(self.get(HONEYPOT))


def corrections(text: str) -> dict[str, str] | None:
    """`what = new value`, one per line; lines without `=` are taken whole as a correction."""
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        what, sep, value = line.partition("=")
        if sep and what.strip() and value.strip():
            found[what.strip()[:100]] = value.strip()[:1000]
        else:
            found[f"item {number}"] = line[:1000]
    return found or None


def to_submission(form: FormInput) -> tuple[RequestSubmission | None, dict[str, str]]:
    """The submission, or error codes per form field (the page words them)."""
    errors: dict[str, str] = {}
    for name in sorted(form.controls):
        errors.setdefault(name if name in TEXT_LIMITS else "identifiers", "control_characters")
    for name, limit in TEXT_LIMITS.items():
        if len(form.get(name)) > limit:
            errors[name] = "too_long"
    try:
        request_type = RequestType(form.get("type"))
    except ValueError:
        errors["type"] = "type"
        request_type = None
    if not any(form.get(name) for name in IDENTIFIER_FIELDS):
        errors["identifiers"] = "identifier"
    if request_type is RequestType.rectification and not corrections(form.get("corrections")):
        errors["corrections"] = "missing_corrections"
    if request_type is RequestType.objection and not form.get("objection_grounds"):
        errors["objection_grounds"] = "missing_objection_grounds"
    reply_by = form.get("reply_by") or None
    if reply_by == "post" and not form.get("postal_address"):
        errors["postal_address"] = "postal_address"
    if errors or request_type is None:
        return None, errors
    subject = {name: form.get(name) for name in (*IDENTIFIER_FIELDS, "name") if form.get(name)}
    details: dict[str, object] = {
        "language": form.get("language") if form.get("language") in ("nb", "en") else "nb",
        "notes": form.get("notes") or None,
        "reply_by": reply_by if reply_by in ("email", "post") else None,
        "postal_address": form.get("postal_address") or None,
    }
    if request_type is RequestType.rectification:
        details["corrections"] = corrections(form.get("corrections"))
    if request_type is RequestType.objection:
        details["objection_grounds"] = form.get("objection_grounds")
    try:
        submission = RequestSubmission.model_validate(
            {
                "type": request_type.value,
                "channel": Channel.web_form.value,
                "subject": subject,
                "details": {k: v for k, v in details.items() if v is not None},
            }
        )
    except ValidationError as exc:
        for error in exc.errors():
            loc = [str(part) for part in error.get("loc", ())]
            name = loc[1] if len(loc) > 1 and loc[0] in ("subject", "details") else "identifiers"
            errors.setdefault(name if name in TEXT_LIMITS or name == "language" else "identifiers", "invalid")
        return None, errors
    return submission, {}


def field_of(intake_field: str) -> str:
    """The form field an intake error names (`subject.email` -> `email`)."""
    last = intake_field.rsplit(".", 1)[-1]
    return last if last in TEXT_LIMITS else "identifiers"
