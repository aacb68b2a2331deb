"""Knobs of the data subject's pages (`DSR_PUBLIC_*`, links, the demo's mail), validated on load.

The notifier reads them too (the links its notices carry, the company's name), so its settings
extend these: the public pages never import the notifier.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PublicSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DSR_", extra="ignore")

    public_base_url: str = Field(
        "http://127.0.0.1:8000", description="The public pages' base URL, used in the links notices carry."
    )
    company_name: str = Field("Example Inkasso AS", description="The controller's name in notices.")
    email_link_days: float = Field(7, gt=0, description="Days an email confirmation link stays valid.")
    verification_timeout_days: float = Field(
        7, gt=0, description="Days an emailed request may wait for its confirmation before it is refused."
    )
    public_rate_per_address: int = Field(
        20, ge=1, description="Public form submissions per client address per minute."
    )
    public_rate_per_identifier: int = Field(
        5, ge=1, description="Public form submissions naming one identifier per hour."
    )
    public_max_open_per_identifier: int = Field(
        3, ge=1, description="Open requests one identifier may have before the form refuses more."
    )
    demo_mail_dir: Path | None = Field(
        None,
        description="Folder of the demo SMTP sink's mail, shown at `/demo/mail` (set by `dsr up --demo`).",
    )
