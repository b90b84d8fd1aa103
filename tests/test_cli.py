"""The command line: every command works from a fresh configuration and is documented."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meetsvc.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEETSVC_CONFIG": str(config)}
    return subprocess.run([sys.executable, "-m", "meetsvc", *args], capture_output=True, text=True, env=env, timeout=60)


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for command, action in COMMANDS:
        spelled = f"meetsvc {command}" + (f" {action}" if action else "")
        assert spelled in readme, f"`{spelled}` is not documented in README.md"
    assert "meetsvc serve" in readme


def test_keys_rotate_adds_a_key_and_keeps_the_old_ones(tmp_path):
    config = tmp_path / "meetsvc.toml"
    config.write_text(
        'environment = "development"\n[identity]\nprovider = "bankid-simulator"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/db.sqlite3"\n'
        f'[security]\nkeys_dir = "{tmp_path}/keys"\ncreate_missing_keys = false\n'
    )
    assert run(config, "keys", "init").returncode == 0
    first = sorted((tmp_path / "keys" / "signing").glob("*.pem"))
    rotated = run(config, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    second = sorted((tmp_path / "keys" / "signing").glob("*.pem"))
    assert len(first) == 1 and len(second) == 2 and first[0] in second
    assert "2 keys verify" in rotated.stdout


def test_a_missing_key_in_production_is_a_clear_error(tmp_path):
    config = tmp_path / "meetsvc.toml"
    config.write_text(
        'environment = "development"\n[identity]\nprovider = "bankid-simulator"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/db.sqlite3"\n'
        f'[security]\nkeys_dir = "{tmp_path}/none"\ncreate_missing_keys = false\n'
    )
    result = run(config, "audit", "verify")
    assert result.returncode == 1
    assert "keys init" in result.stderr


def test_serve_refuses_several_processes_that_could_not_share_state(tmp_path):
    config = tmp_path / "meetsvc.toml"
    config.write_text(
        'environment = "development"\n[identity]\nprovider = "bankid-simulator"\n[server]\nprocesses = 3\n'
    )
    result = run(config, "serve")
    assert result.returncode == 2
    assert (
        "server.processes = 3 needs a PostgreSQL database.url" in result.stderr
        and "realtime.redis_url" in result.stderr
    )


def test_serve_with_several_processes_refuses_a_missing_key_before_starting_any(tmp_path):
    config = tmp_path / "meetsvc.toml"
    config.write_text(
        'environment = "development"\n[identity]\nprovider = "bankid-simulator"\n[server]\nprocesses = 2\n'
        '[database]\nurl = "postgresql+asyncpg://meetsvc@127.0.0.1/none"\n[realtime]\nredis_url = "redis://127.0.0.1:6379/0"\n'
        f'[security]\nkeys_dir = "{tmp_path}/none"\ncreate_missing_keys = false\n'
    )
    result = run(config, "serve")
    assert result.returncode == 1
    assert "keys init" in result.stderr and "worker" not in result.stderr


# The supervisor, with stand-in workers: each writes a file named after its port and pid, and
# another when it is told to stop, so the test sees what happened to every one of them.
STAND_IN_WORKER = """
import os, signal, sys, time
mark = os.path.join(os.environ["MARKS"], os.environ["MEETSVC_SERVER_PORT"])
def stop(*_):
    open(f"{mark}.stopped.{os.getpid()}", "w").close()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
with open(f"{mark}.{os.getpid()}", "w") as file:
    file.write(os.environ["MEETSVC_SERVER_PROCESSES"])
