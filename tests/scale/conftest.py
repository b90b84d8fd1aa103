"""Several real service processes on one PostgreSQL database and one Redis.

Each test gets a database of its own (cloned from the migrated template) and a Redis channel of
its own, so tests running side by side, or a deployment sharing the Redis server, never hear
each other. Without PostgreSQL or Redis the tests skip, naming what is missing; in CI
(``CI=true``) they fail instead, so a broken CI machine cannot pass by skipping.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import redis.asyncio as redis

from tests.conftest import IN_CI
from tests.scale.processes import Shared
from tests.support.databases import PostgresTemplate

REDIS_URL = os.environ.get("MEETSVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def redis_available(url: str) -> str | None:
    """None when Redis answers, else why not."""
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as exc:
        return f"Redis is not reachable at {url}: {exc.__class__.__name__}"
    finally:
        await client.aclose()
    return None


@pytest_asyncio.fixture(scope="session")
async def redis_url() -> str:
    reason = await redis_available(REDIS_URL)
    if reason:
        if IN_CI:
            pytest.fail(f"{reason} (CI must run the scale-out tests)")
        pytest.skip(reason)
    return REDIS_URL


@pytest_asyncio.fixture
async def postgres_database(postgres_template: PostgresTemplate) -> AsyncIterator[str]:
    url = await postgres_template.clone()
    yield url
    await postgres_template.drop(url.rsplit("/", 1)[1])


@pytest_asyncio.fixture
async def shared(postgres_database: str, redis_url: str, tmp_path: Path) -> Shared:
    shared = Shared(
        database_url=postgres_database,
        keys_dir=tmp_path / "keys",
        certs_dir=tmp_path / "bankid-simulator",
        redis_url=redis_url,
        redis_channel=f"meetsvc-test-{uuid.uuid4().hex}",
    )
    await asyncio.to_thread(shared.prepare)
    return shared
