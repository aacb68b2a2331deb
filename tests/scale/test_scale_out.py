"""Scale-out: two workers of every service, as `dsr up --workers 2` starts them, share the work.

The consumers of each service share their topics' partitions through their consumer group; the
intake workers accept on the public API's port, one listening socket the supervisor holds. Under load, one worker of every service
is killed with SIGKILL and not restarted (HTTP and Kafka submissions keep coming): the other takes
over its partitions, its outbox relay and the API's connections, and every request completes once.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from schemas.registry import FULFILLED, INTAKE, LOCATED, TOPICS
from schemas.registry import REQUESTS as REQUESTS_TOPIC
from services.demo.placement import DemoSources
from services.launcher.ports import free_port, free_ports
from services.launcher.supervisor import SERVICES, Supervisor
from services.runtime.settings import Settings
from tests.pipeline.support import national_ids, publish, submission, submitted_event, to_bytes

pytestmark = pytest.mark.slow

AGENT = {"Authorization": "Bearer agent-secret-0123456789"}
REQUESTS = 60  # through the HTTP API
RATE = 6.0  # per second: the load runs ~10 s, the kill falls in its middle
EVENTS = 40  # through the Kafka intake, half before the kill and half after
CONSUMED = {
    "intake": INTAKE,
    "locator": REQUESTS_TOPIC,
    "fulfilment": LOCATED,
    "tracker": FULFILLED,
    "notifier": REQUESTS_TOPIC,
}


def test_every_consumed_topic_has_a_partition_for_each_of_two_workers() -> None:
    for service in SERVICES:
        assert TOPICS[CONSUMED[service]].partitions >= 2, service


def _subject(national_id: str) -> dict[str, str]:
    """A Plan & Pay subject: a national id, an email address and a phone number of its own."""
    return {
        "national_id": national_id,
        "email": f"scale.{national_id}@eksempel.no",
        "phone": f"+47 9{national_id[:7]}",
    }


async def _publish_submissions(settings: Settings, national_ids: list[str]) -> None:
    """Plan & Pay submissions, each keyed by its own idempotency key (spread over the partitions)."""
    messages = []
    for number in national_ids:
        key = f"pp-scale-{number}"
        body = submission(number, subject=_subject(number))
        messages.append((key.encode(), to_bytes(submitted_event(body, idempotency_key=key))))
    await publish(settings, INTAKE, messages)


def _personal_values(national_ids: list[str]) -> list[str]:
    values = []
    for subject in map(_subject, national_ids):
        phone = subject["phone"].replace(" ", "")
        values += [subject["national_id"], subject["email"], subject["phone"], phone, phone[3:]]
    return values


def _body(n: int) -> dict[str, Any]:
    return {
        "type": "access",
        "channel": "phone",
        "subject": {"case_number": f"SAK-SCALE-{n}"},
        "verification": {
            "method": "phone_checks",
            "checks": ["national_id", "address", "case_number"],
            "verified_by": "agent-scale",
        },
    }


async def _metrics(url: str) -> str:
    async with httpx.AsyncClient(timeout=5) as client:
        return (await client.get(f"{url}/metrics")).text


def _start_time(metrics: str) -> str:
    found = re.search(r"^process_start_time_seconds (\S+)$", metrics, re.M)
    assert found, "no process_start_time_seconds"
    return found.group(1)


def _handled(metrics: str) -> float:
    """Events this process's consumers handled (any consumer, outcome `handled`)."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("dsr_events_consumed_total{") and 'outcome="handled"' in line
    )


async def _api_workers(api_url: str, tries: int, until: set[str] | None = None) -> set[str]:
    """Which processes answer on the shared API port (a new connection each time), asking `tries`
    times or until every process of `until` answered."""
    seen: set[str] = set()
    for _ in range(tries):
        async with httpx.AsyncClient(timeout=5) as client:
            seen.add(_start_time((await client.get(f"{api_url}/metrics")).text))
        if until is not None and seen >= until:
            break
    return seen


async def _submit_all(api_url: str, kill_after: int, kill: asyncio.Event) -> dict[int, str]:
    """Submit REQUESTS requests at RATE; each retried with its idempotency key until accepted."""
    accepted: dict[int, str] = {}

    async def one(n: int) -> None:
        key = f"scale-{n}-{uuid.uuid4().hex[:8]}"
        deadline = time.monotonic() + 45
        while True:
            try:
                async with httpx.AsyncClient(base_url=api_url, headers=AGENT, timeout=10) as client:
                    response = await client.post(
                        "/v1/requests", json=_body(n), headers={"Idempotency-Key": key}
                    )
                if response.status_code == 202:
                    accepted[n] = response.json()["id"]
                    return
                assert response.status_code >= 500, response.text
            except httpx.TransportError:
                pass  # the worker that had the connection was killed: retry, same key
            assert time.monotonic() < deadline, f"request {n} never accepted"
            await asyncio.sleep(0.2)

    tasks = []
    for n in range(REQUESTS):
        if n == kill_after:
            kill.set()
        tasks.append(asyncio.create_task(one(n)))
        await asyncio.sleep(1 / RATE)
    await asyncio.gather(*tasks)
    return accepted


