"""A generic HTTP SMS gateway: one JSON POST per message, authorised with a bearer token.

::

    POST <notify.sms_http.url>
    Authorization: Bearer <token>
    Idempotency-Key: <outbox message id>
    Content-Type: application/json

    {"to": "+46701234567", "from": "Exempelstad", "text": "…"}

2xx is sent; 429, 408 and 5xx are temporary (a ``Retry-After`` in seconds or as a date is
honoured); any other answer is permanent. Redirects are not followed: the request carries the
token and personal data, and a gateway that moved is a configuration to fix.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import aiohttp

from meetsvc.core.adapter_config import read_secret
from meetsvc.notify.channels import PermanentDeliveryError, TemporaryDeliveryError
from meetsvc.notify.config import SmsHttpConfig


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class HttpSmsGateway:
    """The generic gateway; one HTTP session, opened on first use and reused."""

    name = "sms-http"

    def __init__(self, config: SmsHttpConfig, token: str) -> None:
        self._config = config
        self._token = token
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def open(cls, config: SmsHttpConfig) -> HttpSmsGateway:
        """Read the token (maybe from a file): call it in a thread, once at start."""
        return cls(config, read_secret(config.token, config.token_file, "notify.sms_http.token"))

    def __repr__(self) -> str:
        return f"HttpSmsGateway(url={self._config.url!r})"

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop, and reused for every message.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._config.timeout_seconds))
        return self._session

    async def send(self, message_id: str, to: str, text: str) -> None:
        headers = {"Authorization": f"Bearer {self._token}", "Idempotency-Key": message_id}
        payload = {"to": to, "from": self._config.sender, "text": text}
        try:
            async with self._client().post(
                self._config.url, json=payload, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                await response.read()
        except TimeoutError:
            raise TemporaryDeliveryError("SMS gateway timed out") from None
        except aiohttp.ClientError as exc:
            raise TemporaryDeliveryError(f"SMS gateway unreachable: {type(exc).__name__}") from None
        if 200 <= status < 300:
            return
        if status in (408, 429) or status >= 500:
            raise TemporaryDeliveryError(f"SMS gateway answered HTTP {status}", retry_after=retry_after)
        if 300 <= status < 400:
            raise TemporaryDeliveryError(f"SMS gateway redirected (HTTP {status}); check notify.sms_http.url")
        raise PermanentDeliveryError(f"SMS gateway refused the message: HTTP {status}")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
