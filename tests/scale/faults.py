"""Dependencies that go away on purpose: a private Redis, and a way to PostgreSQL that can be cut.

``RedisServer`` runs a ``redis-server`` of its own on a free loopback port, without persistence,
and stops and starts it again on the same port (as a restart looks to its clients).

``PostgresCut`` is a small TCP proxy in front of the shared PostgreSQL server. Cutting it aborts
every connection through it and stops listening, so new connections are refused, which is how a
stopped or unreachable database server looks to the service; restoring it listens again on the
same port. The real server, which other tests use, is never touched. It can also cut itself a
moment after it passes a ``COMMIT`` on to the server (:meth:`PostgresCut.cut_after_commits`),
which is when a decision has just been made and its notices are still on their way.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from pathlib import Path

import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

REDIS_SERVER = shutil.which("redis-server")


def unused_port() -> int:
    """A loopback port nobody listens on now (a child process will bind it, so it is not held)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self, directory: Path, port: int | None = None) -> None:
        if REDIS_SERVER is None:
            raise RuntimeError("redis-server is not installed")
        self.directory = directory
        self.port = port or unused_port()
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self, *, timeout: float = 10) -> None:
        assert not self.running, "already running"
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "redis.log", "ab")
        try:
            self._process = await asyncio.create_subprocess_exec(
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--daemonize",
                "no",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        finally:
            log.close()
        async with asyncio.timeout(timeout):
            while not await self.answers():
                if self._process.returncode is not None:
                    raise RuntimeError(
                        f"redis-server exited with {self._process.returncode}; see {self.directory / 'redis.log'}"
                    )
                await asyncio.sleep(0.05)

    async def answers(self) -> bool:
        client = aioredis.Redis(
            host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5, retry=None
        )
        try:
            return bool(await client.ping())
        except (OSError, aioredis.RedisError):
            return False
        finally:
            await client.aclose()

    async def stop(self) -> None:
        """Stop the server at once (SIGKILL), as a crash or a lost host looks to its clients."""
        if self._process is None:
            return
        if self._process.returncode is None:
            self._process.kill()
        await self._process.wait()
        self._process = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def subscribers(self, channel: str) -> int:
        """How many connections listen on a pub/sub channel (each socket.io process has one)."""
        client = aioredis.Redis(
            host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5, retry=None
        )
        try:
            answer = await client.pubsub_numsub(channel)
        finally:
            await client.aclose()
        return int(answer[0][1]) if answer else 0


class PostgresCut:
    """A TCP proxy to PostgreSQL that can drop everything and refuse, then accept again."""

    def __init__(self, upstream_host: str = "127.0.0.1", upstream_port: int = 5432) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0  # accepted while open, for tests that want to see reconnects
        self._commits_to_cut = 0
        self._burst = 0.25
        self._bursts: list[asyncio.Task[None]] = []
        self.commits_cut = 0

    def url_for(self, database_url: str) -> str:
        """The same database URL, pointed at this proxy."""
        return make_url(database_url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    @property
    def open(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        assert self._server is None, "already listening"
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Abort every connection through the proxy and refuse new ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for client, upstream in list(self._pipes):
            client.transport.abort()
            upstream.transport.abort()
        self._pipes.clear()
        await asyncio.sleep(0)

    async def restore(self) -> None:
        await self.start()

    def cut_after_commits(self, bursts: int, *, length: float = 0.25) -> None:
        """Cut for ``length`` seconds right after each of the next ``bursts`` COMMITs the service
        sends (one burst at a time): the commit reaches the server, and what the service does
        next with the database finds it away."""
        self._commits_to_cut = bursts
        self._burst = length

    async def stop_cutting(self) -> None:
        """No more cuts after commits; returns once the last one has been restored."""
        self._commits_to_cut = 0
        await asyncio.gather(*self._bursts)

    async def _cut_for_a_while(self) -> None:
        await asyncio.sleep(0.002)  # the COMMIT is on its way to the server
        await self.cut()
        await asyncio.sleep(self._burst)  # the length of the outage, not a wait for something
        await self.start()

    def _saw(self, data: bytes) -> None:
        if self._commits_to_cut and b"COMMIT" in data.upper() and all(task.done() for task in self._bursts):
            self._commits_to_cut -= 1
            self.commits_cut += 1
            self._bursts.append(asyncio.create_task(self._cut_for_a_while()))

    async def close(self) -> None:
        for task in self._bursts:
            task.cancel()
        await asyncio.gather(*self._bursts, return_exceptions=True)
        await self.cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        if self._server is None:  # cut while connecting upstream
            writer.transport.abort()
            up_writer.transport.abort()
            return
        self.connections += 1
        pipe = (writer, up_writer)
        self._pipes.add(pipe)
        try:
            await asyncio.gather(self._pump(reader, up_writer, watch=True), self._pump(up_reader, writer))
        finally:
            self._pipes.discard(pipe)
            for w in pipe:
                w.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, watch: bool = False) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while data := await reader.read(65536):
                writer.write(data)
                if watch:
                    self._saw(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            return  # one side closed or was cut: this direction of the pipe ends here
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(OSError, RuntimeError):
                writer.write_eof()