time.sleep(120)
"""
SUPERVISE = (
    "import os, sys\nfrom meetsvc.core.logs import configure_logging\nfrom meetsvc.supervisor import Supervisor\n"
    "configure_logging('INFO', 'text')\n"
    "raise SystemExit(Supervisor([sys.executable, '-c', os.environ['STAND_IN']], [18001, 18002], os.environ).run())"
)


def started(marks: Path, port: int) -> dict[int, str]:
    """pid → MEETSVC_SERVER_PROCESSES of each worker started on ``port``."""
    return {
        int(p.name.split(".")[1]): p.read_text()
        for p in marks.glob(f"{port}.*")
        if "stopped" not in p.name and p.read_text()
    }


def stopped(marks: Path) -> set[int]:
    return {int(p.name.rsplit(".", 1)[1]) for p in marks.glob("*.stopped.*")}


def until(condition, seconds: float = 15):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


def supervise(marks: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "MARKS": str(marks), "STAND_IN": STAND_IN_WORKER}
    return subprocess.Popen([sys.executable, "-c", SUPERVISE], env=env, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def test_the_supervisor_starts_again_a_worker_that_died_and_stops_all_with_itself(tmp_path):
    supervisor = supervise(tmp_path)
    try:
        until(lambda: started(tmp_path, 18001) and started(tmp_path, 18002))
        first, second = started(tmp_path, 18001), started(tmp_path, 18002)
        assert list(first.values()) == list(second.values()) == ["1"], "a worker must never supervise in turn"
        [dead] = second
        os.kill(dead, signal.SIGKILL)
        again = until(lambda: set(started(tmp_path, 18002)) - {dead})
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=15) == 0
    finally:
        supervisor.kill()
    log = supervisor.stderr.read() if supervisor.stderr else ""
    assert "worker 1 on port 18002 exited unexpectedly (killed by SIGKILL); starting it again in 1 s" in log
    assert stopped(tmp_path) == set(first) | again, "each live worker was told to stop once"


def test_workers_stop_when_their_supervisor_is_killed(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("workers learn of their supervisor's death through Linux's PR_SET_PDEATHSIG")
    supervisor = supervise(tmp_path)
    try:
        until(lambda: started(tmp_path, 18001) and started(tmp_path, 18002))
        pids = {**started(tmp_path, 18001), **started(tmp_path, 18002)}
        supervisor.kill()
        supervisor.wait(timeout=5)
        assert until(lambda: stopped(tmp_path) == set(pids), 10)
    finally:
        supervisor.kill()


def test_workers_share_one_public_address_and_run_no_simulator_page_on_a_fixed_port():
    from meetsvc.config import Settings
    from meetsvc.supervisor import worker_environment

    settings = Settings.model_validate(
        {
            "environment": "development",
            "identity": {"provider": "bankid-simulator"},
            "server": {"port": 8081, "processes": 2},
            "database": {"url": "postgresql+asyncpg://meetsvc@127.0.0.1/meetsvc"},
            "realtime": {"redis_url": "redis://127.0.0.1:6379/0"},
        }
    )
    env = worker_environment(settings, {"MEETSVC_CONFIG": "/etc/meetsvc/meetsvc.toml"})
    assert env == {
        "MEETSVC_CONFIG": "/etc/meetsvc/meetsvc.toml",
        "MEETSVC_SERVER_PUBLIC_URL": "http://127.0.0.1:8081",
        "MEETSVC_SIMULATOR_APP_PORT": "0",
    }
    production = settings.model_copy(
        update={"server": settings.server.model_copy(update={"public_url": "https://sip.example.se"})}
    )
    assert "MEETSVC_SERVER_PUBLIC_URL" not in worker_environment(production, {})


# Production refuses the conveniences of development ------------------------------------------

PRODUCTION_EXAMPLE = ROOT / "config" / "production.example.toml"


def serve_in_production(
    tmp_path: Path, environ: dict[str, str], text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``meetsvc serve`` on the production example (or ``text``) with ``environ`` laid over it;
    its keys in a folder of the test's own. A refused start ends at once; one that is not refused
    would go on to serve, so the bound is short."""
    config = tmp_path / "production.toml"
    config.write_text(text if text is not None else PRODUCTION_EXAMPLE.read_text())
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MEETSVC_") or k.startswith("MEETSVC_TEST_")},
        "MEETSVC_SECURITY__KEYS_DIR": str(tmp_path / "keys"),
        **environ,
    }
    return subprocess.run(
        [sys.executable, "-m", "meetsvc", "--config", str(config), "serve"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize(
    "environ, setting",
    [
        ({"MEETSVC_SECURITY__CREATE_MISSING_KEYS": "true"}, "security.create_missing_keys"),
        ({"MEETSVC_SECURITY__SECURE_COOKIES": "false"}, "security.secure_cookies"),
        ({"MEETSVC_SERVER__PUBLIC_URL": "http://sip-mote.example.se"}, "server.public_url"),
    ],
)
def test_finding_2_production_refuses_to_start_with_an_unsafe_setting(tmp_path, environ, setting):
    result = serve_in_production(tmp_path, environ)
    assert result.returncode == 2, result.stderr
    assert setting in result.stderr and "production" in result.stderr
    assert not (tmp_path / "keys").exists(), "nothing was created before the refusal"


def test_finding_2_production_refuses_to_start_without_a_public_address(tmp_path):
    """Without server.public_url the links would start with http://host:port."""
    text = PRODUCTION_EXAMPLE.read_text().replace('public_url = "https://sip-mote.example.se"\n', "")
    assert "public_url =" not in text
    result = serve_in_production(tmp_path, {}, text)
    assert result.returncode == 2, result.stderr
    assert "server.public_url must be set in production" in result.stderr


def test_finding_2_production_names_every_refused_setting_at_once(tmp_path):
    result = serve_in_production(
        tmp_path,
        {
            "MEETSVC_SECURITY__CREATE_MISSING_KEYS": "true",
            "MEETSVC_SECURITY__SECURE_COOKIES": "false",
            "MEETSVC_SERVER__PUBLIC_URL": "http://sip-mote.example.se",
        },
    )
    assert result.returncode == 2
    for setting in ("security.create_missing_keys", "security.secure_cookies", "server.public_url"):
        assert setting in result.stderr


def make_keys(tmp_path: Path, environment: str) -> Path:
    """``meetsvc keys init`` under a configuration of ``environment``, as an operator (or
    ``make run``'s first start, in development) makes them."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / f"{environment}-keys.toml"
    development = 'environment = "development"\n[identity]\nprovider = "bankid-simulator"\n'
    config.write_text(PRODUCTION_EXAMPLE.read_text() if environment == "production" else development)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETSVC_") or k.startswith("MEETSVC_TEST_")}
    env["MEETSVC_SECURITY__KEYS_DIR"] = str(tmp_path / "keys")
    done = subprocess.run(
        [sys.executable, "-m", "meetsvc", "--config", str(config), "keys", "init"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return tmp_path / "keys"


def test_finding_2_production_refuses_development_keys(tmp_path):
    make_keys(tmp_path, "development")
    result = serve_in_production(tmp_path, {})
    assert result.returncode == 1, result.stderr
    assert "security.keys_dir" in result.stderr and "is a development key" in result.stderr
    assert "Traceback" not in result.stderr


def test_finding_2_production_refuses_a_development_signing_key_among_production_keys(tmp_path):
    from meetsvc.core.signing import create_key

    keys = make_keys(tmp_path, "production")
    create_key(keys / "signing", development=True)
    result = serve_in_production(tmp_path, {})
    assert result.returncode == 1, result.stderr
    assert "security.keys_dir" in result.stderr and "signing" in result.stderr


def test_finding_2_keys_made_for_production_are_accepted_there_and_development_keys_in_development(tmp_path):
    from meetsvc.core.secrets import DEVELOPMENT_MARK, load_keys
    from meetsvc.core.signing import load_signing_keys

    production = make_keys(tmp_path / "p", "production")
    assert not any(path.read_bytes().startswith(DEVELOPMENT_MARK) for path in production.rglob("*.*"))
    load_keys(production, create_missing=False)
    load_signing_keys(production / "signing", create_missing=False)
    development = make_keys(tmp_path / "d", "development")
    assert all(path.read_bytes().startswith(DEVELOPMENT_MARK) for path in development.rglob("*.*"))
    load_keys(development, create_missing=False, development=True)
    load_signing_keys(development / "signing", create_missing=False, development=True)


def test_finding_16_the_name_citizens_read_is_set_from_the_command_line(tmp_path):
    """A unit in the organisation's name stays off citizens' lock screens by default, and the
    operator can choose the name they read."""
    config = tmp_path / "meetsvc.toml"
    config.write_text(
        'environment = "development"\n[identity]\nprovider = "bankid-simulator"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/db.sqlite3"\n'
        f'[security]\nkeys_dir = "{tmp_path}/keys"\ncreate_missing_keys = false\n'
    )
    assert run(config, "keys", "init").returncode == 0
    assert run(config, "migrate").returncode == 0
    unit = "Exempelstads kommun, Socialförvaltningen"
    created = run(config, "organisation", "create", unit, "--kind", "municipality")
    assert created.returncode == 0, created.stderr
    assert "citizens' messages say: Exempelstads kommun\n" in created.stdout
    chosen = run(config, "organisation", "set-public-name", unit, "Exempelstad")
    assert chosen.returncode == 0, chosen.stderr
    assert "citizens' messages say: Exempelstad\n" in chosen.stdout
    assert "(Exempelstad)" in run(config, "organisation", "list").stdout
    refused = run(config, "organisation", "set-public-name", unit, "19811218-9876")
    assert refused.returncode == 1 and "personal identity number" in refused.stderr
    back = run(config, "organisation", "set-public-name", unit)
    assert "citizens' messages say: Exempelstads kommun\n" in back.stdout
    other = run(config, "organisation", "create", "Region Exempel", "--kind", "region", "--public-name", "Regionen")
    assert "citizens' messages say: Regionen\n" in other.stdout


def test_a_staff_members_hsa_id_is_set_and_removed_from_the_command_line(tmp_path):
    import asyncio

    from meetsvc.config import load_settings
    from meetsvc.domain.callers import OrganisationCaller
    from meetsvc.wiring import open_services

    config = tmp_path / "meetsvc.toml"
    config.write_text(
        'environment = "development"\n[identity]\nprovider = "bankid-simulator"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/db.sqlite3"\n'
        f'[security]\nkeys_dir = "{tmp_path}/keys"\ncreate_missing_keys = false\n'
    )
    assert run(config, "keys", "init").returncode == 0
    assert run(config, "migrate").returncode == 0
    assert run(config, "organisation", "create", "Region Exempel", "--kind", "region").returncode == 0

    async def add_staff() -> str:
        async with open_services(load_settings(config)) as services:
            organisation = await services.directory.find_organisation("Region Exempel")
            caller = OrganisationCaller(organisation.id, "operator")
            return (await services.directory.add_staff_member(caller, display_name="Ulla")).id

    async def hsa_id_of(staff_id: str) -> str | None:
        async with open_services(load_settings(config)) as services:
            member = await services.directory.staff_member(staff_id)
            assert member is not None
            return member.hsa_id

    staff_id = asyncio.run(add_staff())
    set_ = run(config, "staff", "set-hsa-id", "Region Exempel", staff_id, "SE2321000016-1003")
    assert set_.returncode == 0, set_.stderr
    assert "HSA-id: SE2321000016-1003" in set_.stdout
    assert asyncio.run(hsa_id_of(staff_id)) == "SE2321000016-1003"
    malformed = run(config, "staff", "set-hsa-id", "Region Exempel", staff_id, "1003")
    assert malformed.returncode == 1 and "HSA-id" in malformed.stderr
    elsewhere = run(config, "organisation", "create", "Exempelstads kommun", "--kind", "municipality")
    assert elsewhere.returncode == 0
    not_theirs = run(config, "staff", "set-hsa-id", "Exempelstads kommun", staff_id, "SE2321000016-2004")
    assert not_theirs.returncode == 1 and "no such staff member" in not_theirs.stderr
    assert asyncio.run(hsa_id_of(staff_id)) == "SE2321000016-1003"
    removed = run(config, "staff", "set-hsa-id", "Region Exempel", staff_id, "--remove")
    assert removed.returncode == 0, removed.stderr
    assert asyncio.run(hsa_id_of(staff_id)) is None


def test_the_contact_phone_citizens_are_given_is_set_from_the_command_line(tmp_path):
    config = tmp_path / "meetsvc.toml"
    config.write_text(
        'environment = "development"\n[identity]\nprovider = "bankid-simulator"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/db.sqlite3"\n'
        f'[security]\nkeys_dir = "{tmp_path}/keys"\ncreate_missing_keys = false\n'
    )
    assert run(config, "keys", "init").returncode == 0
    assert run(config, "migrate").returncode == 0
    assert run(config, "organisation", "create", "Exempelstads kommun", "--kind", "municipality").returncode == 0
    chosen = run(config, "organisation", "set-contact-phone", "Exempelstads kommun", "0771-123 456")
    assert chosen.returncode == 0, chosen.stderr
    assert "citizens are told to call: 0771-123 456\n" in chosen.stdout
    for bad in ("ring oss <b>", "811218-9876"):  # not a number; a personal identity number
        refused = run(config, "organisation", "set-contact-phone", "Exempelstads kommun", bad)
        assert refused.returncode == 1 and "phone number" in refused.stderr, bad
    removed = run(config, "organisation", "set-contact-phone", "Exempelstads kommun")
    assert "citizens are told to call: (no number)\n" in removed.stdout
