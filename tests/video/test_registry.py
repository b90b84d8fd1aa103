"""Choosing and configuring a backend from the ``[video]`` section."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from meetsvc.core.signing import KeySet
from meetsvc.video.base import VideoBackend
from meetsvc.video.builtin import BuiltinBackend
from meetsvc.video.jitsi import JitsiBackend
from meetsvc.video.livekit import LiveKitBackend
from meetsvc.video.registry import VideoSettings, create_backend
from meetsvc.video.vidicue import VidicueBackend
from tests.video.harness import pem

SECTION = """
backend = "{backend}"

[jitsi]
base_url = "https://meet.example.se"
app_id = "meetsvc"
domain = "meet.example.se"
app_secret = "jitsi-secret-jitsi-secret-jitsi-secret"

[livekit]
url = "https://livekit.example.se"
api_key = "APIkey"
api_secret_file = "{secret_file}"
meet_url = "https://meet.example.se"

[vidicue]
api_url = "https://api.vendor.example"
api_key = "integration"
api_secret_file = "{vidicue_file}"
room_prefix = "meetsvc"
"""


@pytest.fixture
def section(tmp_path: Path, vidicue_key: Ed25519PrivateKey) -> Any:
    (tmp_path / "livekit").write_text("livekit-secret-livekit-secret-livekit\n")
    (tmp_path / "vidicue").write_text(pem(vidicue_key))

    def make(backend: str) -> dict[str, Any]:
        return tomllib.loads(
            SECTION.format(backend=backend, secret_file=tmp_path / "livekit", vidicue_file=tmp_path / "vidicue")
        )

    return make


@pytest.mark.parametrize(
    "name, kind", [("jitsi", JitsiBackend), ("livekit", LiveKitBackend), ("vidicue", VidicueBackend)]
)
async def test_the_named_backend_is_built_from_its_table(section: Any, name: str, kind: type) -> None:
    backend = create_backend(section(name))
    assert isinstance(backend, kind) and isinstance(backend, VideoBackend) and backend.name == name
    await backend.aclose()


def test_the_builtin_backend_needs_the_services_signing(service_keys: KeySet) -> None:
    with pytest.raises(ValueError, match="sign, verify and issuer"):
        create_backend({})
    backend = create_backend({}, sign=service_keys.sign, verify=lambda t: {}, issuer="https://meetsvc.example.se")
    assert isinstance(backend, BuiltinBackend)


def test_the_chosen_backend_must_have_its_table() -> None:
    with pytest.raises(ValidationError, match=r"needs a \[video.livekit\] table"):
        create_backend({"backend": "livekit"})


@pytest.mark.parametrize("where", ["top", "table"])
def test_unknown_keys_are_refused(section: Any, where: str) -> None:
    values = section("jitsi")
    (values if where == "top" else values["jitsi"])["app_sercet"] = "typo"
    with pytest.raises(ValidationError, match="app_sercet"):
        create_backend(values)


def test_an_unknown_backend_is_refused(section: Any) -> None:
    with pytest.raises(ValidationError, match="builtin"):
        create_backend(section("zoom"))


def test_an_unreadable_secret_file_is_named(section: Any, tmp_path: Path) -> None:
    values = section("livekit")
    values["livekit"]["api_secret_file"] = str(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"api_secret_file .*missing cannot be read"):
        create_backend(values)


def test_secrets_never_print(section: Any) -> None:
    settings = VideoSettings.model_validate(section("jitsi"))
    backend = create_backend(settings)
    for text in (repr(settings), str(settings), repr(backend)):
        assert "jitsi-secret" not in text
