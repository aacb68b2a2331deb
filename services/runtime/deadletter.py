"""Dead-letter publishing: a message no consumer can use is parked with a reason code."""

from __future__ import annotations

import asyncio
import base64
import logging

from aiokafka import AIOKafkaProducer

from schemas.envelope import Envelope
from schemas.events import DeadLetterRecorded
from schemas.registry import DEAD_LETTER
from services.runtime import metrics
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

REASON_CODES = (
    "malformed.empty",
    "malformed.too_large",
    "malformed.encoding",
    "malformed.json",
    "malformed.envelope",
    "unknown_event_type",
    "unsupported_schema_version",
    "invalid_payload",
    "illegal_transition",
    "unknown_request",
    "handler_failed",
)
"""Every reason code the runtime dead-letters with (README "Dead-letter reason codes"): the
decoder's (`decoding.py`), the consumer's (`consumer.py`). A consumer may add its own
(`EventConsumer(reason_codes=...)`: intake's invalid submissions). `dsr_dead_letters_total` exports
each consumer's codes at 0 from start-up."""


class DeadLetters:
    def __init__(self, producer: AIOKafkaProducer, settings: Settings, service: str):
        self.producer = producer
        self.settings = settings
        self.service = service

    async def publish(
        self,
        *,
        consumer: str,
        reason_code: str,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes,
    ) -> None:
        """Publish and wait for the broker's ack, retrying, so that the caller may then commit."""
        envelope = Envelope[DeadLetterRecorded](
            event_type="dead_letter.recorded",
            producer=self.service,
            payload=DeadLetterRecorded(
                reason_code=reason_code,
                consumer=consumer,
                source_topic=topic,
                source_partition=partition,
                source_offset=offset,
                original_key_b64=base64.b64encode(key).decode() if key is not None else None,
                original_value_b64=base64.b64encode(value).decode(),
            ),
        )
        data = envelope.model_dump_json().encode()
        delay = 0.2
        while True:
            try:
                await self.producer.send_and_wait(self.settings.topic(DEAD_LETTER), value=data, key=key)
                break
            except Exception as exc:  # the broker is away: keep the message, try again
                log.warning("dead-letter publish failed; retrying", extra={"error": type(exc).__name__})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        metrics.DEAD_LETTERS.labels(consumer, reason_code).inc()
        log.warning(
            "event dead-lettered",
            extra={
                "consumer": consumer,
                "reason": reason_code,
                "topic": topic,
                "partition": partition,
                "offset": offset,
            },
        )
