"""Batches of events from a Faust stream without a timer running while the topic is quiet.

Faust's `Stream.take_events(max, within)` wakes every `within` seconds whether or not an event
came: with our 3 ms batch wait that is 333 wake-ups a second per consumer, about 4 % of a core
per service with nothing to do (measured with py-spy on an idle `dsr up`). Here the wait for the
first event has no timeout; only once one is buffered does the batch wait at most `within` for
more. Acknowledgement is Faust's: events are acked after the batch was handled, so offsets are
committed only for handled events, exactly as with `take_events`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from mode.utils.aiter import aiter
from mode.utils.futures import notify


async def take_batches(stream: Any, max_: int, within: float) -> AsyncIterator[Sequence[Any]]:
    """Yield lists of at most `max_` events: the first one, and what else came within `within` s."""
    events: list[Any] = []
    started = asyncio.Event()  # the first event of the next batch is buffered
    full = asyncio.Event()
    consumed = asyncio.Event()
    consuming: asyncio.Future[None] | None = None
    acks_were_enabled: bool = stream.enable_acks

    async def add_to_buffer(value: Any) -> Any:
        nonlocal consuming
        try:
            if consuming is not None:  # the agent is reading the buffer: wait for it
                try:
                    await consuming
                finally:
                    consuming = None
            event = stream.current_event
            if event is None:
                raise RuntimeError("no current event while buffering")
            events.append(event)
            started.set()
            if len(events) >= max_:
                full.set()
                consumed.clear()
                await stream.wait(consumed)  # never more than `max_` in a batch
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            stream.log.exception("Error adding to batch buffer: %r", exc)
            await stream.crash(exc)
        return value

    stream.enable_acks = False  # acked below, after the batch was handled
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(started)  # no timeout: a quiet topic costs nothing
            if stream.should_stop:
                break
            await stream.wait_for_stopped(full, timeout=within)
            if not events:
                started.clear()
                continue
            consuming = asyncio.get_running_loop().create_future()
            try:
                yield list(events)
            finally:
                handled = list(events)
                events.clear()
                started.clear()
                for event in handled:
                    await stream.ack(event)
                notify(consuming)
                full.clear()
                consumed.set()
    finally:
        stream.enable_acks = acks_were_enabled
        stream._processors.remove(add_to_buffer)
