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
from services.runtime.streams import bind, create_stream_app, report_lag

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
        stream_app = runtime.stream_app = create_stream_app(spec.name, settings)
        for consumer in consumers:
            bind(stream_app, consumer)
        startup.waiting_for = "kafka consumers"
        started.append(stream_app.stop)
        await stream_app.start()
    startup.waiting_for = None
    loops = list(spec.background(runtime))
    if runtime.stream_app is not None:
        loops.append(report_lag(runtime.stream_app, list(consumers)))
    runtime.tasks = [asyncio.create_task(_keep_running(spec.name, loop)) for loop in loops]
    log.info("service started", extra={"seconds": round(time.monotonic() - runtime.started_at, 3)})
    return runtime


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
        checks["consumers"] = bool(getattr(runtime.stream_app, "dsr_assigned", False))
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
            app.state.runtime = await start_runtime(spec, settings, startup)

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
        )
    )
    server.run(sockets=sockets)
