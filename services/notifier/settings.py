"""Knobs of the data subject's side (`DSR_SMTP_*`, `DSR_NOTICE_*`, `DSR_PUBLIC_*`, ...), validated on load.

Kept beside the notifier, like the locator's, so the runtime does not grow a setting per service;
the README's configuration table lists them too. What the public pages need as well (links,
the company's name, rate limits) is `PublicSettings`, which these extend.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, SecretStr

from services.public.settings import PublicSettings


class SmtpTls(StrEnum):
    none = "none"  # plain SMTP: only for a local sink
    starttls = "starttls"
    tls = "tls"  # implicit TLS (SMTPS, usually port 465)


class NoticeSettings(PublicSettings):
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
