"""A local SMTP sink (aiosmtpd): catches every message, for `dsr up --demo` and for tests.

Messages are kept in memory and, when a folder is given, written there as `.eml` files that the
demo page `/demo/mail` lists. It accepts anything; it relays nothing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class CaughtMail:
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""


@dataclass
class _Handler:
    folder: Path | None
    refuse: set[str] = field(default_factory=set)
    caught: list[CaughtMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.caught.append(CaughtMail(list(envelope.rcpt_tos), parsed))
            if self.folder is not None:
                self.folder.mkdir(parents=True, exist_ok=True)
                (self.folder / f"{time.time_ns()}.eml").write_bytes(raw)
        return "250 Message accepted for delivery"


class MailSink:
    """`start()` listens on 127.0.0.1:`port`; `messages` holds what arrived; `refuse` bounces addresses."""

    def __init__(self, port: int, folder: Path | None = None):
        self.port = port
        self.handler = _Handler(folder)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port)

    @property
    def messages(self) -> list[CaughtMail]:
        with self.handler.lock:
            return list(self.handler.caught)

    def refuse(self, address: str) -> None:
        self.handler.refuse.add(address.lower())

    def start(self) -> MailSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
