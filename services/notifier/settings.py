"""Knobs of the data subject's side (`DSR_SMTP_*`, `DSR_NOTICE_*`, `DSR_PUBLIC_*`, ...), validated on load.

Kept beside the notifier, like the locator's, so the runtime does not grow a setting per service;
the README's configuration table lists them too. The public pages read them as well.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SmtpTls(StrEnum):
    none = "none"  # plain SMTP: only for a local sink
    starttls = "starttls"
    tls = "tls"  # implicit TLS (SMTPS, usually port 465)


class NoticeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DSR_", extra="ignore")

    public_base_url: str = Field(
        "http://127.0.0.1:8000", description="The public pages' base URL, used in the links notices carry."
    )
    company_name: str = Field("Example Inkasso AS", description="The controller's name in notices.")
    smtp_host: str = Field("127.0.0.1", description="SMTP server notices are sent through.")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP server port.")
    smtp_tls: SmtpTls = Field(SmtpTls.starttls, description="`none`, `starttls` or `tls` (implicit).")
    smtp_username: str | None = Field(None, description="SMTP user name; unset: no authentication.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_sender: str = Field("personvern@example.no", description="The From address of notices.")
    smtp_timeout: float = Field(10.0, gt=0, description="Seconds an SMTP conversation may take.")
    notice_poll_seconds: float = Field(1.0, gt=0, description="How often the notifier looks for notices due.")
    notice_max_attempts: int = Field(
        8, ge=1, description="Delivery attempts before a notice counts as failed."
    )
    notice_retry_initial_seconds: float = Field(
        30.0, gt=0, description="First wait before delivering a notice again (doubles each time)."
    )
    notice_retry_max_seconds: float = Field(3600.0, gt=0, description="Longest wait between two attempts.")
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
