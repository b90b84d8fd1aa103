"""The ``[notify]`` configuration section: which channels send, how, and how hard to retry.

::

    [notify]
    email = "smtp"                 # smtp | outbox | off
    sms = "http"                   # http | outbox | off
    from_address = "no-reply@sip-mote.example.se"

    [notify.delivery]              # retries, leases, polling
    [notify.smtp]                  # only when email = "smtp"
    [notify.sms_http]              # only when sms = "http"

Secrets (SMTP password, SMS gateway token) are given inline or, better, as a file (``*_file``),
as for the video adapters. Reading those files is file I/O: :func:`meetsvc.notify.runtime.open_channels`
does it once at start, in a thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from meetsvc.core.adapter_config import AdapterConfig, http_url, one_source
from meetsvc.domain.rules import check_email


class DeliverySettings(AdapterConfig):
    """How the delivery loop retries and how long a claim holds."""

    max_attempts: int = Field(8, ge=1, le=50, description="Tries before a message is marked failed.")
    first_retry_seconds: float = Field(
        60.0, gt=0, le=86400, description="Wait before the first retry; doubled each time."
    )
    max_retry_seconds: float = Field(3600.0, gt=0, le=7 * 86400, description="Longest wait between two tries.")
    send_timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="Longest one send may take, all steps included."
    )
    lease_seconds: float = Field(
        0.0,
        ge=0,
        le=3600,
        description="How long a claimed message stays claimed; after that another loop may retry it. "
        "0 (the default): twice send_timeout_seconds, what the send it guards can need.",
    )
    poll_seconds: float = Field(5.0, gt=0, le=300, description="How often the loop looks for due messages when idle.")
    batch_size: int = Field(20, ge=1, le=500, description="Messages claimed and sent at once.")

    @model_validator(mode="before")
    @classmethod
    def _lease_fits_a_send(cls, data: Any) -> Any:
        # A message whose sender died waits out the lease before another loop sends it, so by
        # default the lease is no longer than the send needs: its own bound, and as long again
        # to record the outcome.
        if isinstance(data, dict) and not data.get("lease_seconds"):
            try:
                timeout = float(data.get("send_timeout_seconds", cls.model_fields["send_timeout_seconds"].default))
            except (TypeError, ValueError):
                return data  # the field's own validation names the bad value
            data = {**data, "lease_seconds": 2 * timeout}
        return data

    @model_validator(mode="after")
    def _lease_outlives_a_send(self) -> DeliverySettings:
        # A lease that ran out while its send was still under way would let a second loop send
        # the same message again: the lease must outlast the longest send, with room to mark it.
        if self.lease_seconds < 2 * self.send_timeout_seconds:
            raise ValueError("notify.delivery.lease_seconds must be at least twice send_timeout_seconds")
        if self.max_retry_seconds < self.first_retry_seconds:
            raise ValueError("notify.delivery.max_retry_seconds must not be less than first_retry_seconds")
        return self


class SmtpConfig(AdapterConfig):
    """The organisation's mail server, reached with aiosmtplib."""

    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls (port 587), tls (implicit TLS, port 465) or none (loopback relays only)."
    )
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    ca_file: Path | None = Field(
        None, description="CA certificates to verify the server with, instead of the system's."
    )
    timeout_seconds: float = Field(30.0, gt=0, le=300)

    @model_validator(mode="after")
    def _credentials(self) -> SmtpConfig:
        if self.username is None:
            if self.password is not None or self.password_file is not None:
                raise ValueError("notify.smtp.password needs notify.smtp.username")
            return self
        one_source(self.password, self.password_file, "notify.smtp.password")
        if self.security == "none":
            raise ValueError(
                'notify.smtp.username needs security = "starttls" or "tls": credentials are never sent unencrypted'
            )
        return self


class SmsHttpConfig(AdapterConfig):
    """A generic HTTP SMS gateway: ``POST {to, from, text}`` as JSON with a bearer token."""

    url: str
    token: SecretStr | None = None
    token_file: Path | None = None
    sender: str = Field(
        min_length=1, max_length=15, description="The sender shown on the phone: up to 11 letters or a number."
    )
    timeout_seconds: float = Field(10.0, gt=0, le=120)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value, key="notify.sms_http.url")

    @model_validator(mode="after")
    def _token(self) -> SmsHttpConfig:
        one_source(self.token, self.token_file, "notify.sms_http.token")
        return self


class NotifySettings(AdapterConfig):
    """The whole ``[notify]`` section."""

    email: Literal["smtp", "outbox", "off"] = "outbox"
    sms: Literal["http", "outbox", "off"] = "outbox"
    from_address: str | None = Field(
        None,
        description="Sender of e-mail and ORGANIZER address of calendar files; a no-reply address. "
        "Defaults to no-reply@<host of server.public_url>.",
    )
    reminders_minutes_before: tuple[int, ...] = Field((1440, 60), description="When reminders go out before a meeting.")
    templates_dir: Path | None = Field(
        None, description="IT's own message templates, overriding the built-in ones file by file."
    )
    delivery: DeliverySettings = DeliverySettings()
    smtp: SmtpConfig | None = None
    sms_http: SmsHttpConfig | None = None

    @field_validator("from_address")
    @classmethod
    def _from_address(cls, value: str | None) -> str | None:
        if value is not None and check_email("notify.from_address", value):
            raise ValueError("is not an e-mail address")
        return value

    @field_validator("reminders_minutes_before")
    @classmethod
    def _reminders(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(minutes < 1 or minutes > 30 * 24 * 60 for minutes in value):
            raise ValueError("each reminder is between 1 minute and 30 days before the meeting")
        if len(set(value)) != len(value):
            raise ValueError("a reminder time is listed twice")
        return tuple(sorted(value, reverse=True))

    @model_validator(mode="after")
    def _chosen_are_configured(self) -> NotifySettings:
        if self.email == "smtp" and self.smtp is None:
            raise ValueError('notify.email = "smtp" needs a [notify.smtp] table')
        if self.email == "smtp" and self.from_address is None:
            raise ValueError('notify.email = "smtp" needs notify.from_address')
        if self.sms == "http" and self.sms_http is None:
            raise ValueError('notify.sms = "http" needs a [notify.sms_http] table')
        return self

    def organizer_address(self, public_url: str) -> str:
        """The no-reply address calendar files name as ORGANIZER (and e-mail is sent from)."""
        if self.from_address is not None:
            return self.from_address
        host = urlsplit(public_url).hostname or "localhost"
        return f"no-reply@{host}"

    def production_problems(self) -> list[str]:
        """What must not run in production: messages that stay in the development outbox."""
        problems = []
        if self.email == "outbox":
            problems.append('notify.email = "outbox" is for development only; use "smtp" (or "off")')
        if self.sms == "outbox":
            problems.append('notify.sms = "outbox" is for development only; use "http" (or "off")')
        return problems
