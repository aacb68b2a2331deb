"""JSON log lines, every one passed through the personal-data scrubber."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

from services.runtime.scrubbing import scrub, scrub_value

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        if extra:
            line.update(scrub_value(json.loads(json.dumps(extra, default=str))))
        if record.exc_info and record.exc_info[0] is not None:
            # Exception messages can quote input (asyncpg echoes failing values): scrub them too.
            line["exc"] = scrub("".join(traceback.format_exception(*record.exc_info)))[-4000:]
        return json.dumps(line, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route every logger (ours, uvicorn's, faust's, aiokafka's) through one scrubbed JSON handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faust", "mode", "aiokafka"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Faust and aiokafka are chatty at INFO about every rebalance; keep their warnings.
    for name in ("faust", "mode", "aiokafka", "uvicorn.access"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
