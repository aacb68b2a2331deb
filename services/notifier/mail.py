"""Email through SMTP (stdlib smtplib in a worker thread): plain, STARTTLS or implicit TLS, with
optional credentials. A permanent refusal (5xx) is a bounce; anything else may be tried again."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from services.notifier.notices import Rendered
from services.notifier.settings import NoticeSettings, SmtpTls


class Bounced(Exception):
    """The server refused the message for good (5xx); carries the SMTP code, never the address."""

    def __init__(self, code: int):
        super().__init__(f"smtp {code}")
        self.code = code


def message(sender: str, to: str, rendered: Rendered, language: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = rendered.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    mail["Content-Language"] = language
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(rendered.body)
    return mail


class SmtpTransport:
    """One SMTP connection kept open between messages (a notice burst would otherwise pay a TCP
    and TLS handshake per message); a connection idle longer than `_KEEP_SECONDS` is replaced, and
    one the server has dropped meanwhile is replaced once and the message sent again."""

    _KEEP_SECONDS = 30.0

    def __init__(self, settings: NoticeSettings):
        self.settings = settings
        self._tls: ssl.SSLContext | None = None
        self._smtp: smtplib.SMTP | None = None
        self._last_used = 0.0
        self._lock = threading.Lock()  # the worker threads of `asyncio.to_thread` share the connection

    def _context(self) -> ssl.SSLContext:
        # Built once: loading the system's CA certificates took a fifth of the notifier's CPU
        # when every message built its own context.
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    async def send(self, to: str, rendered: Rendered, language: str) -> None:
        mail = message(self.settings.smtp_sender, to, rendered, language)
        await asyncio.to_thread(self._send, mail)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _send(self, mail: EmailMessage) -> None:
        with self._lock:
            try:
                reused = self._smtp is not None and time.monotonic() - self._last_used < self._KEEP_SECONDS
                if not reused:
                    self._drop()
                try:
                    self._deliver(self._connection(), mail)
                except smtplib.SMTPServerDisconnected:
                    self._drop()
                    if not reused:
                        raise
                    self._deliver(self._connection(), mail)  # the kept connection had gone stale
            except Bounced:
                raise  # refused recipients: the connection is still good (smtplib reset it)
            except BaseException:
                self._drop()
                raise
            finally:
                self._last_used = time.monotonic()

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        s = self.settings
        smtp: smtplib.SMTP
        if s.smtp_tls is SmtpTls.tls:
            smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=self._context())
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        try:
            if s.smtp_tls is SmtpTls.starttls:
                smtp.starttls(context=self._context())
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                smtp.login(s.smtp_username, password)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    @staticmethod
    def _deliver(smtp: smtplib.SMTP, mail: EmailMessage) -> None:
        try:
            smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise Bounced(codes[0]) from None
            raise
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise Bounced(exc.smtp_code) from None
            raise
