"""The notifier as a process: consumers that queue notices for the subject, and the delivery loop
that sends them (SMTP) or queues them as letters (PDF) for the print-and-post partner."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from schemas.registry import FULFILLED, REQUESTS
from services.artifacts.sealing import ConfiguredKeys
from services.artifacts.store import ArtifactStore
from services.notifier.delivery import Delivery
from services.notifier.handlers import FULFILLED_HANDLERS, REQUEST_HANDLERS
from services.notifier.mail import SmtpTransport
from services.notifier.settings import NoticeSettings
from services.runtime.consumer import EventConsumer
from services.runtime.host import Runtime, ServiceSpec

NAME = "notifier"


def consumers(runtime: Runtime) -> list[EventConsumer]:
    common: dict[str, Any] = {
        "pool": runtime.pool,
        "dead_letters": runtime.dead_letters,
        "settings": runtime.settings,
    }
    return [
        EventConsumer(f"{NAME}-requests", REQUESTS, dict(REQUEST_HANDLERS), **common),
        EventConsumer(f"{NAME}-fulfilled", FULFILLED, dict(FULFILLED_HANDLERS), **common),
    ]


def delivery(runtime: Runtime, settings: NoticeSettings | None = None) -> Delivery:
    settings = settings or NoticeSettings()
    return Delivery(
        runtime.pool,
        settings,
        SmtpTransport(settings),
        ArtifactStore(ConfiguredKeys.parse(runtime.settings.artifact_keys)),
        download_link_days=runtime.settings.download_link_days,
    )


def background(runtime: Runtime) -> list[Coroutine[Any, Any, None]]:
    return [delivery(runtime).forever()]


SPEC = ServiceSpec(NAME, consumers=consumers, background=background, title="DSR notifier")
