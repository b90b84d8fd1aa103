"""Configuration: read once, validated, every key documented."""

from __future__ import annotations

import re
import typing
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from meetsvc.settings import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "production.example.toml"


DEV = 'environment = "development"\n[identity]\nprovider = "bankid-simulator"\n'


def write(tmp_path: Path, text: str) -> Path:
    """A development configuration with ``text`` appended (TOML tables may follow in it)."""
    path = tmp_path / "meetsvc.toml"
    path.write_text(DEV + text)
    return path


def test_the_development_configuration_loads():
    settings = load_settings(ROOT / "config" / "development.toml", environ={})
    assert settings.is_development
    assert settings.database.url.startswith("sqlite+aiosqlite:///")
    assert settings.server.base_url == "http://127.0.0.1:8080"


def test_the_production_example_loads_and_is_production():
    settings = load_settings(EXAMPLE, environ={})
    assert not settings.is_development
    assert settings.security.create_missing_keys is False
    assert settings.identity.provider == "bankid"


def test_real_bankid_needs_its_certificates(tmp_path):
    path = tmp_path / "meetsvc.toml"
    path.write_text('[identity]\nprovider = "bankid"\n[bankid]\nclient_cert = "/x.pem"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert "bankid.client_key" in str(caught.value) and "bankid.ca_cert" in str(caught.value)


def test_credentials_in_values_are_not_echoed(tmp_path):
    secret = "postgresql://user:hunter2@db/x"
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, f'[database]\nurl = "{secret}"\n'), environ={})
    assert "database.url" in str(caught.value) and "hunter2" not in str(caught.value)


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, "[server]\nport = 8080\n")
    settings = load_settings(path, environ={"MEETSVC_SERVER_PORT": "9001", "MEETSVC_DATABASE_URL": "postgresql+asyncpg://x@h/db"})
    assert settings.server.port == 9001
    assert settings.database.url == "postgresql+asyncpg://x@h/db"


def test_the_port_shortcut_moves_the_default_public_url(tmp_path):
    settings = load_settings(write(tmp_path, ""), environ={"MEETSVC_PORT": "8181"})
    assert settings.server.base_url == "http://127.0.0.1:8181"


@pytest.mark.parametrize(
    "text, environ, names",
    [
        ('[server]\nport = "eighty"\n', {}, ["server.port"]),
        ("[server]\nport = 70000\n", {}, ["server.port"]),
        ('[database]\nurl = "mysql://x"\n', {}, ["database.url"]),
        ('[server]\npublic_url = "ftp://x"\n', {}, ["server.public_url"]),
        ("[servr]\nport = 1\n", {}, ["servr", "unknown key"]),
        ("[server]\nprot = 1\n", {}, ["server.prot", "unknown key"]),
        ("", {"MEETSVC_ENVIRONMENT": "staging"}, ["environment"]),
        ("", {"MEETSVC_ENVIRONMENT": "production"}, ["bankid-simulator", "development only"]),
        ('[bankid]\nurl = "http://insecure"\n', {}, ["bankid.url"]),
        ("", {"MEETSVC_MEETINGS_MAX_PARTICIPANTS": "1"}, ["meetings.max_participants", "MEETSVC_MEETINGS_MAX_PARTICIPANTS"]),
        ("[server\n", {}, ["not valid TOML"]),
    ],
)
def test_a_wrong_value_names_the_key(tmp_path, text, environ, names):
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ=environ)
    for name in names:
        assert name in str(caught.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_the_service_refuses_to_start_on_bad_configuration(tmp_path):
    path = write(tmp_path, "[server]\nport = -1\n")
    result = subprocess.run(
        [sys.executable, "-m", "meetsvc", "--config", str(path), "serve"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "server.port" in result.stderr


def _model_of(annotation: object) -> type[BaseModel] | None:
    """The settings model behind a field: ``Model`` or ``Model | None``."""
    candidates = typing.get_args(annotation) or (annotation,)
    models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
    return models[0] if models else None


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    found = []
    for name, field in model.model_fields.items():
        sub = _model_of(field.annotation)
        if sub is not None:
            found += _keys(sub, f"{prefix}{name}.")
        else:
            found.append(prefix + name)
    return found


@pytest.mark.parametrize("key", _keys(Settings))
def test_every_key_is_documented_in_the_production_example(key):
    """An operator reads the example to learn every key; a key missing there is a key unknown."""
    text = EXAMPLE.read_text()
    section, _, name = key.rpartition(".")
    if section:
        block = re.search(rf"^\[{re.escape(section)}\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
        assert block, f"section [{section}] missing from {EXAMPLE.name}"
        body = block.group(1)
    else:
        body = text.split("\n[", 1)[0]
    # A key is documented by a comment above it; optional ones may be shown commented out.
    match = re.search(rf"((?:^#.*\n)+)^(?:# )?{name} = ", body, re.M)
    assert match, f"{key} is not set with a comment above it in {EXAMPLE.name}"
