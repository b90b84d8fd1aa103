"""Configuration: read once, validated, every key documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from meetsvc.config import ConfigError, environment_names, load_settings, setting_paths, with_variable

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
    settings = load_settings(
        path, environ={"MEETSVC_SERVER_PORT": "9001", "MEETSVC_DATABASE_URL": "postgresql+asyncpg://x@h/db"}
    )
    assert settings.server.port == 9001
    assert settings.database.url == "postgresql+asyncpg://x@h/db"


def test_the_port_shortcut_moves_the_default_public_url(tmp_path):
    settings = load_settings(write(tmp_path, ""), environ={"MEETSVC_PORT": "8181"})
    assert settings.server.base_url == "http://127.0.0.1:8181"


JITSI = (
    '[video.jitsi]\nbase_url = "https://meet.example.se"\napp_id = "sip"\ndomain = "meet.example.se"\n'
    'app_secret = "s"\n'
)


def test_nested_keys_are_set_from_the_environment(tmp_path):
    settings = load_settings(
        write(
            tmp_path,
            '[notify]\nemail = "smtp"\nfrom_address = "no-reply@x.se"\n[notify.smtp]\nhost = "file.example.se"\n'
            + JITSI,
        ),
        environ={
            "MEETSVC_NOTIFY__SMTP__HOST": "mail.example.se",
            "MEETSVC_NOTIFY__SMTP__PORT": "465",
            "MEETSVC_NOTIFY__DELIVERY__BATCH_SIZE": "7",
            "MEETSVC_VIDEO__BACKEND": "jitsi",
            "MEETSVC_VIDEO__JITSI__AUDIENCE": "meet",
            "MEETSVC_SERVER__PORT": "9002",
        },
    )
    assert (settings.notify.smtp.host, settings.notify.smtp.port) == ("mail.example.se", 465)
    assert settings.notify.delivery.batch_size == 7
    assert settings.video.backend == "jitsi" and settings.video.jitsi.audience == "meet"
    assert settings.video.jitsi.base_url == "https://meet.example.se"  # the rest of the table stays the file's
    assert settings.server.port == 9002


def test_a_nested_table_can_come_from_the_environment_alone(tmp_path):
    settings = load_settings(
        write(tmp_path, ""),
        environ={
            "MEETSVC_NOTIFY__EMAIL": "smtp",
            "MEETSVC_NOTIFY__FROM_ADDRESS": "no-reply@x.se",
            "MEETSVC_NOTIFY__SMTP__HOST": "mail.example.se",
            "MEETSVC_VIDEO__JITSI": (
                '{"base_url": "https://meet.example.se", "app_id": "sip", "domain": "d", "app_secret": "s"}'
            ),
            "MEETSVC_VIDEO__BACKEND": "jitsi",
        },
    )
    assert settings.notify.smtp.host == "mail.example.se" and settings.notify.smtp.port == 587
    assert settings.video.jitsi.app_id == "sip"


def test_lists_are_comma_separated_or_json(tmp_path):
    settings = load_settings(
        write(tmp_path, ""),
        environ={
            "MEETSVC_SERVER_TRUSTED_PROXIES": "10.0.0.1, 10.0.0.2",
            "MEETSVC_NOTIFY__REMINDERS_MINUTES_BEFORE": "[60, 1440]",
        },
    )
    assert settings.server.trusted_proxies == ("10.0.0.1", "10.0.0.2")
    assert settings.notify.reminders_minutes_before == (1440, 60)


def test_the_one_underscore_alias_and_the_nested_name_are_one_key(tmp_path):
    path = write(tmp_path, "")
    url = "postgresql+asyncpg://x@h/db"
    both = {"MEETSVC_DATABASE_URL": url, "MEETSVC_DATABASE__URL": url}
    assert load_settings(path, environ=both).database.url == url
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={**both, "MEETSVC_DATABASE__URL": "sqlite+aiosqlite:///other"})
    assert "MEETSVC_DATABASE_URL and MEETSVC_DATABASE__URL" in str(caught.value)
    # The development shortcut gives way to a full name.
    assert load_settings(path, environ={"MEETSVC_PORT": "8181", "MEETSVC_SERVER__PORT": "8282"}).server.port == 8282


def test_variables_of_the_test_suite_are_not_settings(tmp_path):
    environ = {
        "MEETSVC_TEST_POSTGRES_DSN": "postgresql://x",
        "MEETSVC_SCHEMATHESIS_EXAMPLES": "5",
        "MEETSVC_CONFIG": "elsewhere",
    }
    assert load_settings(write(tmp_path, ""), environ=environ).server.port == 8080


@pytest.mark.parametrize(
    "environ, names",
    [
        # A wrong key at any depth, and the old one-underscore spelling of a nested key, which
        # used to be ignored in silence.
        ({"MEETSVC_NOTIFY__SMTP__HOTS": "x"}, ["MEETSVC_NOTIFY__SMTP__HOTS", "names no configuration key"]),
        ({"MEETSVC_VIDEO__JITSI__URL": "https://x"}, ["MEETSVC_VIDEO__JITSI__URL"]),
        (
            {"MEETSVC_NOTIFY_SMTP_HOST": "x"},
            ["MEETSVC_NOTIFY_SMTP_HOST", "notify.smtp.host is MEETSVC_NOTIFY__SMTP__HOST"],
        ),
        ({"MEETSVC_SERVR_PORT": "1"}, ["MEETSVC_SERVR_PORT"]),
        ({"MEETSVC_SERVER__PORT__X": "1"}, ["MEETSVC_SERVER__PORT__X"]),
        ({"MEETSVC_NOTIFY__SMTP": '{"host": "h", "hots": 1}'}, ["notify.smtp.hots", "unknown key"]),
        ({"MEETSVC_NOTIFY": "not json"}, ["MEETSVC_NOTIFY", "cannot be read"]),
        # A bad value names the key and the variable it came from.
        (
            {"MEETSVC_NOTIFY__SMTP__HOST": "h", "MEETSVC_NOTIFY__SMTP__PORT": "abc"},
            ["notify.smtp.port", "from MEETSVC_NOTIFY__SMTP__PORT", "'abc'"],
        ),
        (
            {"MEETSVC_NOTIFY__SMTP__HOST": "h", "MEETSVC_NOTIFY__SMTP__PORT": "0"},
            ["notify.smtp.port", "greater than or equal to 1"],
        ),
        (
            {"MEETSVC_VIDEO__BUILTIN__MAX_LIFETIME_SECONDS": "-5"},
            ["video.builtin.max_lifetime_seconds", "MEETSVC_VIDEO__BUILTIN__MAX_LIFETIME_SECONDS"],
        ),
        ({"MEETSVC_NOTIFY__SMTP__SECURITY": "ssl", "MEETSVC_NOTIFY__SMTP__HOST": "h"}, ["notify.smtp.security"]),
        ({"MEETSVC_NOTIFY__EMAIL": "smtp"}, ["notify.smtp"]),
        ({"MEETSVC_SERVER__PORT": "70000"}, ["server.port", "MEETSVC_SERVER__PORT"]),
    ],
)
def test_a_wrong_variable_stops_the_start_and_is_named(tmp_path, environ, names):
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, ""), environ=environ)
    for name in names:
        assert name in str(caught.value)


def test_secrets_from_the_environment_are_not_echoed(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings(
            write(tmp_path, JITSI),
            environ={
                "MEETSVC_VIDEO__BACKEND": "jitsi",
                "MEETSVC_VIDEO__JITSI__APP_SECRET": "hunter2",
                "MEETSVC_VIDEO__JITSI__APP_SECRET_FILE": "/s",
            },
        )
    assert "hunter2" not in str(caught.value)


def test_the_service_refuses_to_start_on_an_unknown_variable(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "meetsvc", "--config", str(write(tmp_path, "")), "serve"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "MEETSVC_NOTIFY_SMTP_HOST": "mail"},
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "MEETSVC_NOTIFY_SMTP_HOST" in result.stderr


def test_every_key_has_one_nested_name_and_section_keys_their_alias():
    names = {path: environment_names(path) for path in setting_paths()}
    assert names[("notify", "smtp", "host")] == ("MEETSVC_NOTIFY__SMTP__HOST",)
    assert names[("database", "url")] == ("MEETSVC_DATABASE__URL", "MEETSVC_DATABASE_URL")
    assert names[("server", "port")] == ("MEETSVC_SERVER__PORT", "MEETSVC_SERVER_PORT", "MEETSVC_PORT")
    assert names[("environment",)] == ("MEETSVC_ENVIRONMENT",)
    every = [name for spelled in names.values() for name in spelled]
    assert len(every) == len(set(every)), "two keys share a variable"


def test_a_child_process_gets_one_spelling_of_a_key():
    inherited = {"MEETSVC_SERVER__PORT": "8080", "MEETSVC_PORT": "8080", "MEETSVC_DATABASE_URL": "x"}
    assert with_variable(inherited, "MEETSVC_SERVER_PORT", "8081") == {
        "MEETSVC_DATABASE_URL": "x",
        "MEETSVC_SERVER_PORT": "8081",
    }


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
        (
            "",
            {"MEETSVC_MEETINGS_MAX_PARTICIPANTS": "1"},
            ["meetings.max_participants", "MEETSVC_MEETINGS_MAX_PARTICIPANTS"],
        ),
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


KEYS = [".".join(path) for path in setting_paths()]


def test_the_documented_keys_reach_every_depth():
    """The documentation test below must see the keys of nested tables too."""
    assert {
        "notify.smtp.host",
        "notify.delivery.batch_size",
        "video.jitsi.app_id",
        "video.builtin.max_lifetime_seconds",
    } <= set(KEYS)
    assert max(key.count(".") for key in KEYS) >= 2


@pytest.mark.parametrize("key", KEYS)
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
    settings = load_settings(
        write(tmp_path, SHARED), environ={"MEETSVC_SERVER_PROCESSES": "3", "MEETSVC_REALTIME_REDIS_CHANNEL": "sip-b"}
    )
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


def test_metrics_are_for_loopback_unless_told_otherwise_and_a_wrong_network_is_named(tmp_path):
    assert load_settings(EXAMPLE, environ={}).server.metrics_allow == ("127.0.0.1", "::1")
    settings = load_settings(write(tmp_path, '[server]\nmetrics_allow = ["10.0.5.0/24", "192.0.2.7"]\n'), environ={})
    assert settings.server.metrics_allow == ("10.0.5.0/24", "192.0.2.7")
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, '[server]\nmetrics_allow = ["10.0.5.0/33"]\n'), environ={})
    assert "server.metrics_allow" in str(caught.value) and "10.0.5.0/33" in str(caught.value)


OIDC_ENTRY = (
    '{ name = "siths", organisation = "Region Exempel", profile = "inera-siths", '
    'issuer = "https://idp.example.se/oidc", client_id = "meetsvc", client_secret = "s3cret-value" }'
)


def test_staff_sign_in_providers_are_read_from_the_file_and_the_environment(tmp_path):
    settings = load_settings(write(tmp_path, f"[staff_sign_in]\noidc = [{OIDC_ENTRY}]\n"), environ={})
    (provider,) = settings.staff_sign_in.oidc
    assert (provider.profile, provider.match_by, provider.accept_loa2) == ("inera-siths", "personal_number", False)
    assert "s3cret-value" not in repr(settings)
    entry = {
        "name": "kommun",
        "organisation": "Exempelstads kommun",
        "profile": "organisation-idp",
        "issuer": "https://login.example.se/v2.0",
        "client_id": "app",
        "client_secret": "x",
        "match_by": "hsa_id",
    }
    import json

    settings = load_settings(write(tmp_path, ""), environ={"MEETSVC_STAFF_SIGN_IN__OIDC": json.dumps([entry])})
    assert settings.staff_sign_in.oidc[0].match_by == "hsa_id"


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        (
            OIDC_ENTRY.replace('profile = "inera-siths"', 'profile = "organisation-idp", accept_loa2 = true'),
            "accept_loa2",
        ),
        (OIDC_ENTRY.replace('name = "siths"', 'name = "Siths IdP"'), "name"),
        (OIDC_ENTRY.replace("https://idp.example.se/oidc", "idp.example.se"), "issuer"),
        (f"{OIDC_ENTRY}, {OIDC_ENTRY}", "name of its own"),
    ],
)
def test_a_wrong_staff_sign_in_provider_stops_the_service_with_its_key_named(tmp_path, entry, named):
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, f"[staff_sign_in]\noidc = [{entry}]\n"), environ={})
    assert "staff_sign_in" in str(caught.value) and named in str(caught.value)
    assert "s3cret-value" not in str(caught.value)


def test_production_refuses_a_staff_sign_in_provider_over_plain_http():
    from meetsvc.config import Settings

    entry = {
        "name": "siths",
        "organisation": "Region Exempel",
        "profile": "inera-siths",
        "issuer": "http://idp.example.se",
        "client_id": "c",
        "client_secret": "s",
    }
    settings = Settings.model_validate(
        {
            "environment": "development",
            "identity": {"provider": "bankid-simulator"},
            "staff_sign_in": {"oidc": [entry]},
        }
    )
    assert any("https://" in problem and "siths" in problem for problem in settings.production_problems())
