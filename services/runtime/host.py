"""The process host every service runs in: HTTP (health, metrics, the service's own routes),
the ledger pool, migrations, topics, the outbox relay and the stream agents, started and stopped
in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import faust
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.apidocs import routes as apidocs
from services.runtime import web
from services.runtime.consumer import EventConsumer
from services.runtime.db import create_pool
from services.runtime.deadletter import DeadLetters
from services.runtime.kafka import create_producer, ensure_topics
from services.runtime.logs import configure_logging
from services.runtime.migrator import migrate
from services.runtime.relay import OutboxRelay
from services.runtime.settings import Settings
from services.runtime.sockets import inherited_socket, listening_socket
from services.runtime.streams import STOP_SECONDS as STREAM_STOP_SECONDS
from services.runtime.streams import report_lag, start_stream_app

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What a running service has: handed to its consumers and routes."""

    service: str
    settings: Settings
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    dead_letters: DeadLetters
    relay: OutboxRelay
    stream_app: faust.App | None = None
    started_at: float = field(default_factory=time.monotonic)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


ConsumerFactory = Callable[[Runtime], Sequence[EventConsumer]]


@dataclass(frozen=True)
class ServiceSpec:
    """A service: its name, the consumers it runs and the HTTP routes it adds."""

    name: str
    consumers: ConsumerFactory = lambda _runtime: ()
    routers: Sequence[APIRouter] = ()
    title: str = ""
    configure: Callable[[FastAPI], None] | None = None
    background: Callable[[Runtime], Sequence[Coroutine[Any, Any, None]]] = lambda _runtime: ()
    """Loops the service runs besides its consumers (timers, retries); cancelled at shutdown."""


@dataclass
class Startup:
    """Where a starting service is: what it waits for and why (for `/readyz` and the logs). A
    service whose ledger or broker is away waits for it, however long, instead of exiting into a
    restart loop."""

    waiting_for: str | None = "start"
    error: str | None = None
    attempts: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"waiting_for": self.waiting_for, "error": self.error, "attempts": self.attempts}


STARTUP_RETRY_MAX_SECONDS = 5.0
"""The longest wait between two attempts at a dependency while starting."""


async def _retry(what: str, attempt: Callable[[], Any], startup: Startup) -> Any:
    delay = 0.1
    startup.waiting_for, startup.error, startup.attempts = what, None, 0
    while True:
        try:
            result = await attempt()
        except Exception as exc:
            startup.attempts += 1
            startup.error = type(exc).__name__
            log.warning(
                "waiting for dependency",
                extra={"dependency": what, "attempt": startup.attempts, "error": startup.error},
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, STARTUP_RETRY_MAX_SECONDS)
            continue
        startup.error = None
        return result


async def start_runtime(spec: ServiceSpec, settings: Settings, startup: Startup | None = None) -> Runtime:
    """Connect, migrate, start the producer, relay and consumers. Cancelled half-way (the service
    stops while it still waits for a dependency), it stops what it had started: nothing is left
    running behind a service that never became ready."""
    assert settings.database_url and settings.kafka_bootstrap, "database_url and kafka_bootstrap must be set"
    startup = startup or Startup()
    started: list[Callable[[], Awaitable[Any]]] = []
    try:
        return await _start(spec, settings, startup, started)
    except BaseException:
        for stop in reversed(started):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(stop(), 15)
        raise


