"""Erasure's own knobs (`DSR_ERASURE_*`), validated on load; the README's table lists them."""

from __future__ import annotations

import hashlib

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    erasure_pdf: bool = Field(
        True, description="Store the erasure certificate as PDF too (JSON and HTML always)."
    )

    def hash_key(self, artifact_keys: str) -> bytes:
        """The configured key, else one derived from the artifact keys (kept in the data directory)."""
        secret = self.erasure_hash_key or f"dsr-erasure-ledger:{artifact_keys.split(',')[-1].strip()}"
        return hashlib.sha256(secret.encode()).digest()
