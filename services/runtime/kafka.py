"""Kafka plumbing: topic creation from the registry and the producer the relay and dead letters use."""

from __future__ import annotations

import contextlib
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas.registry import TOPICS
from services.runtime.partitioning import default_partition
from services.runtime.settings import Settings

log = logging.getLogger(__name__)


async def ensure_topics(settings: Settings) -> list[str]:
    """Create every registry topic that is missing; return the names created.

    Topics are created explicitly because a broker's auto-creation would pick its own partition
    count and retention.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                settings.topic(spec.name),
                num_partitions=spec.partitions,
                replication_factor=settings.topic_replication,
                topic_configs={"cleanup.policy": spec.cleanup_policy, "retention.ms": str(spec.retention_ms)},
            )
            for spec in TOPICS.values()
            if settings.topic(spec.name) not in existing
        ]
        if not wanted:
            return []
        with contextlib.suppress(TopicAlreadyExistsError):  # another service was quicker
            await admin.create_topics(wanted)
        created = [t.name for t in wanted]
        log.info("topics created", extra={"topics": created})
        return created
    finally:
        await admin.close()


def create_producer(settings: Settings, client_id: str) -> AIOKafkaProducer:
    # acks=all and no idempotence: the embedded broker cannot InitProducerId, and consumers
    # deduplicate anyway (delivery is at least once by design).
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=False,
        linger_ms=2,
        request_timeout_ms=15_000,
        max_request_size=2 * 1024 * 1024,
        partitioner=default_partition,
    )