async def _start(
    spec: ServiceSpec, settings: Settings, startup: Startup, started: list[Callable[[], Awaitable[Any]]]
) -> Runtime:
    pool = await _retry(
        "postgresql",
        lambda: create_pool(
            settings.database_url or "", min_size=settings.db_pool_min, max_size=settings.db_pool_max
        ),
        startup,
    )
    started.append(pool.close)

    async def _migrate() -> None:
        async with pool.acquire() as conn:
            await migrate(conn)

    await _retry("migrations", _migrate, startup)
    await _retry("kafka topics", lambda: ensure_topics(settings), startup)
    producer = create_producer(settings, client_id=f"dsr-{spec.name}")
    started.append(producer.stop)
    await _retry("kafka producer", producer.start, startup)
    relay = OutboxRelay(spec.name, pool, producer, settings)
    runtime = Runtime(spec.name, settings, pool, producer, DeadLetters(producer, settings, spec.name), relay)
    relay.start()
    started.append(relay.stop)
    consumers = spec.consumers(runtime)
    if consumers:
        runtime.stream_app = await _retry(
            "kafka consumers", _consumers_starter(spec.name, settings, consumers), startup
        )
        started.append(runtime.stream_app.stop)
    startup.waiting_for = None
    loops = list(spec.background(runtime))
    if runtime.stream_app is not None:
        loops.append(report_lag(lambda: _current_stream_app(runtime), list(consumers)))
        loops.append(_keep_consumers(runtime, lambda: _consumers_starter(spec.name, settings, consumers)))
    runtime.tasks = [asyncio.create_task(_keep_running(spec.name, loop)) for loop in loops]
    log.info("service started", extra={"seconds": round(time.monotonic() - runtime.started_at, 3)})
    return runtime


CONSUMERS_START_SECONDS = 20.0
"""How long one attempt at starting the consumers (joining their group) may take before it is given
up and a fresh one made: a join takes a few seconds, up to a rebalance timeout more when a member
that died is still in the group, and under load a few seconds beyond."""

CONSUMERS_START_MAX_SECONDS = 120.0
"""The longest attempt: each one that ran out of time doubles the next one's allowance, so a broker
that is merely slow is waited for, not interrupted over and over."""


def _consumers_starter(
    service: str, settings: Settings, consumers: Sequence[EventConsumer]
) -> Callable[[], Awaitable[faust.App]]:
    """One attempt at the consumers, for `_retry`: a fresh stream app, started within its time."""
    allowance = CONSUMERS_START_SECONDS

    async def attempt() -> faust.App:
        nonlocal allowance
        try:
            return await start_stream_app(service, settings, consumers, allowance)
        except TimeoutError:
            allowance = min(allowance * 2, CONSUMERS_START_MAX_SECONDS)
            raise

    return attempt


CONSUMERS_CHECK_SECONDS = 2.0
"""How often a running service looks whether its stream app crashed."""


def _current_stream_app(runtime: Runtime) -> faust.App:
    assert runtime.stream_app is not None
    return runtime.stream_app


async def _keep_consumers(
    runtime: Runtime, starter: Callable[[], Callable[[], Awaitable[faust.App]]]
) -> None:
    """Replace a stream app that crashed while running by a fresh one, made as at start-up.

    A Faust app whose child failed stops consuming for good (a Faust worker would exit); here the
    process goes on serving, so without this it would sit idle, its partitions unread. Until the
    new app is assigned, `/readyz` says the consumers are not ready."""
    while True:
        await asyncio.sleep(CONSUMERS_CHECK_SECONDS)
        crashed = runtime.stream_app
        if crashed is None or not crashed.crashed:
            continue
        log.error(
            "stream app crashed; starting a fresh one",
            extra={"error": type(crashed.crash_reason).__name__},
        )
        with contextlib.suppress(Exception):
            await asyncio.wait_for(crashed.stop(), STREAM_STOP_SECONDS)
        runtime.stream_app = await _retry("kafka consumers", starter(), Startup())
        log.info("stream app started again")


async def _keep_running(service: str, loop: Coroutine[Any, Any, None]) -> None:
    """A background loop that fails is logged, not silently lost (it should never return)."""
    try:
        await loop
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("background loop stopped", extra={"service": service})


async def stop_runtime(runtime: Runtime) -> None:
    """Stop taking work, let in-flight work finish, then release connections."""
    for task in runtime.tasks:
        task.cancel()
    for task in runtime.tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if runtime.stream_app is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(runtime.stream_app.stop(), 15)
    await runtime.relay.stop()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(runtime.producer.stop(), 10)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(runtime.pool.close(), 10)
    log.info("service stopped")


