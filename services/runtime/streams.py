"""The Faust app factory: consumers as stream agents, tuned to join a group in seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import faust

from services.runtime import metrics
from services.runtime.batching import take_batches
from services.runtime.consumer import EventConsumer, Message
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

METADATA_MAX_AGE_MS = 10_000
"""How old a consumer's view of its topics may get (aiokafka's default is 5 minutes). A broker that
lost its topics and had them created again is seen within this time, not minutes later."""

STOP_SECONDS = 15.0
"""The longest wait for a stream app to stop (a half-started one may wait on a broker that went)."""


def broker_urls(bootstrap: str) -> list[str]:
    return [f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip()]


def _bound_fetch_wait(seconds: float) -> None:
    """Faust creates its aiokafka consumer with `fetch_max_wait_ms=1500`, fixed. A broker that holds
    a fetch for that long even when data arrives meanwhile (the embedded Tansu does: measured p50
    396 ms per hop at 1,500 ms, 3 ms at 20 ms) adds it to every hop; bound it. With Apache Kafka,
    whose fetches return as soon as data arrives, a shorter wait only means more idle fetches."""
    from faust.transport.drivers import aiokafka as driver

    thread = driver.AIOKafkaConsumerThread
    original = getattr(thread, "_dsr_original_create_worker_consumer", None)
    if original is None:
        original = thread._create_worker_consumer
        thread._dsr_original_create_worker_consumer = original  # type: ignore[attr-defined]
    wait_ms = int(seconds * 1000)

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = wait_ms
        log.info("kafka consumer created", extra={"fetch_max_wait_ms": consumer._fetch_max_wait_ms})
        return consumer

    thread._create_worker_consumer = create  # type: ignore[method-assign]


def create_stream_app(service: str, settings: Settings) -> faust.App:
    """A Faust app for `service`; its consumer group is the service name (prefixed in tests).

    Offsets are committed every `consumer_commit_interval`; an event whose database effect
    committed but whose offset did not is delivered again and skipped by the inbox.
    """
    assert settings.kafka_bootstrap, "kafka_bootstrap must be set before creating a stream app"
    _bound_fetch_wait(settings.consumer_fetch_wait)
    datadir = Path(settings.data_dir) / "streams" / service
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"{settings.topic_prefix}dsr-{service}",
        broker=broker_urls(settings.kafka_bootstrap),
        autodiscover=False,
        web_enabled=False,
        datadir=str(datadir),
        store="memory://",
        topic_disable_leader=True,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.consumer_session_timeout,
        broker_heartbeat_interval=settings.consumer_heartbeat,
        broker_rebalance_timeout=max(settings.consumer_session_timeout, 6.0),
        broker_commit_interval=settings.consumer_commit_interval,
        broker_commit_every=50,
        producer_acks=-1,
        stream_wait_empty=False,
        table_standby_replicas=0,
        consumer_metadata_max_age_ms=METADATA_MAX_AGE_MS,
    )
    app.dsr_assigned = False  # type: ignore[attr-defined]

    async def _assigned(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        app.dsr_assigned = True  # type: ignore[attr-defined]

    app.on_rebalance_complete.connect(_assigned)  # type: ignore[arg-type]  # mode types the sender positionally
    return app


async def start_stream_app(
    service: str, settings: Settings, consumers: Sequence[EventConsumer], within: float
) -> faust.App:
    """A fresh stream app running `consumers`, started (its group joined, partitions assigned)
    within `within` seconds, or stopped again and the failure raised, for the caller to try anew.

    Faust's start does not survive its broker going away half-way: it raises (a bootstrap that
    found no broker), or may wait without end, and the app it leaves cannot be started again. So
    every attempt is a new app with the consumers bound afresh; what an aborted attempt had read
    but not committed is read again and skipped by the inbox."""
    app = create_stream_app(service, settings)
    for consumer in consumers:
        bind(app, consumer)
    try:
        await asyncio.wait_for(app.start(), within)
        if app.crashed:  # a child that failed after the start returned
            raise RuntimeError(f"the stream app crashed while starting: {type(app.crash_reason).__name__}")
    except BaseException:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(app.stop(), STOP_SECONDS)
        raise
    return app


def forgotten(read_offsets: Mapping[Any, int | None], highwaters: Mapping[Any, int | None]) -> list[Any]:
    """Partitions the broker has forgotten: it now ends before what this consumer already read.

    That happens only when the broker lost the topic (a wiped single-node broker, a topic deleted
    and created again). Faust then drops every message below its old read offset as already seen,
    so the partition's new events would be ignored until its offsets grew past the old ones.
    A read offset is the last offset handled, or after a rebalance the committed one (the next to
    read), which may equal the end: only an end below it is a loss."""
    return [
        tp
        for tp, read in read_offsets.items()
        if read is not None and (end := highwaters.get(tp)) is not None and read > end
    ]


async def _restart_forgotten(app: faust.App) -> None:
    """Read forgotten partitions again from their start; the inbox skips what was handled."""
    consumer: Any = app.consumer  # Faust keeps its read and committed offsets private
    assigned = set(consumer.assignment())
    read_offsets = {tp: consumer._read_offset.get(tp) for tp in assigned}
    lost = forgotten(read_offsets, {tp: consumer.highwater(tp) for tp in assigned})
    for tp in lost:
        log.warning(
            "partition ends before what was read: the broker lost it; reading it from the start",
            extra={"topic": tp.topic, "partition": tp.partition},
        )
        consumer._committed_offset[tp] = None
        await consumer.seek(tp, 0)
        metrics.PARTITIONS_RESTARTED.labels(tp.topic).inc()


async def report_lag(
    current: Callable[[], faust.App], consumers: list[EventConsumer], every: float = 5.0
) -> None:
    """Set `dsr_consumer_lag` from the broker's high-water marks and what each consumer handled;
    restart partitions the broker has forgotten (`forgotten`). `current` is the stream app of the
    moment (a crashed one is replaced)."""
    while True:
        await asyncio.sleep(every)
        app = current()
        try:
            await _restart_forgotten(app)
        except Exception:  # not assigned yet, or rebalancing: next round
            log.debug("forgotten-partition check skipped", exc_info=True)
        consumer_by_topic = {c.settings.topic(c.topic): c for c in consumers}
        lag: dict[tuple[str, str], int] = {}
        try:
            for tp in app.consumer.assignment():
                consumer = consumer_by_topic.get(tp.topic)
                if consumer is None:
                    continue
                highwater = app.consumer.highwater(tp) or 0
                handled = consumer.positions.get(tp.partition, -1) + 1
                key = (consumer.name, consumer.topic)
                lag[key] = lag.get(key, 0) + max(0, highwater - handled)
        except Exception:  # not assigned yet, or rebalancing: next round
            continue
        for (name, topic), value in lag.items():
            metrics.CONSUMER_LAG.labels(name, topic).set(value)


def bind(app: faust.App, consumer: EventConsumer) -> None:
    """Run `consumer` as an agent over its topic's raw bytes (decoding is the consumer's job)."""
    metrics.topic_known(consumer.settings.topic(consumer.topic))
    topic = app.topic(
        consumer.settings.topic(consumer.topic),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )

    settings = consumer.settings

    async def agent(stream: Any) -> None:
        # Events arrive in small batches: whatever came within `consumer_batch_wait` seconds, at
        # most `consumer_batch_max`; Faust acks (and later commits) them after the batch is handled.
        async for events in take_batches(stream, settings.consumer_batch_max, settings.consumer_batch_wait):
            await consumer.handle_batch(
                [
                    Message(e.message.key, e.message.value, e.message.partition, e.message.offset)
                    for e in events
                ]
            )

    agent.__name__ = f"{consumer.name}_agent"
    agent.__qualname__ = agent.__name__
    app.agent(topic, name=f"{consumer.name}")(agent)
