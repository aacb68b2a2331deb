"""`dsr bench`: the whole pipeline under load, from the public intake to the stored result.

Requests go in over HTTP like any integrator's; what happened to them is read back from the
ledger afterwards (each status change carries its time), so the figures are the pipeline's own,
not the client's guess. Every service, PostgreSQL and the broker run on this machine, as in
`dsr up`; a sampler thread records CPU seconds and peak memory of each process meanwhile.

Phases:
- steady: access requests at a fixed, modest rate; latency from intake to the extract stored;
- mixed: a mix of request types as fast as the intake takes them; completions per second;
- the mixed phase again for each further worker count asked for (scaling).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import random
import secrets
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console

from services.bench.measure import Connection, ProcessSampler, percentiles, process_ids
from services.bench.pipeline_report import print_phase, print_scaling, render_chart
from services.demo.placement import DemoSources

# Types whose handling needs no person (an objection always waits for the DPO, so it is left out).
MIX: dict[str, float] = {
    "access": 0.40,
    "erasure": 0.15,
    "marketing_opt_out": 0.15,
    "newsletter_unsubscribe": 0.10,
    "portability": 0.07,
    "restriction": 0.07,
    "consent_withdrawal": 0.06,
}
# Statuses after which the pipeline has nothing more to do without a person.
SETTLED = ("completed", "referred", "refused", "cancelled", "needs_review", "awaiting_verification")
# Signed in to Plan & Pay with BankID: high assurance, so every type proceeds without a person.
VERIFICATION = {"method": "bankid", "checks": ["national_id"], "verified_by": "plan-and-pay"}


@dataclass
class Sent:
    request_type: str
    request_id: uuid.UUID | None
    http_seconds: float
    status: int


@dataclass
class PhaseResult:
    name: str
    workers: int
    sent: list[Sent]
    submit_seconds: float
    settle_seconds: float
    unsettled: int
    outcomes: Counter[str]
    end_to_end_ms: dict[str, list[float]]
    stages_ms: dict[str, list[float]]
    completions_per_second: list[int]
    processes: dict[str, dict[str, float]]
    ledger_bytes: int = 0
    """Growth of the ledger database during the phase (for sizing PostgreSQL's disk)."""
    artifact_bytes: int = 0

    def figures(self) -> dict[str, Any]:
        accepted = [s for s in self.sent if s.request_id is not None]
        settled = len(accepted) - self.unsettled
        return {
            "phase": self.name,
            "workers": self.workers,
            "requests": len(self.sent),
            "http_errors": sum(1 for s in self.sent if s.request_id is None),
            "intake_per_second": round(len(accepted) / self.submit_seconds, 1)
            if self.submit_seconds
            else None,
            "settled_per_second": round(settled / self.settle_seconds, 1) if self.settle_seconds else None,
            "unsettled": self.unsettled,
            "outcomes": dict(self.outcomes),
            "http_ms": percentiles([s.http_seconds * 1000 for s in self.sent]),
            "end_to_end_ms": {t: percentiles(v) for t, v in sorted(self.end_to_end_ms.items())},
            "stages_ms": {s: percentiles(v) for s, v in sorted(self.stages_ms.items())},
            "completions_per_second": self.completions_per_second,
            "processes": self.processes,
            "ledger_kb_per_request": round(self.ledger_bytes / 1024 / max(1, len(accepted)), 1),
            "artifact_kb_per_request": round(self.artifact_bytes / 1024 / max(1, len(accepted)), 1),
        }


def body(request_type: str, person: dict[str, str]) -> bytes:
    subject = {kind: value for kind, value in person.items() if kind in ("national_id", "email", "phone")}
    return json.dumps(
        {"type": request_type, "channel": "plan_and_pay", "subject": subject, "verification": VERIFICATION}
    ).encode()


def check_mix(only: tuple[str, ...]) -> None:
    """Raises ValueError naming the types that are not in MIX."""
    unknown = set(only) - set(MIX)
    if unknown:
        raise ValueError(
            f"not in the bench's mix: {', '.join(sorted(unknown))} (choose from {', '.join(MIX)})"
        )


def mixed_types(count: int, seed: int, only: tuple[str, ...] = ()) -> list[str]:
    """`count` request types drawn by the MIX weights; `only` keeps some of them (e.g. a burst of
    marketing opt-outs)."""
    check_mix(only)
    weights = {kind: weight for kind, weight in MIX.items() if not only or kind in only}
    rng = random.Random(seed)
    return rng.choices(list(weights), weights=list(weights.values()), k=count)


async def submit_all(
    urls: list[str],
    key: str,
    bodies: list[tuple[str, bytes]],
    *,
    rate: float | None,
    connections: int,
    progress: Callable[[int], None],
) -> tuple[list[Sent], float]:
    """Send every body; at `rate` per second (open loop) or as fast as `connections` clients go."""
    sent: list[Sent | None] = [None] * len(bodies)
    clients: asyncio.Queue[Connection] = asyncio.Queue()
    for number in range(connections):  # spread over the intake workers
        host, port = urls[number % len(urls)].removeprefix("http://").split(":")
        conn = Connection(host, int(port), key)
        await conn.open()
        clients.put_nowait(conn)
    done = 0

    async def one(index: int, request_type: str, payload: bytes, scheduled: float) -> None:
        nonlocal done
        conn = await clients.get()
        try:
            status, answer = await conn.exchange(payload)
        finally:
            clients.put_nowait(conn)
        request_id = uuid.UUID(json.loads(answer)["id"]) if status == 202 else None
        sent[index] = Sent(request_type, request_id, time.perf_counter() - scheduled, status)
        done += 1
        if done % 100 == 0:
            progress(done)

    started = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    if rate is None:
        queue = iter(enumerate(bodies))

        async def client() -> None:
            for index, (request_type, payload) in queue:
                await one(index, request_type, payload, time.perf_counter())

        await asyncio.gather(*(client() for _ in range(connections)))
    else:
        for index, (request_type, payload) in enumerate(bodies):
            scheduled = started + index / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index, request_type, payload, scheduled)))
        await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    progress(len(bodies))
    while not clients.empty():
        await clients.get_nowait().close()
    return [s for s in sent if s is not None], elapsed


