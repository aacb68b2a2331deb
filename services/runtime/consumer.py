"""One consumer of one topic: decode, dead-letter what cannot be used, handle the rest exactly once.

Error policy:
- a message that cannot be decoded, or that a handler declares unprocessable, goes to the
  dead-letter topic at once;
- a transient failure (database or broker away) is retried with backoff for as long as it takes,
  so nothing is lost and the partition simply waits;
- any other failure is retried `handler_max_attempts` times, then dead-lettered as `handler_failed`.
The consumer itself never stops on input.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import asyncpg

from schemas.envelope import Envelope
from schemas.registry import EVENTS
from services.runtime import metrics
from services.runtime.db import TRANSIENT_ERRORS
from services.runtime.deadletter import REASON_CODES, DeadLetters
from services.runtime.decoding import Rejected, decode
from services.runtime.faults import crash_point
from services.runtime.inbox import process_once
from services.runtime.ledger import RequestNotFound
from services.runtime.lifecycle import IllegalTransition
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

Handler = Callable[[asyncpg.Connection, Envelope[Any]], Awaitable[None]]
# Handles consecutive fresh events of one type together (set-based, a few round trips for all).
BatchHandler = Callable[[asyncpg.Connection, Sequence[Envelope[Any]]], Awaitable[None]]


class Message(NamedTuple):
    key: bytes | None
    value: bytes | None
    partition: int
    offset: int


class EventFailed(Exception):
    """Raised by a batch handler: the event at `index` of its batch failed with `cause`."""

    def __init__(self, index: int, cause: Exception):
        super().__init__(f"event {index} of the batch failed")
        self.index = index
        self.cause = cause


class Unprocessable(Exception):
    """Raised by a handler for an event that can never succeed; carries a reason code."""

    def __init__(self, reason_code: str, field_path: str | None = None):
        super().__init__(reason_code)
        self.reason_code = reason_code
        self.field_path = field_path


@dataclass(frozen=True)
class Unusable:
    """What a rejection hook learns about a message that is being dead-lettered."""

    reason_code: str
    field_path: str | None
    key: bytes | None
    envelope: dict[str, Any] | None  # the parsed JSON object, when the bytes were one; untrusted


RejectionHook = Callable[[asyncpg.Connection, Unusable], Awaitable[None]]


def _reason_code(exc: Exception) -> str:
    if isinstance(exc, Unprocessable):
        return exc.reason_code
    if isinstance(exc, IllegalTransition):
        return "illegal_transition"
    return "unknown_request"


class EventConsumer:
    def __init__(
        self,
        name: str,
        topic: str,
        handlers: dict[str, Handler],
        *,
        pool: asyncpg.Pool,
        dead_letters: DeadLetters,
        settings: Settings,
        on_rejected: RejectionHook | None = None,
        on_duplicate: Handler | None = None,
        batch_handlers: dict[str, BatchHandler] | None = None,
        reason_codes: Iterable[str] = (),
    ):
        unknown = [t for t in handlers if t not in EVENTS or EVENTS[t].topic != topic]
        if unknown:
            raise ValueError(f"{name}: handlers for event types not on {topic}: {unknown}")
        others = [t for t, spec in EVENTS.items() if spec.topic == topic and t not in handlers]
        metrics.consumer_known(name, handlers, others, (*REASON_CODES, *reason_codes))
        self.name = name
        self.topic = topic
        self.handlers = handlers
        self.pool = pool
        self.dead_letters = dead_letters
        self.settings = settings
        self.on_rejected = on_rejected
        # Runs (in a transaction) for an event already handled: e.g. intake answers a redelivered
        # submission again, since every intake event is promised an outcome.
        self.on_duplicate = on_duplicate
        # Optional set-based versions of handlers, used when a run of events shares a transaction;
        # the one-by-one path (retries, dead letters) always uses `handlers`.
        self.batch_handlers = batch_handlers or {}
        stray = [t for t in self.batch_handlers if t not in handlers]
        if stray:
            raise ValueError(f"{name}: batch handlers without a one-by-one handler: {stray}")
        # the last offset handled per partition, for the consumer-lag metric
        self.positions: dict[int, int] = {}
        # What one event has cost lately (starts cautious: a few events per first transaction).
        self._seconds_per_event = 0.01

    async def handle_message(
        self, *, key: bytes | None, value: bytes | None, partition: int, offset: int
    ) -> str:
        """Handle one message; returns the outcome (`handled`, `duplicate`, `ignored`, `dead_lettered`)."""
        self.positions[partition] = max(offset, self.positions.get(partition, -1))
        decoded = decode(value, self.topic)
        if isinstance(decoded, Rejected):
            await self._reject(decoded.reason_code, decoded.field_path, key, value, partition, offset)
            return self._count("unknown", "dead_lettered")
        handler = self.handlers.get(decoded.event_type)
        if handler is None:
            return self._count(decoded.event_type, "ignored")  # a known type another consumer wants
        started = time.perf_counter()
        outcome = await self._handle_with_retries(handler, decoded, key, value, partition, offset)
        metrics.HANDLER_SECONDS.labels(self.name, decoded.event_type).observe(time.perf_counter() - started)
        return self._count(decoded.event_type, outcome)

    async def handle_batch(self, messages: Sequence[Message]) -> list[str]:
        """Handle messages; each partition's in order, the partitions side by side.

        Every event of a request is on one partition (the key is the request id), so partitions
        need no order between them: handling them concurrently keeps the database busy while one
        of them waits on a round trip. Outcomes come back in the order of `messages`.
        """
        by_partition: dict[int, list[int]] = {}
        for index, message in enumerate(messages):
            by_partition.setdefault(message.partition, []).append(index)
        if len(by_partition) == 1:
            return await self._handle_partition(messages)
        results = await asyncio.gather(
            *(self._handle_partition([messages[i] for i in indexes]) for indexes in by_partition.values())
        )
        outcomes = [""] * len(messages)
        for indexes, partition_outcomes in zip(by_partition.values(), results, strict=True):
            for index, outcome in zip(indexes, partition_outcomes, strict=True):
                outcomes[index] = outcome
        return outcomes

    async def _handle_partition(self, messages: Sequence[Message]) -> list[str]:
        """Handle messages in order; runs of handleable events share one transaction.

        One transaction per run saves a BEGIN, a COMMIT and an inbox insert per event. If anything
        in a run fails, the run is rolled back whole and replayed one event at a time through
        `handle_message`, which has the retry and dead-letter policy.
        """
        outcomes: list[str] = []
        run: list[tuple[Message, Envelope[Any]]] = []
        for message in messages:
            self.positions[message.partition] = max(message.offset, self.positions.get(message.partition, -1))
            decoded = decode(message.value, self.topic)
            if not isinstance(decoded, Rejected) and decoded.event_type in self.handlers:
                run.append((message, decoded))
                continue
            outcomes.extend(await self._handle_run(run))
            run = []
            outcomes.append(await self.handle_message(**message._asdict()))
        outcomes.extend(await self._handle_run(run))
        return outcomes

    async def _handle_run(self, run: list[tuple[Message, Envelope[Any]]]) -> list[str]:
        """Commit the run in transactions of about `consumer_run_budget` seconds of work each.

        A transaction's events become visible (and their outbox events published) only when it
        commits, so an expensive handler (a locate, an extract) takes few events per transaction and
        a cheap one (an intake) many: throughput from batching, latency bounded by the budget.
        """
        outcomes: list[str] = []
        while run:
            size = max(1, int(self.settings.consumer_run_budget / self._seconds_per_event))
            outcomes.extend(await self._handle_chunk(run[:size]))
            run = run[size:]
        return outcomes

    async def _handle_chunk(self, run: list[tuple[Message, Envelope[Any]]]) -> list[str]:
        """Commit the chunk in one transaction; when event i fails, commit the events before it as
        a run, hand event i to the one-by-one path (retries, dead letters), and go on after it."""
        outcomes: list[str] = []
        while run:
            if len(run) == 1:
                outcomes.append(await self.handle_message(**run[0][0]._asdict()))
                break
            failed_at = await self._try_run(run, outcomes)
            if failed_at is None:
                break
            log.info("event failed inside a batch", extra={"consumer": self.name, "index": failed_at})
            outcomes.extend(await self._handle_chunk(run[:failed_at]))
            outcomes.append(await self.handle_message(**run[failed_at][0]._asdict()))
            run = run[failed_at + 1 :]
        return outcomes

    async def _try_run(self, run: list[tuple[Message, Envelope[Any]]], outcomes: list[str]) -> int | None:
        """One transaction for the whole run; returns the index of the event that failed, if any."""
        started = time.perf_counter()
        handled: set[Any] = set()
        position = 0
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                fresh = set(
                    await conn.fetchval(
                        """with ins as (
                               insert into processed_events (consumer, event_id, topic, partition, "offset")
                               select $1, e, $2, p, o from unnest($3::uuid[], $4::int[], $5::bigint[]) as t(e, p, o)
                               on conflict do nothing returning event_id)
                           select coalesce(array_agg(event_id), '{}') from ins""",
                        self.name,
                        self.topic,
                        [event.event_id for _, event in run],
                        [message.partition for message, _ in run],
                        [message.offset for message, _ in run],
                    )
                )
                batch: list[tuple[int, Envelope[Any]]] = []  # fresh events for one batch handler
                for index, (_, event) in enumerate(run):
                    fresh_here = event.event_id in fresh and event.event_id not in handled
                    batched = fresh_here and event.event_type in self.batch_handlers
                    if batch and not (batched and batch[0][1].event_type == event.event_type):
                        await self._flush(conn, batch)
                    position = index
                    if fresh_here:
                        handled.add(event.event_id)
                    if batched:
                        batch.append((index, event))
                    elif fresh_here:
                        await self.handlers[event.event_type](conn, event)
                    elif self.on_duplicate is not None:
                        await self.on_duplicate(conn, event)
                await self._flush(conn, batch)
        except _RunFailed as exc:
            return exc.position
        except Exception:
            return position
        for _ in handled:  # one passage per committed event, as on the one-by-one path
            crash_point(f"{self.name}.after_commit")
        elapsed = (time.perf_counter() - started) / len(run)
        # A moving average of the cost of one event, which sizes the next transaction.
        self._seconds_per_event = 0.8 * self._seconds_per_event + 0.2 * max(elapsed, 1e-5)
        for _, event in run:
            metrics.HANDLER_SECONDS.labels(self.name, event.event_type).observe(elapsed)
            outcome = "handled" if event.event_id in handled else "duplicate"
            handled.discard(event.event_id)  # a second copy in the same run is a duplicate
            outcomes.append(self._count(event.event_type, outcome))
        return None

    async def _flush(self, conn: asyncpg.Connection, batch: list[tuple[int, Envelope[Any]]]) -> None:
        """Run the batch handler over the collected events and empty the batch; a failure names the
        run index of the event that failed."""
        if not batch:
            return
        indexes, events = [i for i, _ in batch], [e for _, e in batch]
        batch.clear()
        try:
            await self.batch_handlers[events[0].event_type](conn, events)
        except EventFailed as exc:
            raise _RunFailed(indexes[exc.index]) from exc.cause
        except Exception as exc:
            raise _RunFailed(indexes[0]) from exc

    async def _handle_with_retries(
        self,
        handler: Handler,
        event: Envelope[Any],
        key: bytes | None,
        value: bytes | None,
        partition: int,
        offset: int,
    ) -> str:
        failures = 0
        delay = 0.1
        while True:
            try:
                fresh = await process_once(
                    self.pool,
                    self.name,
                    event.event_id,
                    lambda conn: handler(conn, event),
                    topic=self.topic,
                    partition=partition,
                    offset=offset,
                )
                if fresh:
                    crash_point(f"{self.name}.after_commit")
                elif self.on_duplicate is not None:
                    on_duplicate = self.on_duplicate
                    async with self.pool.acquire() as conn, conn.transaction():
                        await on_duplicate(conn, event)
                return "handled" if fresh else "duplicate"
            except (Unprocessable, IllegalTransition, RequestNotFound) as exc:
                field_path = exc.field_path if isinstance(exc, Unprocessable) else None
                await self._reject(_reason_code(exc), field_path, key, value, partition, offset)
                return "dead_lettered"
            except TRANSIENT_ERRORS as exc:
                metrics.HANDLER_RETRIES.labels(self.name, "transient").inc()
                log.warning(
                    "transient failure; retrying", extra={"consumer": self.name, "error": type(exc).__name__}
                )
            except Exception as exc:
                failures += 1
                metrics.HANDLER_RETRIES.labels(self.name, "error").inc()
                log.exception("handler failed", extra={"consumer": self.name, "attempt": failures})
                if failures >= self.settings.handler_max_attempts:
                    await self._reject("handler_failed", None, key, value, partition, offset)
                    del exc
                    return "dead_lettered"
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _reject(
        self,
        reason: str,
        field_path: str | None,
        key: bytes | None,
        value: bytes | None,
        partition: int,
        offset: int,
    ) -> None:
        """Tell the hook (e.g. intake's rejected outcome), then dead-letter. Both at least once."""
        if self.on_rejected is not None:
            unusable = Unusable(reason, field_path, key, _json_object(value))
            hook = self.on_rejected
            delay = 0.1
            while True:
                try:
                    async with self.pool.acquire() as conn, conn.transaction():
                        await hook(conn, unusable)
                    break
                except TRANSIENT_ERRORS:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
        await self._dead_letter(reason, key, value, partition, offset)

    async def _dead_letter(
        self, reason: str, key: bytes | None, value: bytes | None, partition: int, offset: int
    ) -> None:
        await self.dead_letters.publish(
            consumer=self.name,
            reason_code=reason,
            topic=self.topic,
            partition=partition,
            offset=offset,
            key=key,
            value=value or b"",
        )

    def _count(self, event_type: str, outcome: str) -> str:
        metrics.EVENTS_CONSUMED.labels(self.name, event_type, outcome).inc()
        return outcome


class _RunFailed(Exception):
    def __init__(self, position: int):
        super().__init__(position)
        self.position = position


def _json_object(value: bytes | None) -> dict[str, Any] | None:
    try:
        data = json.loads(value or b"")
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
