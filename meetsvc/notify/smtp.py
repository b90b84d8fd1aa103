"""E-mail through the organisation's SMTP server, with aiosmtplib.

Each message carries a Message-ID made from its outbox id, so when a crash between sending and
marking makes the loop send it again, mail systems and people see the same message twice, not
two messages. SMTP cannot promise more than that: a server may have accepted the first copy
just before the connection died. Delivery is *at least once, deduplicable by Message-ID*.

The message is built as mail clients expect an invitation (as Google Calendar sends one)::

    multipart/mixed
     ├── multipart/alternative
     │    ├── text/plain                      the text from the templates
     │    └── text/calendar; method=REQUEST   read inline by Outlook and Apple Mail
     └── application/ics  invite.ics          for every other client
"""

from __future__ import annotations

import re
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

import aiosmtplib

from meetsvc.core.adapter_config import read_secret
from meetsvc.domain.messages import OutgoingMessage
from meetsvc.notify.calendar import calendar_method
from meetsvc.notify.channels import PermanentDeliveryError, TemporaryDeliveryError
from meetsvc.notify.config import SmtpConfig

# "550 5.1.1 <kim@example.se>: Recipient address rejected" → 5.1.1; the rest may hold the address.
_ENHANCED_CODE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


def message_id(outbox_id: str, from_address: str) -> str:
    """The Message-ID header for an outbox message: the same on every try."""
    return f"<{outbox_id}@{from_address.rpartition('@')[2]}>"


def compose(message: OutgoingMessage, from_address: str) -> EmailMessage:
    """The e-mail for one outbox message; raises PermanentDeliveryError for an unusable address."""
    # SMTP policy: CRLF line ends throughout, as SMTP wants them on the wire.
    email = EmailMessage(policy=SMTP)
    try:
        email["From"] = Address(display_name=message.sender_name or "", addr_spec=from_address)
        email["To"] = Address(addr_spec=message.recipient)
    except (ValueError, IndexError, TypeError):
        raise PermanentDeliveryError("recipient address cannot be used in an e-mail") from None
    email["Subject"] = message.subject or ""
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = message_id(message.id, from_address)
    # RFC 3834: tells vacation responders and list servers not to answer a no-reply sender.
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body, charset="utf-8")
    if message.attachment is not None:
        method = calendar_method(message.kind)
        # As bytes in base64, both copies: the file's own CRLF line ends then reach the calendar
        # unchanged whatever the relay does. Given as text, an 8-bit part sent to a relay without
        # 8BITMIME is re-encoded from its lines joined by bare LF, which strict parsers refuse.
        calendar = message.attachment.encode("utf-8")
        email.add_alternative(
            calendar, maintype="text", subtype="calendar", cte="base64", params={"method": method, "charset": "utf-8"}
        )
        email.add_attachment(calendar, maintype="application", subtype="ics", filename="invite.ics")
    # After the body: setting content drops every Content-* header already present.
    email["Content-Language"] = message.language
    return email


def _reply(exc: aiosmtplib.SMTPResponseException, what: str) -> str:
    enhanced = _ENHANCED_CODE.search(exc.message or "")
    return f"SMTP {exc.code}{' ' + enhanced.group(1) if enhanced else ''}: {what}"


def classify(exc: Exception) -> TemporaryDeliveryError | PermanentDeliveryError:
    """Map aiosmtplib's errors onto the two outcomes that matter, with a reason free of personal data.

    The server's verdict on *this message* (recipient or content refused) is permanent on 5xx.
    A refusal of *our configuration* (authentication, sender, greeting) is temporary whatever
    its code: every message would fail alike, and they should wait for IT to fix it, not fail.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = exc.recipients[0] if exc.recipients else None
        if refused is None:
            return TemporaryDeliveryError("SMTP recipient refused without a reply")
        return classify(refused)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return TemporaryDeliveryError(_reply(exc, "authentication refused (check notify.smtp.username and password)"))
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return TemporaryDeliveryError(_reply(exc, "sender refused (check notify.from_address)"))
    if isinstance(exc, aiosmtplib.SMTPHeloError):
        return TemporaryDeliveryError(_reply(exc, "greeting refused"))
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return _by_code(exc, "recipient refused")
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return _by_code(exc, "message refused")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_code(exc, "server refused")
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return TemporaryDeliveryError("SMTP server lacks a required extension (check notify.smtp.security)")
    if isinstance(exc, TimeoutError):
        return TemporaryDeliveryError("SMTP server timed out")
    if isinstance(exc, ssl.SSLError):
        return TemporaryDeliveryError(f"TLS with the SMTP server failed: {exc.reason or type(exc).__name__}")
    if type(exc) is aiosmtplib.SMTPException:
        # Raised by aiosmtplib itself about the session (STARTTLS or AUTH not offered): its own
        # fixed words, never the server's, so safe to keep.
        return TemporaryDeliveryError(f"SMTP session failed: {exc} (check notify.smtp.security)")
    if isinstance(exc, (aiosmtplib.SMTPException, OSError)):
        return TemporaryDeliveryError(f"SMTP server unreachable: {type(exc).__name__}")
    return TemporaryDeliveryError(f"unexpected SMTP error: {type(exc).__name__}")


def _by_code(exc: aiosmtplib.SMTPResponseException, what: str) -> TemporaryDeliveryError | PermanentDeliveryError:
    reason = _reply(exc, what)
    return PermanentDeliveryError(reason) if 500 <= exc.code < 600 else TemporaryDeliveryError(reason)


class EmailChannel:
    """Sends outbox messages as e-mail; one SMTP connection per message."""

    name = "smtp"
    retains_content = False

    def __init__(
        self,
        config: SmtpConfig,
        *,
        from_address: str,
        password: str | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._config = config
        self._from = from_address
        self._password = password
        self._tls = tls_context

    @classmethod
    def open(cls, config: SmtpConfig, *, from_address: str) -> EmailChannel:
        """Read the password file and the CA certificates: file I/O, so call it in a thread."""
        password = None
        if config.username is not None:
            password = read_secret(config.password, config.password_file, "notify.smtp.password")
        tls_context = None
        if config.security != "none":
            tls_context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
        return cls(config, from_address=from_address, password=password, tls_context=tls_context)

    @property
    def from_address(self) -> str:
        return self._from

    async def deliver(self, message: OutgoingMessage) -> None:
        email = compose(message, self._from)
        config = self._config
        try:
            await aiosmtplib.send(
                email,
                sender=self._from,
                recipients=[message.recipient],
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=self._password,
                use_tls=config.security == "tls",
                start_tls=config.security == "starttls",
                tls_context=self._tls,
                timeout=config.timeout_seconds,
            )
        except Exception as exc:  # every failure becomes one of the two outcomes the loop knows
            raise classify(exc) from None

    async def aclose(self) -> None:
        return None