async def wait_settled(
    conn: asyncpg.Connection, ids: list[uuid.UUID], *, within: float, progress: Callable[[int], None]
) -> int:
    """Wait until every request has settled; returns how many had not when time ran out."""
    deadline = time.monotonic() + within
    while True:
        settled: int = await conn.fetchval(
            "select count(*) from requests where id = any($1::uuid[]) and status = any($2::text[])",
            ids,
            list(SETTLED),
        )
        progress(settled)
        if settled == len(ids) or time.monotonic() > deadline:
            return len(ids) - settled
        await asyncio.sleep(0.5)


async def read_history(
    conn: asyncpg.Connection, sent: list[Sent]
) -> tuple[Counter[str], dict[str, list[float]], dict[str, list[float]], list[int], float]:
    """End-to-end and per-stage latencies from the status history, completions per second, and the
    time from the first request received to the last one settled."""
    types = {s.request_id: s.request_type for s in sent if s.request_id is not None}
    rows = await conn.fetch(
        """select request_id, status, at from request_status_history
           where request_id = any($1::uuid[]) order by request_id, id""",
        list(types),
    )
    history: dict[uuid.UUID, list[tuple[str, float]]] = defaultdict(list)
    for row in rows:
        history[row["request_id"]].append((row["status"], row["at"].timestamp()))
    outcomes: Counter[str] = Counter()
    end_to_end: dict[str, list[float]] = defaultdict(list)
    stages: dict[str, list[float]] = defaultdict(list)
    settled_at: list[float] = []
    first = min((h[0][1] for h in history.values() if h), default=0.0)
    for request_id, steps in history.items():
        for (a, at_a), (b, at_b) in itertools.pairwise(steps):
            stages[f"{a} → {b}"].append((at_b - at_a) * 1000)
        final, at_final = steps[-1]
        if final in SETTLED:
            outcomes[final] += 1
            end_to_end[f"{types[request_id]} → {final}"].append((at_final - steps[0][1]) * 1000)
            settled_at.append(at_final)
    # The outbox hop: from the transaction that wrote an event to the relay's publication of it.
    relayed = await conn.fetch(
        """select producer, event_type, extract(epoch from published_at - created_at) * 1000 as ms
           from outbox where request_id = any($1::uuid[]) and published_at is not null""",
        list(types),
    )
    for row in relayed:
        stages[f"outbox: {row['producer']} {row['event_type']}"].append(float(row["ms"]))
    per_second = Counter(int(t - first) for t in settled_at)
    span = max(per_second, default=-1) + 1
    last = max(settled_at, default=first)
    return outcomes, end_to_end, stages, [per_second.get(i, 0) for i in range(span)], last - first


