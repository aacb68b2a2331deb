"""Configuration from `DSR_*` environment variables, validated on load."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the pipeline; the README's configuration table is generated from this."""

    model_config = SettingsConfigDict(env_prefix="DSR_", extra="ignore")

    data_dir: Path = Field(Path(".dsr"), description="Where the embedded runtime keeps its state.")
    database_url: str | None = Field(
        None, description="PostgreSQL for the ledger; unset: `dsr up` starts the embedded server."
    )
    kafka_bootstrap: str | None = Field(
        None, description="Kafka bootstrap servers; unset: `dsr up` starts the embedded broker."
    )
    topic_prefix: str = Field("", description="Prepended to every topic name (isolates tests or tenants).")
    topic_replication: int = Field(
        1, ge=1, description="Replication factor of the topics created at start-up."
    )
    api_host: str = Field("127.0.0.1", description="Address the HTTP servers bind to.")
    api_port: int = Field(
        8000, description="Port of the public API (intake); other services use the next ports."
    )
    http_port: int | None = Field(None, description="This process's HTTP port (set by the supervisor).")
    shared_http_fd: int | None = Field(
        None,
        ge=0,
        description="An inherited listening socket (file descriptor) this process also serves, shared with the other workers of its service (set by the supervisor for the public API's workers).",
    )
    api_keys: str = Field(
        "",
        description="API keys, `name:role:secret` comma-separated (roles: system, agent, ops, dpo; what each may do: the README's security section); `dsr up` generates them when unset.",
    )
    trusted_proxies: str = Field(
        "",
        description="Addresses or networks (comma-separated, e.g. `10.0.0.5,10.1.0.0/16`) of the reverse proxies whose `X-Forwarded-For`/`X-Forwarded-Proto` are believed; empty: none, every client is its own TCP address (rate limits count it).",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        import ipaddress

        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for position, entry in enumerate(entries, start=1):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"entry {position} is not an IP address or network (a name or `*` would trust anyone)"
                ) from None
        return ",".join(entries)

    db_pool_min: int = Field(1, ge=0, description="Minimum connections per service pool.")
    db_pool_max: int = Field(10, ge=1, description="Maximum connections per service pool.")
    outbox_poll_seconds: float = Field(1.0, gt=0, description="Outbox relay polling fallback interval.")
    outbox_batch: int = Field(500, ge=1, description="Events the relay publishes per round.")
    consumer_session_timeout: float = Field(6.0, gt=0, description="Kafka consumer session timeout (s).")
    consumer_heartbeat: float = Field(1.0, gt=0, description="Kafka consumer heartbeat interval (s).")
    consumer_commit_interval: float = Field(1.0, gt=0, description="Offset commit interval (s).")
    consumer_batch_max: int = Field(
        200, ge=1, description="Most events a consumer handles in one transaction."
    )
    consumer_batch_wait: float = Field(
        0.003, gt=0, description="Seconds a consumer waits to fill a batch (adds at most this to latency)."
    )
    consumer_fetch_wait: float = Field(
        0.02,
        gt=0,
        le=5,
        description="Longest wait of one Kafka fetch for new events (bounds each hop on brokers that hold a fetch).",
    )
    consumer_run_budget: float = Field(
        0.05,
        gt=0,
        description="Seconds of work a consumer puts in one transaction before committing (bounds latency).",
    )
    intake_batch_max: int = Field(
        64, ge=1, le=1000, description="Most HTTP submissions committed together in one transaction."
    )
    intake_transactions: int = Field(
        2, ge=1, le=32, description="Group-commit transactions the HTTP intake keeps in flight at once."
    )
    handler_max_attempts: int = Field(
        5,
        ge=1,
        description="Attempts at an event that fails for a non-transient reason before dead-lettering.",
    )
    artifact_keys: str = Field(
        "",
        description="Artifact encryption keys, `id:base64(32 bytes)` comma-separated, the first current; `dsr up` generates one when unset.",
    )
    download_link_days: float = Field(7, gt=0, description="Days a one-time download link stays valid.")
    artifact_retention_days: float = Field(
        30, gt=0, description="Days after which an artifact's content is purged."
    )
    controller_name: str = Field(
        "Inkasso og Faktura AS", min_length=1, description="The company named as controller in extracts."
    )
    dpo_name: str = Field(
        "Personvernombudet", min_length=1, description="The data protection officer named in extracts."
    )
    dpo_email: str = Field(
        "personvernombud@example.no", min_length=3, description="The data protection officer's email."
    )
    dpo_phone: str = Field("", description="The data protection officer's phone (empty: not shown).")
    dpo_address: str = Field(
        "", description="The data protection officer's postal address (empty: not shown)."
    )
    tracker_interval: float = Field(5.0, gt=0, description="Seconds between the tracker's rounds.")
    at_risk_days: int = Field(
        7, ge=0, description="A request is at risk when at most this many days are left."
    )
    stuck_after: float = Field(
        300.0,
        gt=0,
        description="Seconds without progress after which a request's last event is re-published.",
    )
    log_level: str = Field("INFO", description="Log level of every service.")
    accept_synthetic_ids: bool = Field(
        False, description="Accept synthetic test national ids (month + 80); on in the demo."
    )
    demo_subjects: int = Field(
        1000, ge=0, description="People `dsr up --demo` generates besides the showcase subjects."
    )
    catalogue_dir: Path = Field(
        Path("catalogue"),
        description="The data catalogue's directory; a relative path that does not exist is taken from the project root.",
    )

    @field_validator("catalogue_dir")
    @classmethod
    def _catalogue_from_project_root(cls, value: Path) -> Path:
        if value.is_absolute() or value.exists():
            return value
        return Path(__file__).resolve().parents[2] / value

    demo: bool = Field(False, description="Demo mode (set by `dsr up --demo`).")
    startup_timeout: float = Field(
        30.0, gt=0, description="Seconds `dsr up` waits for every service to be ready."
    )

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
