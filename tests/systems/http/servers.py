"""Real HTTP servers on loopback for the HTTP engine's tests: any ASGI app under uvicorn in its own
thread and event loop (so a server's work never waits on the test's loop, nor the other way), and
the "lab", a purpose-built API that misbehaves on request.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.launcher.ports import free_port

HOST = "127.0.0.1"


class ThreadServer:
    """`app` served by uvicorn on 127.0.0.1:`port` from a thread; `stop()` closes the port (and
    every connection), `start()` opens it again on the same port."""

    def __init__(self, app: Any, port: int | None = None, **config: Any) -> None:
        self.app = app
        self.port = port or free_port(HOST)
        self._config = {
            "access_log": False,  # its lines would hold the identifiers searched for
            "log_config": None,
            "lifespan": "off",
            "interface": "asgi3",
            "h11_max_incomplete_event_size": 1024 * 1024,
            **config,
        }
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> ThreadServer:
        if self._server is not None:
            return self
        server = uvicorn.Server(uvicorn.Config(self.app, host=HOST, port=self.port, **self._config))
        thread = threading.Thread(target=server.run, name=f"http-{self.port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server on port {self.port} did not start")
            time.sleep(0.005)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None and thread is not None:
            server.should_exit = True
            server.force_exit = True
            thread.join(10)

    async def astart(self) -> ThreadServer:
        return await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)


# ------------------------------------------------------------------------------------------- lab

PEOPLE: dict[int, dict[str, Any]] = {
    1: {"id": 1, "email": "kari@example.no", "name": "Kari Nordmann", "restricted": False},
    2: {"id": 2, "email": "ola@example.no", "name": "Ola Nordmann", "restricted": False},
    3: {"id": 3, "email": "kari@example.no", "name": "Kari again", "restricted": False},
}
"""The lab's records: two share an email (a search finds both)."""

CLIENT_ID, CLIENT_SECRET = "lab-client", "lab-client-secret"
BASIC_USER, BASIC_PASSWORD = "lab-user", "lab-password"
API_KEY = "lab-api-key"
BEARER = "lab-bearer-token"


