"""Group commit for the HTTP intake: submissions that arrive together share one transaction.

A request does not wait for company: the first one in an idle moment starts a transaction at once.
While transactions are in flight, newcomers queue; the next transaction takes them all (up to a
maximum). Under light load every submission commits alone; under heavy load the database sees a
few set-based statements per batch instead of three round trips per request.

A batch that fails as a whole (a database error, not an invalid submission) is retried one
submission per transaction, so one bad row can never fail its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import UTC, datetime

import asyncpg

from services.intake import admission
from services.intake.domain.identifiers import InvalidIdentifier

log = logging.getLogger(__name__)


class GroupCommit:
    def __init__(
        self, pool: asyncpg.Pool, *, accept_synthetic: bool, max_batch: int = 64, transactions: int = 2
    ):
        self.pool = pool
        self.accept_synthetic = accept_synthetic
        self.max_batch = max_batch
        self.transactions = transactions
        self._queue: deque[tuple[admission.Pending, asyncio.Future[admission.Submitted]]] = deque()
        self._active = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, pending: admission.Pending) -> admission.Submitted:
        """Store one submission (in whichever batch takes it); raises `InvalidIdentifier`."""
        future: asyncio.Future[admission.Submitted] = asyncio.get_running_loop().create_future()
        self._queue.append((pending, future))
        if self._active < self.transactions:
            self._active += 1
            task = asyncio.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
                await self._commit(batch)
        finally:
            self._active -= 1

    async def _commit(
        self, batch: list[tuple[admission.Pending, asyncio.Future[admission.Submitted]]]
    ) -> None:
        now = datetime.now(UTC)
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                results = await admission.submit_many(
                    conn, [p for p, _ in batch], now=now, accept_synthetic=self.accept_synthetic
                )
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            log.warning(
                "a group commit failed; committing its submissions one by one", extra={"size": len(batch)}
            )
            for item in batch:
                await self._commit([item])
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result)


def _settle(
    future: asyncio.Future[admission.Submitted],
    result: admission.Submitted | InvalidIdentifier | BaseException,
) -> None:
    if future.done():  # the client went away
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
