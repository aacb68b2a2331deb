"""The console's knobs (`DSR_CONSOLE_*`), validated on load; kept beside the console like the locator's."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DSR_", extra="ignore")

    console_accounts: str = Field(
        "",
        description="Console accounts, `name:role:argon2-hash` comma-separated (roles: agent, dpo, ops); "
        "`dsr console hash-password` makes the hash; `dsr up --demo` generates demo accounts.",
    )
    console_session_idle_seconds: float = Field(
        900.0, gt=0, description="A console session unused this long has ended."
    )
    console_session_lifetime_seconds: float = Field(
        28800.0, gt=0, description="A console session ends this long after sign-in, used or not."
    )
    console_cookie_secure: bool = Field(
        True, description="Console cookies are `Secure` (HTTPS only); off only for local development."
    )
    console_signin_window_seconds: float = Field(
        900.0, gt=0, description="Window over which failed console sign-ins are counted."
    )
    console_signin_max_failures_account: int = Field(
        5, ge=1, description="Failed sign-ins per account in the window before it is refused."
    )
    console_signin_max_failures_address: int = Field(
        20, ge=1, description="Failed sign-ins per client address in the window before it is refused."
    )