async def run_phase(
    name: str,
    *,
    urls: list[str],
    key: str,
    database_url: str,
    bodies: list[tuple[str, bytes]],
    rate: float | None,
    connections: int,
    workers: int,
    pids: dict[str, int],
    settle_timeout: float,
    progress: Callable[[str], None],
) -> PhaseResult:
    size = "select pg_database_size(current_database())"
    conn = await asyncpg.connect(database_url)
    try:
        ledger_before = await conn.fetchval(size)
        sampler = ProcessSampler(pids)
        sampler.start()
        total = len(bodies)
        how = f"at {rate:g}/s" if rate else "as fast as the intake takes them"
        sent, submit_seconds = await submit_all(
            urls,
            key,
            bodies,
            rate=rate,
            connections=connections,
            progress=lambda n: progress(f"{name}: submitted {n:,}/{total:,} {how}"),
        )
        ids = [s.request_id for s in sent if s.request_id is not None]
        unsettled = await wait_settled(
            conn,
            ids,
            within=settle_timeout,
            progress=lambda n: progress(f"{name}: {n:,}/{len(ids):,} requests settled"),
        )
        processes = sampler.stop()
        outcomes, end_to_end, stages, per_second, span = await read_history(conn, sent)
        ledger_bytes = await conn.fetchval(size) - ledger_before
        artifact_bytes = await conn.fetchval(
            "select coalesce(sum(size), 0)::bigint from artifacts where request_id = any($1::uuid[])", ids
        )
    finally:
        await conn.close()
    return PhaseResult(
        name=name,
        workers=workers,
        sent=sent,
        submit_seconds=submit_seconds,
        settle_seconds=span,
        unsettled=unsettled,
        outcomes=outcomes,
        end_to_end_ms=end_to_end,
        stages_ms=stages,
        completions_per_second=per_second,
        processes=processes,
        ledger_bytes=ledger_bytes,
        artifact_bytes=artifact_bytes,
    )


@dataclass(frozen=True)
class BenchPlan:
    subjects: int = 100_000
    steady_requests: int = 1_500
    steady_rate: float = 50.0
    mixed_requests: int = 6_000
    connections: int = 32
    workers: tuple[int, ...] = (1,)
    settle_timeout: float = 300.0
    seed: int = 42
    mix: tuple[str, ...] = ()
    """Request types of the mixed phase; empty: all of MIX by its weights."""


async def sample_people(
    server_url: str, count: int, seed: int, sources: DemoSources | None = None
) -> list[dict[str, str]]:
    """Distinct people from the demo systems (debtors, invoice recipients, newsletter subscribers)."""
    from services.bench.locate import sample_subjects

    people = await sample_subjects(server_url, "", int(count * 1.3) + 50, seed, sources)
    unique: dict[str, dict[str, str]] = {}
    for person in people:
        plain = {str(kind): value for kind, value in person.items()}
        marker = plain.get("national_id") or plain.get("email") or plain.get("phone") or ""
        if marker and marker not in unique:
            unique[marker] = plain
    chosen = list(unique.values())[:count]
    if len(chosen) < count:
        raise RuntimeError(
            f"only {len(chosen)} distinct people found for {count} requests; load more subjects"
        )
    return chosen


