"""Bounds on connections that have not shown who they are.

Anyone can open a socket.io connection (an engine.io session) without a ticket: the ticket is
checked only when the socket joins a namespace. Left alone, such a connection stays open for
as long as its pings are answered, at some tens of KiB each, and one address could open enough of
them to exhaust the process's file descriptors. So:

* a connection that has not joined a namespace within ``realtime.unjoined_seconds`` of opening
  is closed (a page joins within a moment of connecting; a reconnecting page joins again);
* no address holds more than ``realtime.connections_per_address`` connections at once; further
  ones are refused at the handshake (engine.io answers 401). The address is the peer's, or the
  last hop of ``X-Forwarded-For`` when the peer is one of ``server.trusted_proxies`` (the same
  rule as everywhere else in the service), so one proxy is not mistaken for one client and a
  client cannot pick its own address by sending the header. The cap is generous: a clinic
  behind one NAT address may have many people waiting at once.

Time comes from the service's clock, so tests move it instead of waiting. The overrides are of
python-socketio's private connection hooks (``_handle_eio_connect``, ``_handle_connect``,
``_handle_eio_disconnect``); python-socketio is pinned and ``tests/waiting_room/test_connection_bounds.py``
runs them with real clients.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import socketio

from meetsvc.core.clock import Clock, utc_now

log = logging.getLogger(__name__)

#: How often (seconds, real time) connections are looked at for being unjoined too long.
SWEEP_SECONDS = 1.0


def client_address(remote: str | None, forwarded_for: str | None, trusted_proxies: tuple[str, ...]) -> str:
    """The client's address: the forwarded one only from a trusted proxy, and only if it is one."""
    address = remote or ""
    if forwarded_for and address in trusted_proxies:
        candidate = forwarded_for.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            return address
    return address


@dataclass
class ConnectionBounds:
    """The bookkeeping: which connections are open from where, and since when unjoined."""

    unjoined_seconds: float
    per_address: int
    trusted_proxies: tuple[str, ...] = ()
    clock: Clock = utc_now
    _unjoined: dict[str, datetime] = field(default_factory=dict)
    _addresses: dict[str, str] = field(default_factory=dict)
    _open: Counter[str] = field(default_factory=Counter)

    def opened(self, eio_sid: str, environ: dict[str, Any]) -> bool:
        """Count a new connection; False (and nothing counted) when its address is at the cap."""
        request = environ.get("aiohttp.request")
        remote = getattr(request, "remote", None) or environ.get("REMOTE_ADDR")
        forwarded = request.headers.get("X-Forwarded-For") if request is not None else None
        address = client_address(remote, forwarded, self.trusted_proxies)
        if self._open[address] >= self.per_address:
            return False
        self._open[address] += 1
        self._addresses[eio_sid] = address
        self._unjoined[eio_sid] = self.clock()
        return True

    def joined(self, eio_sid: str) -> None:
        self._unjoined.pop(eio_sid, None)

    def closed(self, eio_sid: str) -> None:
        self._unjoined.pop(eio_sid, None)
        address = self._addresses.pop(eio_sid, None)
        if address is not None:
            self._open[address] -= 1
            if self._open[address] <= 0:
                del self._open[address]

    def overdue(self) -> list[str]:
        """Connections open longer than ``unjoined_seconds`` without joining a namespace."""
        limit = self.clock() - timedelta(seconds=self.unjoined_seconds)
        return [eio_sid for eio_sid, since in self._unjoined.items() if since <= limit]

    def open_from(self, address: str) -> int:
        return self._open.get(address, 0)


class BoundedServer(socketio.AsyncServer):  # type: ignore[misc]  # python-socketio is untyped
    """The socket.io server with :class:`ConnectionBounds` applied to every connection."""

    def __init__(self, *, bounds: ConnectionBounds, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bounds = bounds
        self._sweeper: asyncio.Task[None] | None = None

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        if not self.bounds.opened(eio_sid, environ):
            return False  # engine.io refuses the handshake
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = self.start_background_task(self._sweep)
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        await super()._handle_connect(eio_sid, namespace, data)
        if self.manager.sid_from_eio_sid(eio_sid, namespace or "/") is not None:
            self.bounds.joined(eio_sid)  # refused joins do not count: the clock keeps running

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any = None) -> None:
        self.bounds.closed(eio_sid)
        await super()._handle_eio_disconnect(eio_sid, reason)

    async def sweep(self) -> int:
        """Close every connection unjoined for too long; how many were closed."""
        closed = 0
        for eio_sid in self.bounds.overdue():
            self.bounds.closed(eio_sid)
            try:
                await self.eio.disconnect(eio_sid)
            except Exception:  # gone meanwhile: nothing left to close
                log.debug("an unjoined connection was gone before it was closed")
            closed += 1
        return closed

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except Exception:  # a bug here must not end the sweeping for the process's lifetime
                log.exception("closing unjoined connections failed")

    async def stop_sweeping(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
