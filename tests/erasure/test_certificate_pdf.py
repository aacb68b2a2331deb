"""The certificate's PDF is the letter's content: rendered when the answer goes by post (the
default), or always, or never; the old boolean setting still reads as always and never."""

from __future__ import annotations

import asyncpg
import pytest

from services.catalogue.model import Catalogue
from services.erasure.settings import CertificatePdf, ErasureSettings
from tests.erasure.conftest import Harness, close, harness_for

PDF = "application/pdf"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("post", CertificatePdf.post),
        ("always", CertificatePdf.always),
        ("never", CertificatePdf.never),
        ("true", CertificatePdf.always),
        ("False", CertificatePdf.never),
        (True, CertificatePdf.always),
    ],
)
def test_the_setting_reads_the_policy_and_the_old_boolean(value: object, expected: CertificatePdf) -> None:
    assert ErasureSettings.model_validate({"erasure_pdf": value}).erasure_pdf is expected


def test_the_default_is_by_post_and_a_wrong_value_names_the_field() -> None:
    assert ErasureSettings().erasure_pdf is CertificatePdf.post
    with pytest.raises(ValueError, match="erasure_pdf"):
        ErasureSettings.model_validate({"erasure_pdf": "sometimes"})


async def _media_types(h: Harness, key: str, details: dict[str, str] | None = None) -> list[str]:
    request_id = await h.located(key, details=details)
    await h.fulfil(request_id)
    assert await h.status(request_id) == "completed"
    [certificate] = await h.certificates(request_id)
    return sorted(certificate["_media_types"])


async def test_an_answer_by_post_gets_the_pdf_and_one_by_email_does_not(
    catalogue: Catalogue,
    fresh_demo,
    pool: asyncpg.Pool,  # type: ignore[no-untyped-def]
) -> None:
    h = await harness_for(catalogue, fresh_demo, pool, erasure_pdf="post")
    try:
        assert PDF not in await _media_types(h, "newsletter_only")
        assert PDF in await _media_types(h, "closed_case_debtor", {"reply_by": "post"})
    finally:
        await close(h)