def run_bench(plan: BenchPlan, *, output: Path, console: Console) -> list[dict[str, Any]]:
    """Start PostgreSQL, load the demo systems, then for each worker count start the broker and every
    service, run the phases, and stop them; prints a table and writes JSON and an HTML chart."""
    import tempfile

    from services.demo.loader import create_demo_systems
    from services.demo.newsletter_accounts import start_demo_newsletter
    from services.launcher.embedded_broker import EmbeddedBroker
    from services.launcher.embedded_postgres import EmbeddedPostgres
    from services.launcher.ledger import LEDGER_DATABASE, prepare_ledger
    from services.launcher.ports import free_port, free_ports
    from services.launcher.supervisor import Supervisor
    from services.notifier.sink import MailSink
    from services.runtime.settings import Settings

    root = Path(tempfile.mkdtemp(prefix="dsr-bench-"))
    postgres = EmbeddedPostgres(root / "postgres")
    # The notifier mails the subjects as in production; the sink stands for the company's mail
    # server (outside the measured processes). Without it every notice would fail and be retried.
    mail = MailSink(free_port()).start()
    # The demo's newsletter SaaS (the marketing system) is served from this process, like `dsr up`.
    newsletter, sources = start_demo_newsletter(root, process=True)
    results: list[dict[str, Any]] = []
    try:
        server_url = postgres.start()
        with console.status(f"Loading {plan.subjects:,} people into the demo systems..."):
            started = time.perf_counter()
            asyncio.run(
                create_demo_systems(server_url, subjects=plan.subjects, seed=plan.seed, sources=sources)
            )
        console.print(f"Loaded {plan.subjects:,} people in {time.perf_counter() - started:.1f} s")
        need = plan.steady_requests + plan.mixed_requests * len(plan.workers)
        people = iter(asyncio.run(sample_people(server_url, need, plan.seed, sources)))
        database_url = postgres.url(LEDGER_DATABASE)
        for index, workers in enumerate(plan.workers):
            broker = EmbeddedBroker(root / f"broker-{workers}")
            supervisor: Supervisor | None = None
            try:
                with console.status(f"Starting the broker and every service ({workers} worker(s) each)..."):
                    bootstrap = broker.start()
                    settings = Settings(database_url=database_url, kafka_bootstrap=bootstrap)
                    asyncio.run(prepare_ledger(server_url, database_url, settings))
                    key = secrets.token_urlsafe(24)
                    env = {
                        **sources.env(""),
                        "DSR_DATABASE_URL": database_url,
                        "DSR_KAFKA_BOOTSTRAP": bootstrap,
                        "DSR_API_KEYS": f"bench:system:{key}",
                        "DSR_DATA_DIR": str(root),
                        "DSR_LOG_LEVEL": "WARNING",
                        "DSR_ACCEPT_SYNTHETIC_IDS": "true",
                        "DSR_ARTIFACT_KEYS": "bench:" + base64.b64encode(secrets.token_bytes(32)).decode(),
                        "DSR_SMTP_HOST": "127.0.0.1",
                        "DSR_SMTP_PORT": str(mail.port),
                        "DSR_SMTP_TLS": "none",
                    }
                    supervisor = Supervisor.for_services(
                        env, root / f"logs-{workers}", free_port(), workers=workers, child_port=free_ports()
                    )
                    supervisor.start()
                    supervisor.wait_ready(90)
                urls = [c.url for c in supervisor.children if c.name.startswith("intake")]
                pids = process_ids(supervisor, postgres, broker)
                phases: list[tuple[str, list[tuple[str, bytes]], float | None]] = []
                if index == 0 and plan.steady_requests > 0:
                    steady = [("access", body("access", next(people))) for _ in range(plan.steady_requests)]
                    phases.append(("steady", steady, plan.steady_rate))
                if plan.mixed_requests > 0:
                    types = mixed_types(plan.mixed_requests, plan.seed + workers, plan.mix)
                    phases.append(("mixed", [(t, body(t, next(people))) for t in types], None))
                for name, bodies, rate in phases:
                    with console.status("") as status:
                        result = asyncio.run(
                            run_phase(
                                name,
                                urls=urls,
                                key=key,
                                database_url=database_url,
                                bodies=bodies,
                                rate=rate,
                                connections=plan.connections
                                if rate is None
                                else max(8, plan.connections // 2),
                                workers=workers,
                                pids=pids,
                                settle_timeout=plan.settle_timeout,
                                progress=status.update,
                            )
                        )
                    figures = result.figures()
                    results.append(figures)
                    print_phase(console, figures)
            finally:
                if supervisor is not None:
                    supervisor.stop()
                broker.stop()
    finally:
        postgres.stop()
        mail.stop()
        newsletter.stop()
    console.print(f"Mail server stand-in caught {len(mail.messages):,} notices")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"plan": asdict(plan), "phases": results}, indent=2) + "\n")
    chart = output.with_suffix(".html")
    chart.write_text(render_chart(plan, results))
    if len(plan.workers) > 1:
        print_scaling(console, results)
    console.print(f"Figures written to {output}; chart to {chart}")
    return results
