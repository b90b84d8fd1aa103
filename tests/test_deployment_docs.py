"""docs/deployment.md and config/nginx.example.conf stay true to the code.

Every configuration key, command, route, key file and metric the deployment guide names must
exist; the nginx example must agree with the settings it mirrors and pass ``nginx -t``. The last
needs nginx (Debian's package ``nginx``): where it is not installed that test is skipped with
the reason. ``MEETSVC_TEST_NGINX`` names another nginx binary.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from meetsvc.app import create_app
from meetsvc.cli import build_parser
from meetsvc.config import CONFIG_VARIABLE, ServerSettings, Settings, environment_names, setting_paths
from meetsvc.core import secrets as keys
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "deployment.md"
NGINX_EXAMPLE = ROOT / "config" / "nginx.example.conf"
PRODUCTION_EXAMPLE = ROOT / "config" / "production.example.toml"
STATIC = ROOT / "meetsvc" / "http" / "pages" / "static"


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def code_spans(text: str) -> list[str]:
    """Inline code and the lines of fenced code blocks: where names of real things are written."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.S | re.M)
    return re.findall(r"`([^`\n]+)`", prose) + [line for block in blocks for line in block.splitlines()]


# Configuration keys ---------------------------------------------------------------------------


KEYS = {".".join(path) for path in setting_paths()}
# Tables at every depth: [server], [notify.smtp], [video.jitsi].
TABLES = {".".join(path[:n]) for path in setting_paths() for n in range(1, len(path))}


def key_exists(dotted: str) -> bool:
    return dotted in KEYS


def named_keys(text: str) -> tuple[set[str], set[str]]:
    """Keys (``server.port``, ``schedule.enabled = true``) and tables (``[notify.delivery]``)."""
    sections = {table.split(".")[0] for table in TABLES}
    found_keys, found_tables = set(), set()
    for span in code_spans(text):
        match = re.fullmatch(r"([a-z_]+(?:\.[a-z_]+)+)(?: = .+)?", span.strip())
        if match and match.group(1).split(".")[0] in sections:
            found_keys.add(match.group(1))
        if match := re.fullmatch(r"\[([a-z_.]+)\]", span.strip()):
            found_tables.add(match.group(1))
    return found_keys, found_tables


def test_every_configuration_key_the_guide_names_exists() -> None:
    found_keys, found_tables = named_keys(guide())
    assert {
        "server.public_url",
        "server.max_body_bytes",
        "database.url",
        "realtime.redis_url",
        "security.keys_dir",
        "schedule.enabled",
    } <= found_keys
    assert not {key for key in found_keys if not key_exists(key)}, "named in docs/deployment.md but not a setting"
    assert not found_tables - TABLES
    # ... and each is explained in the production example, as every key must be.
    example = PRODUCTION_EXAMPLE.read_text(encoding="utf-8")
    for key in found_keys:
        *section, name = key.split(".")
        assert f"[{'.'.join(section)}]" in example and re.search(rf"^#?\s*{name} =", example, re.M), key


def test_every_environment_variable_the_guide_names_is_read() -> None:
    read = {CONFIG_VARIABLE} | {name for path in setting_paths() for name in environment_names(path)}
    named = set(re.findall(r"\bMEETSVC_[A-Z_]+\b", guide()))
    assert {"MEETSVC_CONFIG", "MEETSVC_SERVER_PORT", "MEETSVC_DATABASE_URL", "MEETSVC_NOTIFY__SMTP__PASSWORD"} <= named
    assert not named - read


# Commands, routes, files, metrics -------------------------------------------------------------


def cli_commands() -> set[tuple[str, ...]]:
    """(command,) or (command, action) for every command the CLI has."""
    found: set[tuple[str, ...]] = set()
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
                found |= {(name, child) for child in nested[0].choices} if nested else {(name,)}
    return found


def named_commands(text: str) -> set[tuple[str, ...]]:
    commands = cli_commands()
    with_actions = {command[0] for command in commands if len(command) == 2}
    named = set()
    for span in code_spans(text):
        for match in re.finditer(r"(?:^|(?<=[\s/`]))meetsvc ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", span):
            command, action = match.groups()
            named.add((command, action) if command in with_actions else (command,))
    return named


def test_every_command_the_guide_names_exists() -> None:
    named = named_commands(guide())
    assert {("serve",), ("migrate",), ("keys", "init"), ("keys", "rotate"), ("audit", "verify")} <= named
    assert named <= cli_commands()


def development_app() -> Any:
    settings = Settings.model_validate({"environment": "development", "identity": {"provider": "bankid-simulator"}})
    return create_app(settings)


