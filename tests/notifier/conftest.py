"""A real SMTP server (aiosmtpd) for the session, and helpers that feed the ledger's outbox to the
notifier's consumers as the broker would (without Kafka: the consumer's own entry point)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from schemas.registry import FULFILLED, REQUESTS
from services.artifacts.sealing import ConfiguredKeys
from services.artifacts.store import ArtifactStore
from services.launcher.ports import free_port
from services.notifier.delivery import Delivery
from services.notifier.handlers import FULFILLED_HANDLERS, REQUEST_HANDLERS
from services.notifier.mail import SmtpTransport
from services.notifier.settings import NoticeSettings
from services.notifier.sink import MailSink
from services.runtime.consumer import EventConsumer
from services.runtime.settings import Settings


class NoDeadLetters:
    async def publish(self, **kwargs: Any) -> None:
        raise AssertionError(f"dead-lettered: {kwargs.get('reason_code')}")


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[MailSink]:
    sink = MailSink(free_port()).start()
    yield sink
    sink.stop()


def notice_settings(sink: MailSink, **overrides: Any) -> NoticeSettings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port,
        "smtp_tls": "none",
        "notice_retry_initial_seconds": 0.01,
        "notice_max_attempts": 3,
        **overrides,
    }
    return NoticeSettings.model_validate(values)


def delivery(pool: asyncpg.Pool, settings: Settings, notices: NoticeSettings) -> Delivery:
    return Delivery(
        pool, notices, SmtpTransport(notices), ArtifactStore(ConfiguredKeys.parse(settings.artifact_keys))
    )


class Pump:
    """Hands every outbox row written since the last call to the notifier's consumer of its topic."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings):
        common: dict[str, Any] = {"pool": pool, "dead_letters": NoDeadLetters(), "settings": settings}
        self.pool = pool
        self.consumers = {
            REQUESTS: EventConsumer("notifier-requests", REQUESTS, dict(REQUEST_HANDLERS), **common),
            FULFILLED: EventConsumer("notifier-fulfilled", FULFILLED, dict(FULFILLED_HANDLERS), **common),
        }
        self.last = 0

    async def __call__(self, *, times: int = 1) -> list[str]:
        rows = await self.pool.fetch(
            "select id, topic, key, value, event_type from outbox where id > $1 order by id", self.last
        )
        outcomes = []
        for row in rows:
            self.last = row["id"]
            consumer = self.consumers.get(row["topic"])
            if consumer is None:
                continue
            for _ in range(times):
                outcomes.append(
                    await consumer.handle_message(
                        key=row["key"], value=row["value"], partition=0, offset=row["id"]
                    )
                )
        return outcomes