async def readiness(runtime: Runtime | None) -> dict[str, bool]:
    if runtime is None:
        return {"started": False}  # /readyz says what it waits for (`Startup`)
    checks = {"started": True}
    try:
        async with runtime.pool.acquire(timeout=2) as conn:
            checks["database"] = await asyncio.wait_for(conn.fetchval("select true"), 2) is True
    except Exception:
        checks["database"] = False
    if runtime.stream_app is not None:
        checks["consumers"] = bool(getattr(runtime.stream_app, "dsr_assigned", False)) and not (
            runtime.stream_app.crashed
        )
    return checks


def health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="The service can do its work: database reachable, consumers joined")
    async def readyz(request: Request) -> JSONResponse:
        checks = await readiness(getattr(request.app.state, "runtime", None))
        ready = all(checks.values())
        body: dict[str, object] = {"ready": ready, "checks": checks}
        startup: Startup | None = getattr(request.app.state, "startup", None)
        if not checks.get("started") and startup is not None:
            body["starting"] = startup.as_dict()  # names a dependency and an error type, nothing more
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def create_service_app(spec: ServiceSpec, settings: Settings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Serve /healthz and /readyz at once and start in the background: a service whose broker or
        # ledger is away waits (and says so), it does not exit into the supervisor's restart loop.
        startup = app.state.startup = Startup()

        async def start() -> None:
            try:
                app.state.runtime = await start_runtime(spec, settings, startup)
            except Exception as exc:
                # Every dependency is waited for, so this is a defect: said, not left to a task
                # whose exception nobody reads while /readyz answers "starting" for ever.
                startup.error = type(exc).__name__
                log.exception("service failed to start", extra={"stage": startup.waiting_for})
                raise

        starting = asyncio.create_task(start())
        try:
            yield
        finally:
            if not starting.done():
                starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await starting
            runtime, app.state.runtime = app.state.runtime, None
            if runtime is not None:
                await stop_runtime(runtime)

    app = FastAPI(
        title=spec.title or f"DSR {spec.name}",
        version="0.1.0",
        lifespan=lifespan,
        # FastAPI's own /docs and /redoc load their scripts from a CDN: ours serve them (issue 21).
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.runtime = None
    app.state.settings = settings
    web.install(app)
    app.include_router(health_router())
    app.include_router(apidocs.router)
    for router in spec.routers:
        app.include_router(router)
    if spec.configure is not None:
        spec.configure(app)
    return app


def _quiet_garbage_collector() -> None:
    """Fewer, later collections: a service allocates many short-lived objects per request, and the
    default thresholds run a young collection every 700 allocations and full ones that stall every
    request in flight. Everything loaded at start-up is frozen out of the collector's way."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's handling of `X-Forwarded-*`: off unless `DSR_TRUSTED_PROXIES` names the proxies.

    uvicorn believes those headers by default (from loopback), so any local client could claim any
    address and walk past the per-address limits of sign-in, the form and `/status`. Here a
    connection is its TCP peer unless that peer is a configured proxy (issue 22)."""
    trusted = [entry for entry in settings.trusted_proxies.split(",") if entry]
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}


def serve(spec: ServiceSpec, settings: Settings) -> None:
    """Run the service until SIGINT/SIGTERM (uvicorn turns both into a graceful shutdown).

    It serves on its own port (health, metrics, and the API when it runs alone) and, when the
    supervisor runs several workers of a public service, also on the listening socket they share.
    """
    import uvicorn

    configure_logging(spec.name, settings.log_level)
    _quiet_garbage_collector()
    port = settings.http_port or settings.api_port
    sockets = [listening_socket(settings.api_host, port)]
    if settings.shared_http_fd is not None:
        sockets.append(inherited_socket(settings.shared_http_fd))
    server = uvicorn.Server(
        uvicorn.Config(
            create_service_app(spec, settings),
            host=settings.api_host,
            port=port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
            lifespan="on",
            **proxy_options(settings),
        )
    )
    server.run(sockets=sockets)