def test_every_route_the_guide_names_exists() -> None:
    routes = {route.resource.canonical for route in development_app().router.routes() if route.resource is not None}
    named = {
        span for span in code_spans(guide()) if re.fullmatch(r"/[a-z0-9._/-]+", span) and not span.startswith("/etc/")
    }
    assert {"/healthz", "/readyz", "/metrics", "/socket.io/", "/.well-known/jwks.json"} <= named
    assert named - {"/j/<token>", "/j/{token}"} <= routes
    assert "/j/{token}" in routes


def test_every_key_file_the_guide_names_is_one_the_service_reads() -> None:
    named = {span for span in code_spans(guide()) if re.fullmatch(r"[a-z-]+\.key", span)}
    assert named == {keys.PII_ENCRYPTION_KEY, keys.PII_HASH_KEY, keys.AUDIT_KEY, keys.SESSION_KEY}
    assert "`signing/<kid>.pem`" in guide()


def test_every_metric_the_guide_names_is_exported() -> None:
    source = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "meetsvc").rglob("*.py"))
    named = set(re.findall(r"\bmeetsvc_[a-z_]+\b", guide()))
    assert "meetsvc_schedule_leading" in named
    for metric in named:
        assert f'"{metric.removesuffix("_total")}"' in source, metric


# The nginx example ----------------------------------------------------------------------------


def nginx_example() -> str:
    return NGINX_EXAMPLE.read_text(encoding="utf-8")


def test_the_nginx_body_limit_is_the_services() -> None:
    limit = ServerSettings().max_body_bytes
    match = re.search(r"^\s*client_max_body_size (\d+)k;", nginx_example(), re.M)
    assert match and int(match.group(1)) * 1024 == limit
    assert re.search(rf"^max_body_bytes = {limit}$", PRODUCTION_EXAMPLE.read_text(encoding="utf-8"), re.M)
    assert f"at most {limit} bytes" in nginx_example()


def test_the_nginx_example_upgrades_socket_io_and_lists_loopback_processes() -> None:
    text = nginx_example()
    location = re.search(r"location /socket\.io/ \{(.*?)\n    \}", text, re.S)
    assert location, "no location for socket.io"
    for directive in ("proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;", "proxy_buffering off;"):
        assert directive in location.group(1)
    servers = re.findall(r"^\s*server (\S+);", text, re.M)
    assert len(servers) >= 2 and all(server.startswith("127.0.0.1:") for server in servers)
    assert "/socket.io/" in {route.resource.canonical for route in development_app().router.routes() if route.resource}


def test_the_pages_use_websockets_only_so_the_upstream_needs_no_stickiness() -> None:
    """The example balances with least_conn; that is right only while no page falls back to
    HTTP long-polling (whose requests must all reach one process: use ip_hash then)."""
    calls = [
        (path.name, call)
        for path in STATIC.glob("*.js")
        for call in re.findall(r"\bio\([^)]*\)", path.read_text(encoding="utf-8"))
    ]
    assert calls
    for name, call in calls:
        assert 'transports: ["websocket"]' in call, f"{name}: {call}"
    assert re.search(r"^\s*least_conn;", nginx_example(), re.M)


def nginx_binary() -> str | None:
    named = os.environ.get("MEETSVC_TEST_NGINX")
    if named:
        return named
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sip-mote.example.se")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("sip-mote.example.se")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_the_nginx_example_passes_nginx_t(tmp_path: Path) -> None:
    nginx = nginx_binary()
    if nginx is None:
        reason = (
            "nginx is not installed (Debian package nginx): config/nginx.example.conf was not checked with nginx -t"
        )
        if IN_CI:
            pytest.fail(f"{reason} (CI installs it with make test)")
        pytest.skip(reason)
    cert, key = self_signed(tmp_path)
    logs, temp = tmp_path / "logs", tmp_path / "temp"
    logs.mkdir()
    temp.mkdir()
    # The example as an operator would install it, with this test's certificate and log folder.
    site = (
        nginx_example()
        .replace("/etc/ssl/meetsvc/fullchain.pem", str(cert))
        .replace("/etc/ssl/meetsvc/privkey.pem", str(key))
        .replace("/var/log/nginx/", f"{logs}/")
    )
    assert str(cert) in site and str(key) in site and str(logs) in site
    (tmp_path / "meetsvc.conf").write_text(site, encoding="utf-8")
    # A main configuration of the smallest kind around it, with every path nginx writes in tmp_path.
    temp_paths = "\n".join(
        f"    {kind}_temp_path {temp}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {logs}/error.log;\nevents {{}}\n"
        f"http {{\n{temp_paths}\n    include {tmp_path}/meetsvc.conf;\n}}\n",
        encoding="utf-8",
    )

    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(logs / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
