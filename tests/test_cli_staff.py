"""The operator keeps staff and API clients from the command line, as administrators do on the web.

Each command runs in its own process against one SQLite database, the way an operator types them;
what they did is then checked through the service's own directory and audit log.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from meetsvc.config import load_settings
from meetsvc.storage.tables import audit_log
from meetsvc.wiring import open_services

PER_OLOF = "196809059832"  # a simulator test person


def run(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEETSVC_CONFIG": str(config)}
    return subprocess.run(
        [sys.executable, "-m", "meetsvc", *args], capture_output=True, text=True, env=env, timeout=60, input=stdin
    )


def configured(tmp_path: Path) -> Path:
    config = tmp_path / "meetsvc.toml"
    config.write_text(
        'environment = "development"\n[identity]\nprovider = "bankid-simulator"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/db.sqlite3"\n'
        f'[security]\nkeys_dir = "{tmp_path}/keys"\ncreate_missing_keys = true\n'
    )
    assert run(config, "migrate").returncode == 0
    assert run(config, "organisation", "create", "Exempelstads kommun", "--kind", "municipality").returncode == 0
    return config


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_staff_are_created_changed_and_deactivated_from_the_command_line(tmp_path: Path) -> None:
    config = configured(tmp_path)
    created = ok(
        run(
            config,
            *("staff", "create", "--organisation", "Exempelstads kommun", "--name", "Per-Olof Öberg"),
            *("--role", "organiser", "--role", "host", "--personal-number-stdin"),
            stdin=PER_OLOF + "\n",
        )
    )
    staff_id = created.split()[0]
    assert "host,organiser" in created and "can sign in" in created and PER_OLOF not in created
    listed = ok(run(config, "staff", "list", "--organisation", "Exempelstads kommun"))
    assert staff_id in listed and "active" in listed
    changed = ok(run(config, "staff", "change", staff_id, "--role", "administrator", "--email", "p@example.se"))
    assert "administrator" in changed and "organiser" not in changed
    assert "deactivated" in ok(run(config, "staff", "deactivate", staff_id))
    # Bad input is a clear error that changes nothing.
    refused = run(config, "staff", "change", staff_id, "--email", "not an address")
    assert refused.returncode == 1 and "e-mail" in refused.stderr
    unknown = run(config, "staff", "deactivate", "00000000-0000-4000-8000-000000000000")
    assert unknown.returncode == 1 and "no such staff member" in unknown.stderr
    bad_role = run(config, "staff", "change", staff_id, "--role", "boss")
    assert bad_role.returncode == 2

    async with open_services(load_settings(config)) as services:
        member = await services.directory.staff_member(staff_id)
        assert member is not None and not member.active and member.email == "p@example.se"
        async with services.engine.connect() as connection:
            found = (await connection.execute(select(audit_log.c.action, audit_log.c.actor))).all()
    assert {("staff.added", "operator"), ("staff.changed", "operator"), ("staff.deactivated", "operator")} <= set(found)


async def test_api_clients_are_listed_and_revoked_and_a_revoked_key_is_refused(tmp_path: Path) -> None:
    config = configured(tmp_path)
    created = ok(run(config, "api-client", "create", "--organisation", "Exempelstads kommun", "--name", "Ärendesystem"))
    client_id, key = created.split()[2], created.strip().splitlines()[-1]
    listed = ok(run(config, "api-client", "list"))
    assert client_id in listed and "active" in listed and key not in listed
    async with open_services(load_settings(config)) as services:
        assert await services.directory.authenticate_api_key(key) is not None
    assert f"API client {client_id} revoked" in ok(run(config, "api-client", "revoke", client_id))
    assert "revoked" in ok(run(config, "api-client", "list", "--organisation", "Exempelstads kommun"))
    async with open_services(load_settings(config)) as services:
        assert await services.directory.authenticate_api_key(key) is None
        async with services.engine.connect() as connection:
            actions = (await connection.execute(select(audit_log.c.action))).scalars().all()
    assert "api_client.revoked" in actions
    missing = run(config, "api-client", "revoke", "00000000-0000-4000-8000-000000000000")
    assert missing.returncode == 1 and "no such API client" in missing.stderr
