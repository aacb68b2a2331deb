"""The intake service as a process: the public API plus the Kafka intake consumer."""

from __future__ import annotations

from services.intake import agents, http
from services.runtime.host import ServiceSpec

SPEC = ServiceSpec("intake", consumers=agents.consumers, routers=[http.router], title="DSR pipeline API")
