"""Load clients: integrators that submit requests and record every call in the history.

HTTP clients POST with an Idempotency-Key; Plan & Pay clients publish `request.submitted` events
keyed by theirs and learn the outcome from the outcomes topic. A call that ends unknown (or gets no
outcome) is sent again with the same key, as a real integrator would; whatever is still unknown at
the end is looked up by its key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.registry import INTAKE, INTAKE_OUTCOMES
from services.runtime.settings import Settings
from tests.fault.history import History, Outcome
from tests.pipeline.support import submitted_event

# Types whose outcome needs no person for these subjects (rectification and objection wait for one).
MIX: dict[str, float] = {
    "access": 0.30,
    "portability": 0.10,
    "erasure": 0.15,
    "restriction": 0.10,
    "marketing_opt_out": 0.15,
    "newsletter_unsubscribe": 0.10,
    "consent_withdrawal": 0.10,
}
VERIFICATION = {"method": "bankid", "checks": ["national_id"], "verified_by": "plan-and-pay"}
RETRY_AFTER = 1.0  # seconds before an unanswered HTTP call is sent again
OUTCOME_PATIENCE = 8.0  # seconds a Plan & Pay client waits for an outcome before publishing again


@dataclass(frozen=True)
class Work:
    key: str
    request_type: str
    person: dict[str, str]

    def body(self) -> dict[str, Any]:
        subject = {k: v for k, v in self.person.items() if k in ("national_id", "email", "phone")}
        return {
            "type": self.request_type,
            "channel": "plan_and_pay",
            "subject": subject,
            "verification": VERIFICATION,
        }


def plan_work(people: list[dict[str, str]], clients: list[str], seed: int) -> dict[str, list[Work]]:
    """One person per request (a second open request of one person would join the first), the
    types drawn from MIX, dealt round-robin to the clients."""
    rng = random.Random(seed)
    types = rng.choices(list(MIX), weights=list(MIX.values()), k=len(people))
    work: dict[str, list[Work]] = {c: [] for c in clients}
    for n, (person, request_type) in enumerate(zip(people, types, strict=True)):
        client = clients[n % len(clients)]
        work[client].append(Work(f"{client}-{n}", request_type, person))
    return work


async def http_client(
    name: str, url: str, secret: str, work: list[Work], history: History, *, pace: float, stop_at: float
) -> list[Work]:
    """Submit each item until acknowledged (or `stop_at`); returns the items never acknowledged."""
    unresolved: list[Work] = []
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {secret}"}, timeout=5.0
    ) as http:
        for item in work:
            if history.now() > stop_at:
                break
            while not await _post(http, name, item, history):
                if history.now() > stop_at:
                    unresolved.append(item)
                    break
                await asyncio.sleep(RETRY_AFTER)
            await asyncio.sleep(pace)
    return unresolved


async def _post(http: httpx.AsyncClient, name: str, item: Work, history: History) -> bool:
    op = history.invoke(name, "submit_http", item.key, item.request_type)
    try:
        response = await http.post("/v1/requests", json=item.body(), headers={"Idempotency-Key": item.key})
    except httpx.ConnectError as exc:  # nothing reached the server
        history.complete(op, "fail", reason=type(exc).__name__)
        return False
    except httpx.HTTPError as exc:  # sent, answer lost: stored or not, nobody knows
        history.complete(op, "unknown", reason=type(exc).__name__)
        return False
    if response.status_code == 202:
        history.complete(op, "ok", request_id=response.json()["id"], status=202)
        return True
    # a 5xx may come after the commit; a 4xx is a definite refusal (and a bug in this suite's data)
    outcome: Outcome = "unknown" if response.status_code >= 500 else "fail"
    history.complete(op, outcome, status=response.status_code, reason=_code(response))
    return False


def _code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("code") or response.json().get("detail"))[:80]
    except ValueError:
        return "no json"


async def look_up(url: str, secret: str, items: list[Work], history: History) -> None:
    """What happened to calls never acknowledged: ask by idempotency key (GET ?idempotency_key=K)."""
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {secret}"}, timeout=10.0
    ) as http:
        for item in items:
            op = history.invoke("lookup", "lookup", item.key, item.request_type)
            response = await http.get("/v1/requests", params={"idempotency_key": item.key})
            if response.status_code == 200:
                history.complete(op, "ok", request_id=response.json()["id"], status=200)
            else:
                history.complete(op, "fail", status=response.status_code, reason="not stored")


class PlanAndPay:
    """Plan & Pay's side of the Kafka intake: publishes submissions, reads outcomes, publishes again
    what got no outcome (the broker may have forgotten it)."""

    def __init__(self, settings: Settings, history: History) -> None:
        self.settings = settings
        self.history = history
        self.outcomes: dict[str, str] = {}  # key -> "ok" / "fail", first outcome seen
        self._seen: set[str | None] = set()  # outcome event ids already recorded
        self._producer: AIOKafkaProducer | None = None
        self._tap: asyncio.Task[None] | None = None

    async def __aenter__(self) -> PlanAndPay:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            enable_idempotence=False,
            acks="all",
            request_timeout_ms=4000,
        )
        await self._producer.start()
        self._tap = asyncio.create_task(self._read_outcomes())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._tap is not None:
            self._tap.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tap
        if self._producer is not None:
            await self._producer.stop()

    async def _read_outcomes(self) -> None:
        """Read the outcomes topic from the beginning, and again whenever nothing came for a while:
        after the broker forgot its topics, a reader that kept its old position saw nothing new
        (found in this suite's runs), so it starts over; outcomes already seen are skipped."""
        while True:
            consumer = AIOKafkaConsumer(
                self.settings.topic(INTAKE_OUTCOMES),
                bootstrap_servers=self.settings.kafka_bootstrap,
                auto_offset_reset="earliest",
                enable_auto_commit=False,
                group_id=None,
            )
            try:
                await consumer.start()
                idle_since = time.monotonic()
                while time.monotonic() - idle_since < 3.0:
                    batch = await consumer.getmany(timeout_ms=200)
                    for records in batch.values():
                        idle_since = time.monotonic()
                        for record in records:
                            self._outcome(record.value)
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(0.5)  # the broker is away: read again when it is back
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    def _outcome(self, value: bytes | None) -> None:
        envelope = json.loads(value or b"{}")
        key = envelope.get("idempotency_key")
        if key is None or not key.startswith("pp") or envelope.get("event_id") in self._seen:
            return
        self._seen.add(envelope.get("event_id"))
        op = self.history.invoke("outcomes", "outcome", key, "")
        payload = envelope.get("payload", {})
        if envelope.get("event_type") == "request.accepted":
            self.history.complete(op, "ok", request_id=payload.get("request_id"))
            self.outcomes.setdefault(key, "ok")
        else:
            self.history.complete(op, "fail", reason=payload.get("reason_code"))
            self.outcomes.setdefault(key, "fail")

    async def publish(self, name: str, item: Work) -> None:
        assert self._producer is not None
        op = self.history.invoke(name, "submit_kafka", item.key, item.request_type)
        event = submitted_event(item.body(), idempotency_key=item.key, event_id=str(uuid.uuid4()))
        try:
            await self._producer.send_and_wait(
                self.settings.topic(INTAKE), value=json.dumps(event).encode(), key=item.key.encode()
            )
        except Exception as exc:
            self.history.complete(op, "unknown", reason=type(exc).__name__)
            return
        # Published is not acknowledged: the outcome on the outcomes topic is.
        self.history.complete(op, "unknown", reason="published")

    async def client(
        self, name: str, work: list[Work], *, pace: float, new_until: float, stop_at: float
    ) -> list[Work]:
        """Publish each item until `new_until`; publish again any that got no outcome within
        OUTCOME_PATIENCE, until `stop_at`. Returns the items published but never answered."""
        sent: dict[str, tuple[Work, float]] = {}
        queue = list(work)
        while (queue or sent) and self.history.now() < stop_at:
            if self.history.now() > new_until:
                queue.clear()
            for key, (item, at) in list(sent.items()):
                if key in self.outcomes:
                    del sent[key]
                elif time.monotonic() - at > OUTCOME_PATIENCE:
                    await self.publish(name, item)
                    sent[key] = (item, time.monotonic())
            if queue:
                item = queue.pop(0)
                await self.publish(name, item)
                sent[item.key] = (item, time.monotonic())
            await asyncio.sleep(pace)
        return [item for item, _ in sent.values() if item.key not in self.outcomes]
