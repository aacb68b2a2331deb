"""The SMTP transport keeps its connection between messages, survives a server that dropped it,
and keeps it after a bounce; against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import pytest

from services.launcher.ports import free_port
from services.notifier.mail import Bounced, SmtpTransport
from services.notifier.notices import Rendered
from services.notifier.sink import MailSink
from tests.notifier.conftest import notice_settings

NOTICE = Rendered(subject="Vi har mottatt forespørselen din", body="Referanse DSR-2026-000001")


async def test_messages_share_one_connection_and_a_dropped_one_is_replaced() -> None:
    port = free_port()
    sink = MailSink(port).start()
    transport = SmtpTransport(notice_settings(sink))
    try:
        for n in range(3):
            await transport.send(f"kari{n}@eksempel.no", NOTICE, "nb")
        first = transport._smtp
        assert first is not None and len(sink.messages) == 3
        await transport.send("kari3@eksempel.no", NOTICE, "nb")
        assert transport._smtp is first  # no new conversation per message

        sink.stop()  # the server goes away and comes back: the kept connection is dead
        sink = MailSink(port).start()
        await transport.send("ola@eksempel.no", NOTICE, "nb")
        assert [m.recipients for m in sink.messages] == [["ola@eksempel.no"]]
        assert transport._smtp is not first
    finally:
        transport.close()
        sink.stop()


async def test_a_bounce_keeps_the_connection_and_the_next_message_goes_out() -> None:
    sink = MailSink(free_port()).start()
    sink.refuse("gone@eksempel.no")
    transport = SmtpTransport(notice_settings(sink))
    try:
        await transport.send("first@eksempel.no", NOTICE, "nb")
        kept = transport._smtp
        with pytest.raises(Bounced):
            await transport.send("gone@eksempel.no", NOTICE, "nb")
        await transport.send("next@eksempel.no", NOTICE, "nb")
        assert transport._smtp is kept
        assert [m.recipients for m in sink.messages] == [["first@eksempel.no"], ["next@eksempel.no"]]
    finally:
        transport.close()
        sink.stop()


async def test_a_server_that_is_down_fails_the_send_and_keeps_nothing() -> None:
    sink = MailSink(free_port())  # never started: nothing listens
    transport = SmtpTransport(notice_settings(sink, smtp_timeout=2))
    with pytest.raises(OSError):
        await transport.send("kari@eksempel.no", NOTICE, "nb")
    assert transport._smtp is None
