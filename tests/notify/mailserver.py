"""A real SMTP server (aiosmtpd) on loopback, in the test's own event loop, that records what
it receives and can be told to refuse: the next RCPT or DATA gets a scripted reply."""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage = field(init=False)

    def __post_init__(self) -> None:
        self.message = email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[assignment]

    @property
    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        assert body is not None, "no text/plain part"
        return body.get_content()

    def calendars(self) -> list[tuple[str, str | None, str]]:
        """(content type, method parameter, text) of every calendar part."""
        found = []
        for part in self.message.walk():
            if part.get_content_type() in ("text/calendar", "application/ics"):
                payload = part.get_payload(decode=True)
                found.append((part.get_content_type(), part.get_param("method"), payload.decode("utf-8")))
        return found

    @property
    def calendar(self) -> str:
        parts = self.calendars()
        assert len(parts) == 2, f"expected inline and attached calendar, got {[p[0] for p in parts]}"
        assert parts[0][2] == parts[1][2], "inline and attached calendar differ"
        return parts[0][2]


class RecordingHandler:
    def __init__(self) -> None:
        self.received: list[ReceivedMail] = []
        self.rcpt_replies: list[str] = []
        self.data_replies: list[str] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        self.received.append(ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), content))
        return "250 2.0.0 Message accepted for delivery"


class MailServer:
    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
        eight_bit_mime: bool = True,
    ) -> None:
        self.handler = RecordingHandler()
        self._eight_bit_mime = eight_bit_mime
        self._tls = tls_context
        self._credentials = credentials
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    @property
    def received(self) -> list[ReceivedMail]:
        return self.handler.received

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.handler.logins.append((login, password))
        # handled=False: let aiosmtpd answer a refusal with 535 itself.
        return AuthResult(success=(login, password) == self._credentials, handled=False)

    def _protocol(self) -> SMTP:
        # decode_data: aiosmtpd then leaves 8BITMIME out of its EHLO, as an old relay does.
        options: dict[str, Any] = {"hostname": "mail.test", "decode_data": not self._eight_bit_mime}
        if self._tls is not None:
            options.update(tls_context=self._tls, require_starttls=True)
        if self._credentials is not None:
            options.update(authenticator=self._authenticate, auth_required=True)
        return SMTP(self.handler, **options)

    def notify_settings(
        self, *, sms: str = "off", from_address: str = "no-reply@sip-mote.example.se", **delivery: Any
    ) -> dict[str, Any]:
        """A service's ``[notify]`` sending e-mail here, plainly, with quick deliveries."""
        return {
            "email": "smtp",
            "sms": sms,
            "from_address": from_address,
            "smtp": {"host": "127.0.0.1", "port": self.port, "security": "none", "timeout_seconds": 5},
            "delivery": {"poll_seconds": 0.2, "send_timeout_seconds": 5, "lease_seconds": 30, **delivery},
        }

    async def start(self) -> MailServer:
        self._server = await asyncio.get_running_loop().create_server(self._protocol, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
