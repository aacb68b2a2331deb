"""Erasure's own knobs (`DSR_ERASURE_*`), validated on load; the README's table lists them."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class CertificatePdf(StrEnum):
    """When the erasure certificate is also rendered as PDF (the slowest part of a plan's end)."""

    always = "always"
    post = "post"  # when the answer goes by post: channel `letter` or `reply_by: post`, as extracts
    never = "never"


class ErasureSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DSR_", extra="ignore")

    erasure_approval_required: bool = Field(
        False,
        description="Every erasure plan waits for an agent's approval (ambiguous and special-category plans always do).",
    )
    erasure_hash_key: str = Field(
        "",
        description="Key of the keyed hashes in the erasure ledger and the suppression list; unset: derived from DSR_ARTIFACT_KEYS.",
    )
    erasure_poll_seconds: float = Field(
        1.0, gt=0, description="How often fulfilment looks for approved plans and due scheduled erasures."
    )
    erasure_concurrency: int = Field(
        4, ge=1, le=32, description="Approved erasure plans one fulfilment worker runs at the same time."
    )
    erasure_manual_task_days: int = Field(
        5,
        ge=1,
        description="Days an agent has to carry out an erasure by hand in a system without an interface (never beyond the request's due date).",
    )
    erasure_retry_initial_seconds: float = Field(
        5.0,
        gt=0,
        description="First wait before running a plan again after a source system could not be reached (doubles each time).",
    )
    erasure_retry_max_seconds: float = Field(
        300.0, gt=0, description="Longest wait between two runs of a plan waiting for a source system."
    )
    erasure_unreachable_review_seconds: float = Field(
        86400.0,
        gt=0,
        description="A source system unreachable this long during a plan's execution sends the request to review, the system named.",
    )
    erasure_pdf: CertificatePdf = Field(
        CertificatePdf.post,
        description="Erasure certificate as PDF too: `post` (when the answer goes by post, as extracts), `always` or `never`; JSON and HTML always.",
    )

    @field_validator("erasure_pdf", mode="before")
    @classmethod
    def _from_boolean(cls, value: Any) -> Any:
        """The setting was a boolean: true and false still mean always and never."""
        if isinstance(value, bool):
            return CertificatePdf.always if value else CertificatePdf.never
        if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
            return CertificatePdf.always
        if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
            return CertificatePdf.never
        return value

    def hash_key(self, artifact_keys: str) -> bytes:
        """The configured key, else one derived from the artifact keys (kept in the data directory)."""
        secret = self.erasure_hash_key or f"dsr-erasure-ledger:{artifact_keys.split(',')[-1].strip()}"
        return hashlib.sha256(secret.encode()).digest()
