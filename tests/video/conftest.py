"""Fixtures for the video backends: key material made once, and one harness per backend.

``harness`` is the contract suite's parameter (see :mod:`tests.video.harness`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meetsvc.core.signing import KeySet, create_key
from tests.video.harness import BACKENDS, Harness, build_harness

# -- key material (generated once: RSA is the slow part) ---------------------------------


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def vidicue_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def service_keys(tmp_path_factory: pytest.TempPathFactory) -> KeySet:
    return KeySet((create_key(tmp_path_factory.mktemp("video-signing")),))


@pytest_asyncio.fixture(params=BACKENDS)
async def harness(
    request: pytest.FixtureRequest,
    service_keys: KeySet,
    rsa_key: rsa.RSAPrivateKey,
    vidicue_key: Ed25519PrivateKey,
    tmp_path: Path,
) -> AsyncIterator[Harness]:
    built = await build_harness(
        request.param, service_keys=service_keys, rsa_key=rsa_key, vidicue_key=vidicue_key, tmp_path=tmp_path
    )
    try:
        yield built
    finally:
        for close in built.close:
            await close()
