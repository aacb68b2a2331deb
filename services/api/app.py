"""The intake service as a process: the public API plus the Kafka intake consumer."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.apidocs import routes as apidocs
from services.audit import api as audit_api
from services.console import routes as console_routes
from services.console import web as console_web
from services.erasure import http as erasure_http
from services.fulfilment import api as review
from services.intake import agents, downloads, http
from services.intake.domain.identifiers import InvalidIdentifier
from services.intake.errors import Conflict, NotFound
from services.public import pages as public_pages
from services.public import verification as public_verification
from services.runtime.host import ServiceSpec
from services.runtime.web import validation_error


async def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidIdentifier)
    return validation_error(["body", *exc.field.split(".")], exc.message, exc.reason_code)


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=409)


async def _not_found(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "no such request"}, status_code=404)


def configure(app: FastAPI) -> None:
    app.add_exception_handler(InvalidIdentifier, _invalid)
    app.add_exception_handler(Conflict, _conflict)
    app.add_exception_handler(NotFound, _not_found)
    console_web.install(app)


SPEC = ServiceSpec(
    "intake",
    consumers=agents.consumers,
    routers=[
        http.router,
        downloads.router,
        review.router,
        erasure_http.router,
        audit_api.router,
        public_pages.router,
        console_routes.router,
        apidocs.asyncapi_router,
    ],
    title="DSR pipeline API",
    configure=configure,
    background=public_verification.background,  # refuses requests left unconfirmed (issue 11)
)
