"""Every notice template renders in both languages; a missing variable fails (StrictUndefined)."""

from __future__ import annotations

from datetime import date
from typing import Any

import jinja2
import pytest

from services.notifier.notices import LANGUAGES, CarriesNationalId, Template, render

COMMON: dict[str, Any] = {
    "reference": "DSR-2026-000042",
    "company": "Example Inkasso AS",
    "type_label": "innsyn",
    "status_url": "http://127.0.0.1:8000/status",
    "status_secret": "A1B2C3-D4E5F6-A1B2C3-D4E5F6",
    "link_days": 7,
    "limited_scope": True,
}
SAMPLES: dict[Template, dict[str, Any]] = {
    Template.receipt: {"due_date": date(2026, 12, 28), "needs_verification": True},
    Template.verification_request: {"due_date": date(2026, 12, 28), "verify_url": "http://x/verify/t"},
    Template.extension: {"due_date": date(2027, 2, 28), "months": 2, "reason": "Many systems to search."},
    Template.completion: {"downloads": [{"url": "http://x/download/t"}]},
    Template.refusal: {"reason": "Identity not confirmed in time."},
    Template.referral: {"controllers": [{"name": "Client AS", "contact": "privacy@client.example"}]},
    Template.erasure_done: {
        "kept": [{"what": "Accounting entries", "reason": "The Bookkeeping Act.", "until": date(2034, 5, 1)}]
    },
}


def test_every_template_has_a_sample() -> None:
    assert set(SAMPLES) == set(Template)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", list(Template))
def test_renders_with_every_variable(template: Template, language: str) -> None:
    rendered = render(template, language, {**COMMON, **SAMPLES[template]})
    assert "DSR-2026-000042" in rendered.subject
    assert COMMON["status_secret"] in rendered.body
    for value in SAMPLES[template].values():
        if isinstance(value, str):
            assert value in rendered.body
    if template in (Template.refusal, Template.extension, Template.completion):
        assert "Datatilsynet" in rendered.body


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", list(Template))
def test_a_missing_variable_fails(template: Template, language: str) -> None:
    for missing in [*COMMON, *SAMPLES[template]]:
        context = {k: v for k, v in {**COMMON, **SAMPLES[template]}.items() if k != missing}
        if missing == "limited_scope" and template not in (
            Template.verification_request,
            Template.completion,
        ):
            continue  # only those two say what an email confirmation covers
        if missing in ("type_label", "link_days") and template not in _USES[missing]:
            continue
        with pytest.raises(jinja2.UndefinedError):
            render(template, language, context)


_USES = {
    "type_label": {Template.receipt, Template.completion},
    "link_days": {Template.verification_request, Template.completion},
}


def test_the_verification_email_explains_what_a_confirmed_email_opens() -> None:
    body = render(
        Template.verification_request, "en", {**COMMON, **SAMPLES[Template.verification_request]}
    ).body
    assert "http://x/verify/t" in body and "shared" in body and "Plan & Pay" in body


def test_a_notice_never_carries_a_national_id() -> None:
    context = {**COMMON, **SAMPLES[Template.refusal], "reason": "about 150765 00565"}
    with pytest.raises(CarriesNationalId):
        render(Template.refusal, "nb", context)
