"""Configuration: read once, validated, every key documented."""

from __future__ import annotations

import re
import typing
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from meetsvc.config import ConfigError, Settings, load_settings

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



SHARED = (
    '[database]\nurl = "postgresql+asyncpg://meetsvc@127.0.0.1/meetsvc"\n'
    '[realtime]\nredis_url = "redis://127.0.0.1:6379/0"\n'
)


def test_one_process_and_its_own_redis_channel_unless_told_otherwise():
    settings = load_settings(EXAMPLE, environ={})
    assert settings.server.processes == 1
    assert settings.realtime.redis_channel == "meetsvc"


def test_several_processes_with_postgresql_and_redis(tmp_path):
    settings = load_settings(write(tmp_path, "[server]\nprocesses = 4\n" + SHARED), environ={})
    assert settings.server.processes == 4
    settings = load_settings(write(tmp_path, SHARED), environ={"MEETSVC_SERVER_PROCESSES": "3", "MEETSVC_REALTIME_REDIS_CHANNEL": "sip-b"})
    assert settings.server.processes == 3 and settings.realtime.redis_channel == "sip-b"


@pytest.mark.parametrize(
    "text, names",
    [
        # The development default is SQLite, and there is no Redis.
        ("[server]\nprocesses = 2\n", ["server.processes = 2", "PostgreSQL database.url", "realtime.redis_url"]),
        (
            '[server]\nprocesses = 2\n[database]\nurl = "postgresql+asyncpg://x@h/db"\n',
            ["server.processes = 2", "realtime.redis_url", "in-process"],
        ),
        (
            '[server]\nprocesses = 2\n[realtime]\nredis_url = "redis://h:6379/0"\n',
            ["server.processes = 2", "PostgreSQL database.url", "SQLite cannot be shared"],
        ),
        ("[server]\nprocesses = 0\n", ["server.processes", "MEETSVC_SERVER_PROCESSES"]),
        ("[server]\nprocesses = 65\n", ["server.processes"]),
        ("[server]\nport = 65535\nprocesses = 2\n" + SHARED, ["past port 65535"]),
        ('[realtime]\nredis_channel = "two words"\n', ["realtime.redis_channel"]),
        ('[realtime]\nredis_channel = ""\n', ["realtime.redis_channel"]),
    ],
)
def test_several_processes_need_what_they_can_share(tmp_path, text, names):
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ={})
    for name in names:
        assert name in str(caught.value)