class Lab:
    """An API of people whose answers a test picks by the first path segment (`mode`):

    `ok`, `bearer`, `basic`, `apikey`, `oauth` (auth of that kind, else 401), `s500`, `s503`,
    `s403`, `s302`, `s400` (that status always), `flaky` (503 on the first call per path, then
    fine), `hang` (answers after 10 s), `malformed` (cut-off JSON), `notjson` (an HTML page),
    `noshape` (no `data` in the answer), `notlist` (`data` is an object), `badtype` (an id that is
    no number), `badfield` (a name that is a number), `r429` (always 429, Retry-After 1), `r429once`
    (429 with Retry-After 1 the first time, then fine), `endless` (always another page), `foreign`
    (a next link to another host), `paged` (one record a page, Link rel=next), `echo` (the query as
    the answer).

    Records: `GET /{mode}/people?email=..` (`{"data": [...], "meta": {"next_page"}}`),
    `GET|PATCH|DELETE /{mode}/people/{id}`. Tokens: `POST /oauth/token` (client credentials).
    """

    def __init__(self) -> None:
        self.people: dict[int, dict[str, Any]] = {}
        self.hits: Counter[str] = Counter()
        self.seen: list[tuple[str, str, str]] = []
        """(method, raw path, raw query) of every request (what the client put on the wire)."""
        self.bodies: list[Any] = []
        self.token_requests = 0
        self.token_generation = 0
        self.token_lifetime = 3600
        self.lock = threading.Lock()
        self.reset()
        self.routes = Starlette(
            routes=[
                Route("/oauth/token", self._token, methods=["POST"]),
                Route("/{mode}/people", self._search, methods=["GET"]),
                Route("/{mode}/people/{key}", self._record, methods=["GET", "PATCH", "DELETE", "PUT"]),
                Route("/{mode}/health", self._health, methods=["GET", "POST"]),
            ]
        )
        self.routes.router.redirect_slashes = False  # a key "1/" is no record, not a redirect

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        """Records what came over the wire (before routing decodes the path), then answers."""
        if scope["type"] == "http":
            with self.lock:
                self.seen.append(
                    (
                        scope["method"],
                        scope["raw_path"].decode("latin-1"),
                        scope["query_string"].decode("latin-1"),
                    )
                )
        await self.routes(scope, receive, send)

    def reset(self) -> None:
        with self.lock:
            self.people = {key: dict(value) for key, value in PEOPLE.items()}
            self.hits.clear()
            self.seen.clear()
            self.bodies.clear()
            self.token_requests = 0

    def revoke_tokens(self) -> None:
        """Every token handed out so far stops working (the next use answers 401)."""
        self.token_generation += 1

    # ------------------------------------------------------------------------------ endpoints

    async def _token(self, request: Request) -> Response:
        self.token_requests += 1
        form = dict(parse_qsl((await request.body()).decode()))  # no python-multipart here
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        basic_ok = request.headers.get("authorization") == expected
        body_ok = form.get("client_id") == CLIENT_ID and form.get("client_secret") == CLIENT_SECRET
        if form.get("grant_type") != "client_credentials" or not (basic_ok or body_ok):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("scope") != "people.read people.write":
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        token = f"lab-token-{self.token_generation}-{self.token_requests}"
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}
        )

    def _authorised(self, mode: str, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if mode == "bearer":
            return header == f"Bearer {BEARER}"
        if mode == "basic":
            return header == "Basic " + base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
        if mode == "apikey":
            return request.query_params.get("api_key") == API_KEY
        if mode == "oauth":
            return header.startswith(f"Bearer lab-token-{self.token_generation}-")
        return True

    async def _misbehave(self, mode: str, request: Request) -> Response | None:
        """The answer `mode` gives instead of the real one, or None."""
        with self.lock:
            self.hits[mode] += 1
            first = self.hits[f"{mode}:{request.url.path}"] == 0
            self.hits[f"{mode}:{request.url.path}"] += 1
        if not self._authorised(mode, request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if mode.startswith("s") and mode[1:].isdigit():
            headers = (
                {"Location": "http://127.0.0.1:1/elsewhere?email=kari@example.no"} if mode == "s302" else None
            )
            return JSONResponse({"error": "nope"}, status_code=int(mode[1:]), headers=headers)
        if mode == "flaky" and first:
            return JSONResponse({"error": "busy"}, status_code=503)
        if mode == "hang":
            await asyncio.sleep(10)
        if mode == "malformed":
            return Response(b'{"data": [{"id": 1, "email": "kari@exa', media_type="application/json")
        if mode == "notjson":
            return Response(b"<html><body>Maintenance</body></html>", media_type="text/html")
        if mode == "r429" or (mode == "r429once" and first):
            return JSONResponse({"error": "slow down"}, status_code=429, headers={"Retry-After": "1"})
        return None

    async def _health(self, request: Request) -> Response:
        mode = request.path_params["mode"]
        return await self._misbehave(mode, request) or JSONResponse({"ok": True})

    async def _search(self, request: Request) -> Response:
        mode = request.path_params["mode"]
        answer = await self._misbehave(mode, request)
        if answer is not None:
            return answer
        if mode == "echo":
            return JSONResponse({"data": [], "query": request.url.query})
        emails = request.query_params.getlist("email")
        with self.lock:
            found = [dict(p) for p in self.people.values() if p["email"] in emails]
        page = int(request.query_params.get("page", "1"))
        if mode == "noshape":
            return JSONResponse({"items": found})
        if mode == "notlist":
            return JSONResponse({"data": {"id": 1}})
        if mode == "badtype":
            return JSONResponse({"data": [{**p, "id": f"x{p['id']}"} for p in found]})
        if mode == "badfield":
            return JSONResponse({"data": [{**p, "name": 42} for p in found]})
        if mode == "endless":
            return JSONResponse({"data": found[:1], "meta": {"next_page": page + 1}})
        if mode == "foreign":
            return JSONResponse(
                {"data": found}, headers={"Link": '<http://evil.example/steal?page=2>; rel="next"'}
            )
        if mode == "paged":
            here = found[page - 1 : page]
            headers = {}
            if page < len(found):
                query = "&".join(f"email={e}" for e in emails)
                headers["Link"] = f'</paged/people?{query}&page={page + 1}>; rel="next"'
            return JSONResponse({"data": here}, headers=headers)
        return JSONResponse({"data": found, "meta": {"next_page": None}})

    async def _record(self, request: Request) -> Response:
        mode = request.path_params["mode"]
        answer = await self._misbehave(mode, request)
        if answer is not None:
            return answer
        key = request.path_params["key"]
        number = int(key) if key.isdigit() else None
        with self.lock:
            record = self.people.get(number) if number is not None else None
            if record is None:
                return JSONResponse({"error": "not_found"}, status_code=404)
            if request.method == "DELETE":
                del self.people[record["id"]]
                return Response(status_code=204)
        if request.method in ("PATCH", "PUT"):
            body = json.loads(await request.body())
            self.bodies.append(body)
            with self.lock:
                record.update({k: v for k, v in body.items() if k in ("email", "name", "restricted")})
        if mode == "badtype":
            return JSONResponse({"data": {**record, "restricted": "no"}})
        return JSONResponse({"data": dict(record)})
