"""Email through SMTP (stdlib smtplib in a worker thread): plain, STARTTLS or implicit TLS, with
optional credentials. A permanent refusal (5xx) is a bounce; anything else may be tried again."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
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
    def __init__(self, settings: NoticeSettings):
        self.settings = settings
        self._tls: ssl.SSLContext | None = None

    def _context(self) -> ssl.SSLContext:
        # Built once: loading the system's CA certificates took a fifth of the notifier's CPU
        # when every message built its own context.
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    async def send(self, to: str, rendered: Rendered, language: str) -> None:
        mail = message(self.settings.smtp_sender, to, rendered, language)
        await asyncio.to_thread(self._send, mail)

    def _send(self, mail: EmailMessage) -> None:
        s = self.settings
        smtp: smtplib.SMTP
        if s.smtp_tls is SmtpTls.tls:
            smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=self._context())
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        with smtp:
            if s.smtp_tls is SmtpTls.starttls:
                smtp.starttls(context=self._context())
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                smtp.login(s.smtp_username, password)
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