async def test_two_workers_of_every_service_share_the_work_and_one_of_each_can_die(
    settings: Settings, pool: asyncpg.Pool, demo_prefix: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    env = {
        "DSR_DATABASE_URL": str(settings.database_url),
        "DSR_KAFKA_BOOTSTRAP": str(settings.kafka_bootstrap),
        "DSR_TOPIC_PREFIX": settings.topic_prefix,
        "DSR_API_KEYS": settings.api_keys,
        "DSR_ARTIFACT_KEYS": settings.artifact_keys,
        "DSR_DATA_DIR": str(tmp_path / "data"),
        **DemoSources.from_env().env(demo_prefix),
        "DSR_OUTBOX_POLL_SECONDS": "0.5",
        "DSR_CONSUMER_COMMIT_INTERVAL": "0.5",
        "DSR_DB_POOL_MAX": "4",
    }
    api_port = free_port()
    supervisor = Supervisor.for_services(env, tmp_path / "logs", api_port, workers=2, child_port=free_ports())
    assert [c.name for c in supervisor.children] == [f"{s}-{w}" for s in SERVICES for w in (1, 2)]
    by_name = {c.name: c for c in supervisor.children}
    try:
        supervisor.start()
        await asyncio.to_thread(supervisor.wait_ready, 90)
        ready = time.monotonic() - started
        api = supervisor.api_url
        assert api == f"http://127.0.0.1:{api_port}"
        own = {name: _start_time(await _metrics(c.url)) for name, c in by_name.items()}
        both = {own["intake-1"], own["intake-2"]}
        assert await _api_workers(api, tries=200, until=both) == both, "both intake workers serve the API"

        people = national_ids(EVENTS, seed=8)
        await _publish_submissions(settings, people[: EVENTS // 2])
        await _until_completed(pool, EVENTS // 2, timeout=30)
        kill = asyncio.Event()
        load = asyncio.create_task(_submit_all(api, kill_after=REQUESTS // 2, kill=kill))
        await kill.wait()
        handled_before = {name: _handled(await _metrics(c.url)) for name, c in by_name.items()}
        victims = [by_name[f"{s}-1"] for s in SERVICES]
        for victim in victims:
            assert victim.process is not None
            os.kill(victim.process.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        for victim in victims:
            assert victim.process is not None
            victim.process.wait(5)
        await _publish_submissions(settings, people[EVENTS // 2 :])
        accepted = await load
        assert await _api_workers(api, tries=10) == {own["intake-2"]}

        assert len(accepted) == REQUESTS
        completed = await _until_completed(pool, REQUESTS + EVENTS, timeout=75)
        took_over = time.monotonic() - killed_at
        survivors = {
            s: _handled(await _metrics(by_name[f"{s}-2"].url)) for s in ("intake", "locator", "fulfilment")
        }
        metrics = [await _metrics(by_name[f"{s}-2"].url) for s in SERVICES]
    except BaseException:
        for child in supervisor.children:
            log = supervisor.log_dir / f"{child.name}.log"
            if log.exists():
                print(f"--- {child.name} (tail) ---\n{log.read_text(errors='replace')[-2500:]}")
        raise
    finally:
        await asyncio.to_thread(supervisor.stop, 10)

    # Both workers of each consuming service had handled events before the kill: they shared partitions.
    for service in ("intake", "locator", "fulfilment"):
        assert handled_before[f"{service}-1"] > 0 and handled_before[f"{service}-2"] > 0, handled_before
        assert survivors[service] > handled_before[f"{service}-2"], "the survivor took over"
    # Every request once: no duplicate created by a retried POST, each step once, one extract each.
    assert set(accepted.values()) <= {str(r) for r in completed}
    assert await pool.fetchval("select count(*) from requests") == REQUESTS + EVENTS
    assert await pool.fetchval("select count(*) from requests where channel = 'plan_and_pay'") == EVENTS
    twice = await pool.fetch(
        """select request_id, status, count(*) from request_status_history
           where status in ('received', 'verified', 'locating', 'fulfilling', 'completed')
           group by 1, 2 having count(*) <> 1"""
    )
    assert twice == []
    extracts = await pool.fetch(
        "select request_id, count(*) from artifacts where kind = 'extract_json' group by 1"
    )
    assert len(extracts) == REQUESTS + EVENTS and all(r["count"] == 1 for r in extracts)
    # after the whole run, no identifier of the test subjects in any worker's log or metrics
    logs = [(supervisor.log_dir / f"{c.name}.log").read_text(errors="replace") for c in supervisor.children]
    assert all('"msg": "service started"' in log for log in logs)
    for value in _personal_values(people):
        for text in [*logs, *metrics]:
            assert value not in text, "a personal value of the test data is in a log or metrics"
    print(
        f"scale-out: ready in {ready:.1f} s; {REQUESTS} HTTP requests at {RATE}/s and {EVENTS} Kafka events; "
        f"all completed {took_over:.1f} s after the kill; total {time.monotonic() - started:.1f} s; "
        f"handled before the kill {handled_before}, by the survivors in all {survivors}"
    )


async def _until_completed(pool: asyncpg.Pool, count: int, timeout: float) -> list[uuid.UUID]:
    deadline = time.monotonic() + timeout
    while True:
        rows = await pool.fetch("select id from requests where status = 'completed'")
        if len(rows) == count:
            return [r["id"] for r in rows]
        if time.monotonic() > deadline:
            statuses = dict(await pool.fetch("select status, count(*) from requests group by 1"))
            raise AssertionError(f"after {timeout} s: {statuses}")
        await asyncio.sleep(0.5)
