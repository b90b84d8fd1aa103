"""The HTTP transport the vendor adapters share: one session, bounded time, errors as types.

A backend that cannot be reached must not hang an admission: every call has a total timeout,
and a timeout, a refused connection or a reset becomes :class:`VideoBackendUnavailable`
(retryable), never a bare aiohttp exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from yarl import URL

from meetsvc.video.base import VideoBackendUnavailable, header


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    headers: Mapping[str, str]

    def retry_after(self) -> float | None:
        value = header(self.headers, "Retry-After")
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None


class HttpTransport:
    """POSTs to one backend; owns its session unless one is handed in (then the caller closes it)."""

    def __init__(self, *, timeout_seconds: float, session: aiohttp.ClientSession | None = None) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session = session
        self._owned = session is None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        # encoded=True: the path goes out byte for byte as given, because some vendors sign it.
        # An empty body goes out as nothing, without the content type aiohttp would add.
        try:
            async with self._client().post(
                URL(url, encoded=True),
                data=body or None,
                headers=dict(headers),
                skip_auto_headers=() if body else ("Content-Type",),
                timeout=self._timeout,
            ) as response:
                return Reply(response.status, await response.read(), dict(response.headers))
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise VideoBackendUnavailable(f"cannot reach the video backend ({exc.__class__.__name__})") from None

    async def aclose(self) -> None:
        if self._owned and self._session is not None:
            await self._session.close()
            self._session = None
